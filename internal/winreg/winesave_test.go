package winreg

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseWineSaveBad(t *testing.T) {
	const head = wineSaveHeader + "\n"
	for name, in := range map[string]string{
		"no header":            "[a] 1\n",
		"a regedit export":     "Windows Registry Editor Version 5.00\n",
		"value before any key": head + `"a"="b"` + "\n",
		"unclosed key":         head + "[a\n",
		"unclosed string":      head + "[a] 1\n\"v\"=\"x\n",
		"unknown data":         head + "[a] 1\n\"v\"=qword:1\n",
		"bad dword":            head + "[a] 1\n\"v\"=dword:xyz\n",
		"bad byte":             head + "[a] 1\n\"v\"=hex:0g\n",
		"cut binary":           head + "[a] 1\n\"v\"=hex:00,\\\n",
		"bad time":             head + "[a] 1\n#time=zz\n",
		"empty key name":       head + "[a\\\\\\\\b] 1\n",
		"stray line":           head + "[a] 1\nhello\n",
		// Windows keeps these apart; Go's folding would merge them.
		"keys k and Kelvin k":   head + "[kaspersky] 1\n\"DisplayName\"=\"ASCII\"\n[\\x212aaspersky] 1\n\"DisplayName\"=\"Kelvin\"\n",
		"values id and İd":      head + "[a] 1\n\"id\"=\"1\"\n\"\\x0130d\"=\"2\"\n",
		"a key written twice":   head + "[a] 1\n\"x\"=\"1\"\n[a] 1\n\"y\"=\"2\"\n",
		"a value written twice": head + "[a] 1\n\"x\"=\"1\"\n\"X\"=\"2\"\n",
	} {
		if k, err := ParseWineSave(strings.NewReader(in), "K"); err == nil {
			t.Errorf("%s: parsed as %v, want an error", name, k)
		}
	}
	// More subkeys in one key than MaxNames: not used.
	var many strings.Builder
	many.WriteString(head)
	for i := range MaxNames + 1 {
		fmt.Fprintf(&many, "[a\\\\k%d] 1\n", i)
	}
	if _, err := ParseWineSave(strings.NewReader(many.String()), "K"); err == nil {
		t.Errorf("%d subkeys in one key: parsed", MaxNames+1)
	}
	// A value over MaxValueSize is refused rather than kept.
	big := head + "[a] 1\n\"v\"=hex:" + strings.Repeat("00,", MaxValueSize) + "00\n"
	if _, err := ParseWineSave(strings.NewReader(big), "K"); !errors.Is(err, ErrTooLarge) && (err == nil || !strings.Contains(err.Error(), "too large")) {
		t.Errorf("a %d-byte value: %v, want too large", MaxValueSize+1, err)
	}
}

func TestParseWineSaveEscapes(t *testing.T) {
	in := wineSaveHeader + "\n[k\\\\s\\[1\\]] 1\n#time=1dd85dbb236e01e\n" +
		`"a"="\x41b\x0430 \101\12\t\e\\\"x\xZ"` + "\n" +
		`"m"=str(7):"one\0two\0"` + "\n" +
		`"q"=hex(b):01,00,00,00,00,00,00,00` + "\n"
	k, err := ParseWineSave(strings.NewReader(in), "K")
	if err != nil {
		t.Fatal(err)
	}
	s, err := k.OpenSubKey(`k\s[1]`)
	if err != nil {
		t.Fatal(err)
	}
	// \x takes up to four hex digits ("\x41b" is U+041B), octal up to three.
	if v, _ := String(s, "a"); v != "Ла A\n\t\x1b\\\"xxZ" {
		t.Errorf("a = %q", v)
	}
	if v, err := s.Value("m"); err != nil || v.Type != MULTI_SZ {
		t.Errorf("m = %v, %v", v, err)
	} else if l, _ := v.AsStrings(); !slices.Equal(l, []string{"one", "two"}) {
		t.Errorf("m = %q", l)
	}
	if n, err := Uint(s, "q"); n != 1 || err != nil {
		t.Errorf("q = %d, %v", n, err)
	}
	// 0x1dd85dbb236e01e is 2026-12-06 23:44:12.9 UTC as a FILETIME.
	if mt, _ := s.ModTime(); mt.Truncate(time.Second) != time.Date(2026, 12, 6, 23, 44, 12, 0, time.UTC) {
		t.Errorf("ModTime = %v", mt)
	}
}

func FuzzParseWineSave(f *testing.F) {
	if b, err := os.ReadFile("testdata/winesave/uninstall.txt"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(wineSaveHeader + "\n[a] 1\n\"v\"=hex:00,\\\n  01\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParseWineSave(bytes.NewReader(b), "K")
		if err != nil {
			return
		}
		walkKey(t, k, 0)
	})
}

func walkKey(t *testing.T, k Key, depth int) {
	if depth > 64 {
		return
	}
	names, _ := k.SubKeyNames()
	vals, _ := k.ValueNames()
	for _, v := range vals {
		if _, err := k.Value(v); err != nil {
			t.Fatalf("value %q listed but unreadable: %v", v, err)
		}
	}
	for _, n := range names {
		s, err := k.OpenSubKey(n)
		if err != nil {
			t.Fatalf("subkey %q listed but cannot be opened: %v", n, err)
		}
		walkKey(t, s, depth+1)
	}
}
