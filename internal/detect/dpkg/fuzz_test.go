package dpkg

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/dpkg/internal/synth"
	"github.com/avscout/avscout/internal/detect/internal/recfile/recfiletest"
	"github.com/avscout/avscout/internal/host"
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

// The source's path (records, one string per package, no Source or
// synopsis) emits what the Package path emitted before it: ParseStatus,
// then one observation per package classify keeps, its detail built by
// concatenation. Seeds: the fixtures and hostile shapes of
// FuzzParseStatus, and a synthetic database.
func FuzzCollectMatchesParseStatus(f *testing.F) {
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
	var synthetic bytes.Buffer
	if err := synth.WriteStatus(&synthetic, 2000); err != nil {
		f.Fatal(err)
	}
	f.Add(synthetic.Bytes())
	f.Add(hostile.Records(false))
	for _, s := range []string{
		"", kesl, "Package: kesl\nVersion:\nStatus: install ok installed\n", "Package: kesl\n",
		"Package: kesl\nStatus: purge ok not-installed\n", "Package: kesl\nStatus: a b c d\nVersion: 1\n",
		"Package: kesl\nVersion: 1\nVersion: 2\nSource: x\nDescription: y\nDescription: z\n",
		"Package: a\nPackage: b\nVersion: 1\n\nVersion: 2\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, gotErr := run(context.Background(), statusFS(data))
		var want []detect.Observation
		var known []bool // of each observation in want, whether its Status is
		wantErr := ParseStatus(bytes.NewReader(data), func(p Package) error {
			st, ok, k := classify(p.Status)
			if !ok {
				return nil
			}
			known = append(known, k)
			d := p.Name
			if p.Version != "" {
				d += " " + p.Version
			}
			if p.Status != "" {
				d += " (" + p.Status + ")"
			}
			want = append(want, detect.Observation{Kind: detect.KindPackage, Status: st, Name: p.Name,
				Version: p.Version, Vendor: p.Maintainer, Location: StatusPath, Detail: d})
			return nil
		})
		if !slices.Equal(got, want) {
			t.Errorf("Collect emitted\n%+v\nParseStatus gave\n%+v", got, want)
		}
		// The source adds only the unknown states it emits as Present.
		switch {
		case wantErr != nil && (gotErr == nil || !strings.Contains(gotErr.Error(), wantErr.Error())),
			wantErr == nil && gotErr != nil && !strings.Contains(gotErr.Error(), "unknown Status"):
			t.Errorf("Collect: %v\nParseStatus: %v", gotErr, wantErr)
		}
		checkFiltered(t, data, want, known, gotErr)
	})
}

// oddFilter keeps the packages whose name and maintainer have an odd
// total length, and counts those it drops.
type oddFilter struct{ dropped int }

func (f *oddFilter) keeps(name, maintainer string) bool { return (len(name)+len(maintainer))%2 == 1 }

func (f *oddFilter) RelevantPackage(name []byte, maintainer string) bool {
	if f.keeps(string(name), maintainer) {
		return true
	}
	f.dropped++
	return false
}

// checkFiltered runs the source over data with a filter and checks that
// it emits exactly what it emits without one (all, with whether each
// one's Status is known, and err) less what the filter dropped — never a
// record of an unknown Status — that every observation is either emitted
// or counted as dropped, and that the errors are the same.
func checkFiltered(t *testing.T, data []byte, all []detect.Observation, known []bool, err error) {
	t.Helper()
	f := &oddFilter{}
	var got []detect.Observation
	gotErr := Source{Filter: f}.Collect(context.Background(), &host.Host{OS: host.Linux, FS: statusFS(data)}, func(o detect.Observation) {
		got = append(got, o)
	})
	var want []detect.Observation
	for i, o := range all {
		if !known[i] || f.keeps(o.Name, o.Vendor) {
			want = append(want, o)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("filtered Collect emitted\n%+v\nwant\n%+v", got, want)
	}
	if len(got)+f.dropped != len(all) {
		t.Errorf("filtered Collect emitted %d and dropped %d of %d", len(got), f.dropped, len(all))
	}
	if fmt.Sprint(gotErr) != fmt.Sprint(err) {
		t.Errorf("filtered Collect: %v\nunfiltered: %v", gotErr, err)
	}
}
