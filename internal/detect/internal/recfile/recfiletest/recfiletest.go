// Package recfiletest holds the test helpers that the packages reading
// record files (dpkg, apk) share: reading fixtures, checking the problems
// and records a parser returns, and comparing observations. It exists so
// that each package's tests say what they expect of their format, not how
// to check it.
package recfiletest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/internal/recfile"
)

// ParseAll collects every record parse delivers from r, and its error.
func ParseAll[P any](parse func(io.Reader, func(P) error) error, r io.Reader) ([]P, error) {
	var got []P
	err := parse(r, func(p P) error {
		got = append(got, p)
		return nil
	})
	return got, err
}

// ReadFixture returns the content of testdata/name.
func ReadFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Dump shows records one a line, for a failure message.
func Dump[P any](recs []P) string {
	var b strings.Builder
	for _, p := range recs {
		fmt.Fprintf(&b, "  %+v\n", p)
	}
	return b.String()
}

// RandomBytes returns n bytes from a PCG generator seeded with seed1 and
// seed2: the same bytes every run.
func RandomBytes(seed1, seed2 uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed1, seed2))
	random := make([]byte, n)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	return random
}

// Variant is one way of presenting a fixture to a parser.
type Variant struct {
	Name string
	R    io.Reader
}

// Variants presents data as is, with CRLF line ends, without its final
// newlines, and one byte a read: a parser gives the same records for all.
func Variants(data []byte) []Variant {
	return []Variant{
		{"as_is", bytes.NewReader(data)},
		{"crlf", bytes.NewReader(bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n")))},
		{"no_final_newlines", bytes.NewReader(bytes.TrimRight(data, "\n"))},
		{"one_byte_reads", iotest.OneByteReader(bytes.NewReader(data))},
	}
}

// CheckProblems checks that err lists problems starting with want, in
// order: "line N: message" prefixes. A nil err has none; any other error
// must be a [*recfile.ParseError].
func CheckProblems(t testing.TB, err error, want []string) {
	t.Helper()
	problems := problemLines(t, err)
	if len(problems) != len(want) {
		t.Fatalf("problems: got %q, want %q", problems, want)
	}
	for i := range problems {
		if !strings.HasPrefix(problems[i], want[i]) {
			t.Errorf("problem %d: got %q, want prefix %q", i, problems[i], want[i])
		}
	}
}

// problemLines returns "line: message" for each problem of a *ParseError.
func problemLines(t testing.TB, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var pe *recfile.ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *ParseError", err, err)
	}
	var out []string
	for _, p := range pe.Problems {
		out = append(out, p.Error())
	}
	return out
}

// CheckParseError checks that a parse of data in memory returned nil or a
// consistent [*recfile.ParseError]: it cannot fail to read.
func CheckParseError(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var pe *recfile.ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *ParseError", err, err)
	}
	if pe.Count < len(pe.Problems) || len(pe.Problems) == 0 || len(pe.Problems) > recfile.MaxProblems {
		t.Fatalf("inconsistent ParseError %+v", pe)
	}
}

// CheckValues checks the values of record rec: one line each, without NUL
// bytes or surrounding blanks, and no longer than [recfile.MaxLine].
func CheckValues(t testing.TB, rec any, values ...string) {
	t.Helper()
	for _, v := range values {
		if strings.ContainsAny(v, "\n\x00") || strings.Trim(v, " \t") != v || len(v) > recfile.MaxLine {
			t.Fatalf("bad value %q in %+v", v, rec)
		}
	}
}

// CheckShortReads parses data again through [iotest.HalfReader] and checks
// that the result is got and err: reads of any size give the same result,
// no buffer-boundary bugs.
func CheckShortReads[P any](t testing.TB, data []byte, got []P, err error, parse func(io.Reader) ([]P, error)) {
	t.Helper()
	again, err2 := parse(iotest.HalfReader(bytes.NewReader(data)))
	if !reflect.DeepEqual(got, again) || (err == nil) != (err2 == nil) ||
		(err != nil && err.Error() != err2.Error()) {
		t.Fatalf("results differ with short reads:\n%v %v\n%v %v", got, err, again, err2)
	}
}

// CheckTruncations cuts data, a file of records that each end with a
// blank line, at every byte, and checks what parse makes of each cut: no
// panic, every record that ends before the cut delivered as in full, and
// nothing invented: at most one more record, whose name is a prefix of the
// name of the record the cut went through.
func CheckTruncations[P any](t testing.TB, data []byte, full []P, name func(P) string, parse func(io.Reader) ([]P, error)) {
	t.Helper()
	// ends[i] is the offset just past record i's blank line.
	var ends []int
	for i := 0; i < len(data)-1; i++ {
		if data[i] == '\n' && data[i+1] == '\n' {
			ends = append(ends, i+2)
		}
	}
	if len(ends) != len(full) {
		t.Fatalf("fixture has %d records but %d blank lines", len(full), len(ends))
	}
	for cut := range len(data) {
		got, _ := parse(bytes.NewReader(data[:cut]))
		complete := 0
		for complete < len(ends) && ends[complete] <= cut {
			complete++
		}
		if len(got) < complete || len(got) > complete+1 {
			t.Fatalf("cut at %d: got %d records, want %d or %d", cut, len(got), complete, complete+1)
		}
		if complete > 0 && !reflect.DeepEqual(got[:complete], full[:complete]) {
			t.Fatalf("cut at %d: complete records differ:\n%s", cut, Dump(got[:complete]))
		}
		if len(got) > complete && !strings.HasPrefix(name(full[complete]), name(got[complete])) {
			t.Fatalf("cut at %d: partial record %+v is not a prefix of %+v", cut, got[complete], full[complete])
		}
	}
}

// AssertObservations compares observations one by one, reporting each
// missing, extra or different one.
func AssertObservations(t testing.TB, got, want []detect.Observation) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d observations, want %d", len(got), len(want))
	}
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			t.Errorf("missing  %+v", want[i])
		case i >= len(want):
			t.Errorf("extra    %+v", got[i])
		case got[i] != want[i]:
			t.Errorf("got  %+v\nwant %+v", got[i], want[i])
		}
	}
}
