package winreg

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/avscout/avscout/internal/hostile"
)

// FuzzParseRegFile: any input parses or fails with an error, never a
// panic, and whatever parses can be imported and read back in full.
func FuzzParseRegFile(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.reg")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"", "REGEDIT4", "REGEDIT4\n[HKLM\\X]\n@=\"\"\n", "REGEDIT4\n[-HKLM]\n",
		"Windows Registry Editor Version 5.00\n[HKEY_USERS\\S\\K]\n\"a\"=hex(7):00,00\n\"b\"=hex:\\\n",
		"REGEDIT4\n[HKLM\\X]\n\"a\"=\"\\\"\n", "REGEDIT4\n[HKLM\\X]]\n\"\\\\\"=dword:ffffffff\n",
	} {
		f.Add([]byte(s))
	}
	// The hostile corpus, small.
	f.Add(hostile.RegDeepLoop(3))
	f.Add(hostile.RegNewlines(100))
	f.Add(hostile.RegContinuation(50))
	f.Fuzz(func(t *testing.T, data []byte) {
		rf, err := ParseRegFile(bytes.NewReader(data))
		if err != nil {
			var pe *ParseError
			if errors.As(err, &pe) && pe.Line < 1 {
				t.Fatalf("error without a line number: %v", err)
			}
			return
		}
		reg := NewFake()
		reg.Apply(rf, View32)
		reg.Apply(rf, View64)
		for _, hive := range []Hive{LocalMachine, Users} {
			walk(t, reg, hive, "", 0)
		}
	})
}

// walk reads every key and value beneath path.
func walk(t *testing.T, r Registry, hive Hive, path string, depth int) {
	if depth > maxKeyDepth+2 {
		t.Fatalf("keys deeper than %d", maxKeyDepth)
	}
	k, err := r.OpenKey(hive, path, View64)
	if err != nil {
		t.Fatalf("open %s %q: %v", hive, path, err)
	}
	defer k.Close()
	values, _ := k.ValueNames()
	for _, name := range values {
		v, err := k.Value(name)
		if err != nil && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("value %q: %v", name, err)
		}
		_ = v.String()
		// Only whether they panic matters: any value may be of another type.
		_, _ = v.AsString()
		_, _ = v.AsStrings()
		_, _ = v.AsUint()
	}
	subs, _ := k.SubKeyNames()
	for _, s := range subs {
		sub := s
		if path != "" {
			sub = path + `\` + s
		}
		walk(t, r, hive, sub, depth+1)
	}
}
