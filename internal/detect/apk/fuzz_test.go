package apk

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

func FuzzParseInstalled(f *testing.F) {
	f.Add(readFixture(f, "installed"))
	for _, s := range []string{
		"", "\n", "\r\n", kesl, strings.ReplaceAll(kesl, "\n", "\r\n"), "P:kesl", "P:kesl\nP:kesl\n",
		"P:", ":", "a\n", "P:kesl\nV:1\nV:2\n", "P:kesl\n\x00\n", "Package: kesl\n",
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
			if !validName([]byte(p.Name)) {
				t.Fatalf("bad name %q", p.Name)
			}
			if p.Line <= line {
				t.Fatalf("record %q at line %d after line %d", p.Name, p.Line, line)
			}
			line = p.Line
			for _, v := range []string{p.Version, p.Architecture, p.Maintainer, p.Origin, p.Description} {
				if strings.ContainsAny(v, "\n\x00") || strings.Trim(v, " \t") != v || len(v) > MaxLine {
					t.Fatalf("bad value %q in %+v", v, p)
				}
			}
		}
		again, err2 := parseAll(t, iotest.HalfReader(bytes.NewReader(data)))
		if !reflect.DeepEqual(got, again) || (err == nil) != (err2 == nil) ||
			(err != nil && err.Error() != err2.Error()) {
			t.Fatalf("results differ with short reads:\n%v %v\n%v %v", got, err, again, err2)
		}
	})
}
