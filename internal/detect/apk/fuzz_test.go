package apk

import (
	"bytes"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/detect/internal/recfile/recfiletest"
	"github.com/avscout/avscout/internal/hostile"
)

func FuzzParseInstalled(f *testing.F) {
	f.Add(recfiletest.ReadFixture(f, "installed"))
	f.Add(hostile.Records(true))
	for _, s := range []string{
		"", "\n", "\r\n", kesl, strings.ReplaceAll(kesl, "\n", "\r\n"), "P:kesl", "P:kesl\nP:kesl\n",
		"P:", ":", "a\n", "P:kesl\nV:1\nV:2\n", "P:kesl\n\x00\n", "Package: kesl\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := parseAll(bytes.NewReader(data))
		recfiletest.CheckParseError(t, err)
		line := 0
		for _, p := range got {
			if !validName([]byte(p.Name)) {
				t.Fatalf("bad name %q", p.Name)
			}
			if p.Line <= line {
				t.Fatalf("record %q at line %d after line %d", p.Name, p.Line, line)
			}
			line = p.Line
			recfiletest.CheckValues(t, p, p.Version, p.Architecture, p.Maintainer, p.Origin, p.Description)
		}
		recfiletest.CheckShortReads(t, data, got, err, parseAll)
	})
}
