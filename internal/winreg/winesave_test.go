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

// TestParseWineSave reads a key Wine saved (testdata/winesave) and
// compares it, key by key and value by value, with the .reg file it was
// imported from, read into a Fake: the two formats must say the same.
func TestParseWineSave(t *testing.T) {
	b, err := os.ReadFile("testdata/winesave/uninstall.txt")
	if err != nil {
		t.Fatal(err)
	}
	if !IsWineSave(b) {
		t.Fatal("IsWineSave = false for a key Wine saved")
	}
	got, err := ParseWineSave(bytes.NewReader(b), `HKLM\Uninstall`)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := os.Open("testdata/winesave/uninstall.reg")
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	f := NewFake()
	if err := f.Import(reg, View64); err != nil {
		t.Fatal(err)
	}
	want, err := f.OpenKey(LocalMachine, `SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall`, View64)
	if err != nil {
		t.Fatal(err)
	}
	sameKey(t, "", got, want)

	kes, err := got.OpenSubKey("{7A4192A1-84C4-4E90-A31B-B4847CA8E23A}")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"DisplayName":            "Kaspersky Endpoint Security for Windows",
		"Unicode":                "Лаборатория Касперского – ü ☃ 1",
		`Quote "and" back\slash`: "tab\there \"q\" back\\",
		"DisplayIcon":            `%ProgramFiles%\a.exe`,
		"":                       "default value",
	} {
		if s, err := String(kes, name); s != want || err != nil {
			t.Errorf("%q = %q, %v; want %q", name, s, err, want)
		}
	}
	if n, err := Uint(kes, "EstimatedSize"); n != 0x7a120 || err != nil {
		t.Errorf("EstimatedSize = %d, %v", n, err)
	}
	mt, err := kes.ModTime()
	if err != nil || mt.Year() != 2026 {
		t.Errorf("ModTime = %v, %v; want the #time of the save, in 2026", mt, err)
	}
}

// sameKey compares two keys' subkeys and values, recursively.
func sameKey(t *testing.T, path string, got, want Key) {
	t.Helper()
	gn, err1 := got.SubKeyNames()
	wn, err2 := want.SubKeyNames()
	if err1 != nil || err2 != nil || !slices.Equal(gn, wn) {
		t.Fatalf("%s: subkeys %q (%v), want %q (%v)", path, gn, err1, wn, err2)
	}
	gv, err1 := got.ValueNames()
	wv, err2 := want.ValueNames()
	if err1 != nil || err2 != nil || !slices.Equal(gv, wv) {
		t.Fatalf("%s: values %q (%v), want %q (%v)", path, gv, err1, wv, err2)
	}
	for _, name := range wv {
		g, err1 := got.Value(name)
		w, err2 := want.Value(name)
		if err1 != nil || err2 != nil || g.Type != w.Type || !bytes.Equal(g.Data, w.Data) {
			t.Errorf("%s value %q: %v % x (%v), want %v % x (%v)", path, name, g.Type, g.Data, err1, w.Type, w.Data, err2)
		}
	}
	for _, name := range wn {
		gs, err1 := got.OpenSubKey(name)
		ws, err2 := want.OpenSubKey(name)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s\\%s: %v, %v", path, name, err1, err2)
		}
		sameKey(t, path+`\`+name, gs, ws)
	}
}

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
