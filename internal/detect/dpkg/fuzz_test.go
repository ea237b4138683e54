package dpkg

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

func FuzzParseStatus(f *testing.F) {
	// Seeds: every committed fixture, plus the hostile shapes of the unit
	// tests.
	err := fs.WalkDir(os.DirFS("testdata"), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(os.DirFS("testdata"), name)
		f.Add(data)
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		"", "\n", "\r\n", kesl, strings.ReplaceAll(kesl, "\n", "\r\n"),
		"Package: kesl", "Package: kesl\nPackage: kesl\n", " cont\n", "a\n", ":\n", "Package:\n",
		"Package: kesl\nVersion: 1\nVersion: 2\n", "Package: kesl\n\x00\n", "#c\nPackage: x\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := parseAll(t, bytes.NewReader(data))
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not a *ParseError", err, err)
			}
			if pe.Count < len(pe.Problems) || len(pe.Problems) == 0 || len(pe.Problems) > maxProblems {
				t.Fatalf("inconsistent ParseError %+v", pe)
			}
		}
		line := 0
		for _, p := range got {
			if !validPackageName([]byte(p.Name)) {
				t.Fatalf("bad name %q", p.Name)
			}
			if p.Line <= line {
				t.Fatalf("record %q at line %d after line %d", p.Name, p.Line, line)
			}
			line = p.Line
			for _, v := range []string{p.Version, p.Architecture, p.Maintainer, p.Source, p.Status, p.Synopsis} {
				if strings.ContainsAny(v, "\n\x00") || strings.Trim(v, " \t") != v || len(v) > MaxLine {
					t.Fatalf("bad value %q in %+v", v, p)
				}
			}
		}
		// Reads of any size give the same result: no buffer-boundary bugs.
		again, err2 := parseAll(t, iotest.HalfReader(bytes.NewReader(data)))
		if !reflect.DeepEqual(got, again) || (err == nil) != (err2 == nil) ||
			(err != nil && err.Error() != err2.Error()) {
			t.Fatalf("results differ with short reads:\n%v %v\n%v %v", got, err, again, err2)
		}
	})
}
