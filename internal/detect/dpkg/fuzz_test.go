package dpkg

import (
	"bytes"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/detect/internal/recfile/recfiletest"
	"github.com/avscout/avscout/internal/hostile"
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
	f.Add(hostile.Records(false))
	for _, s := range []string{
		"", "\n", "\r\n", kesl, strings.ReplaceAll(kesl, "\n", "\r\n"),
		"Package: kesl", "Package: kesl\nPackage: kesl\n", " cont\n", "a\n", ":\n", "Package:\n",
		"Package: kesl\nVersion: 1\nVersion: 2\n", "Package: kesl\n\x00\n", "#c\nPackage: x\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := parseAll(bytes.NewReader(data))
		recfiletest.CheckParseError(t, err)
		line := 0
		for _, p := range got {
			if !validPackageName([]byte(p.Name)) {
				t.Fatalf("bad name %q", p.Name)
			}
			if p.Line <= line {
				t.Fatalf("record %q at line %d after line %d", p.Name, p.Line, line)
			}
			line = p.Line
			recfiletest.CheckValues(t, p, p.Version, p.Architecture, p.Maintainer, p.Source, p.Status, p.Synopsis)
		}
		recfiletest.CheckShortReads(t, data, got, err, parseAll)
	})
}
