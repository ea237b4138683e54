package dpkg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/dpkg/internal/synth"
	"github.com/avscout/avscout/internal/detect/internal/recfile"
	"github.com/avscout/avscout/internal/host"
)

// forkingFilter keeps the packages whose name and maintainer have an odd
// total length, as oddFilter, and counts those it drops; forks counts the
// forks of it and of its forks.
type forkingFilter struct {
	forks   *atomic.Int64
	dropped *atomic.Int64
}

func newForkingFilter() forkingFilter { return forkingFilter{new(atomic.Int64), new(atomic.Int64)} }

func (f forkingFilter) RelevantPackage(name []byte, maintainer string) bool {
	if (len(name)+len(maintainer))%2 == 1 {
		return true
	}
	f.dropped.Add(1)
	return false
}

func (f forkingFilter) Fork() Filter {
	f.forks.Add(1)
	return forkingFilter{f.forks, new(atomic.Int64)}
}

func (f forkingFilter) Join(fork Filter) { f.dropped.Add(fork.(forkingFilter).dropped.Load()) }

// collectRoot runs the source over a root holding status (and the
// journal entries updates, by name) with a forking filter, parsing the
// status file in two parts from splitMin bytes.
func collectRoot(t testing.TB, dir string, status []byte, updates map[string]string, splitMin int64) (obs []detect.Observation, forks, dropped int64, err error) {
	t.Helper()
	admin := filepath.Join(dir, "var", "lib", "dpkg")
	if err := os.MkdirAll(filepath.Join(admin, "updates"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(admin, "status"), status, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, data := range updates {
		if err := os.WriteFile(filepath.Join(admin, "updates", name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h, herr := host.OpenRoot(dir, host.Linux)
	if herr != nil {
		t.Fatal(herr)
	}
	f := newForkingFilter()
	err = Source{Filter: f, splitMin: splitMin}.Collect(context.Background(), h, func(o detect.Observation) { obs = append(obs, o) })
	return obs, f.forks.Load(), f.dropped.Load(), err
}

// checkSplitSameAsWhole parses status in two parts and whole and checks
// that both emit the same observations, in the same order, with the same
// error (problems at the same lines) and the same count of dropped
// records; split says whether the two-part parse must have happened.
func checkSplitSameAsWhole(t *testing.T, status []byte, updates map[string]string, split bool) []detect.Observation {
	t.Helper()
	dir := t.TempDir()
	whole, forks, wholeDropped, wholeErr := collectRoot(t, dir, status, updates, 1<<62)
	if forks != 0 {
		t.Fatalf("the whole parse forked its filter %d times", forks)
	}
	parts, forks, partsDropped, partsErr := collectRoot(t, dir, status, updates, 1)
	if split && forks != 1 {
		t.Errorf("the file was not parsed in two parts (%d forks)", forks)
	}
	if !slices.Equal(parts, whole) {
		t.Errorf("in two parts:\n%+v\nwhole:\n%+v", parts, whole)
	}
	if fmt.Sprint(partsErr) != fmt.Sprint(wholeErr) {
		t.Errorf("in two parts: %v\nwhole: %v", partsErr, wholeErr)
	}
	if partsDropped != wholeDropped {
		t.Errorf("in two parts %d records dropped, whole %d", partsDropped, wholeDropped)
	}
	return whole
}

// A status file parsed in two parts gives what it gives parsed whole: the
// same observations in the same order, the journal's records in place of
// the file's in both halves, and the problems of both halves at their
// lines in the file, the first ten kept and the rest counted.
func TestSplitSameAsWhole(t *testing.T) {
	var b bytes.Buffer
	if err := synth.WriteStatus(&b, 3000); err != nil {
		t.Fatal(err)
	}
	recs := bytes.SplitAfter(b.Bytes(), []byte("\n\n"))
	// Problems on both sides of the middle: lines that are no field,
	// records without a Package field, unknown states (which the filter
	// is not asked about, so always emitted), a package the journal
	// supersedes.
	for i := 100; i < len(recs); i += len(recs) / 9 {
		recs[i] = append([]byte("no field here\n"), recs[i]...)
		recs[i+1] = []byte("Version: 1\nStatus: install ok installed\n\n")
		recs[i+2] = fmt.Appendf(nil, "Package: odd%d\nStatus: install ok floating\nVersion: 2\n\n", i)
		recs[i+3] = fmt.Appendf(nil, "Package: kesl%d\nStatus: install ok installed\nMaintainer: AO Kaspersky Lab <support@kaspersky.com>\nVersion: 12.1\nArchitecture: amd64\n\n", i)
	}
	status := bytes.Join(recs, nil)
	superseded := fmt.Sprintf("kesl%d", 100+8*(len(recs)/9)) // in the second half
	updates := map[string]string{
		"0001": "Package: " + superseded + "\nStatus: deinstall ok config-files\nMaintainer: AO Kaspersky Lab <support@kaspersky.com>\nVersion: 12.1\nArchitecture: amd64\n",
	}
	obs := checkSplitSameAsWhole(t, status, updates, true)
	if len(obs) < 100 {
		t.Errorf("only %d observations", len(obs))
	}
	for _, o := range obs {
		if o.Name == superseded && o.Location != UpdatesDir+"/0001" {
			t.Errorf("%s observed in %s, want only the journal's", o.Name, o.Location)
		}
	}
	if !slices.ContainsFunc(obs, func(o detect.Observation) bool { return o.Name == superseded }) {
		t.Errorf("%s not observed", superseded)
	}
	_, _, _, err := collectRoot(t, t.TempDir(), status, updates, 1)
	var pe *recfile.ParseError
	if !errors.As(err, &pe) || pe.Count != 18 || len(pe.Problems) != recfile.MaxProblems {
		t.Fatalf("err = %v, want 18 problems, the first %d kept", err, recfile.MaxProblems)
	}
	if !strings.Contains(err.Error(), "unknown Status") {
		t.Errorf("err = %v, want the unknown states too", err)
	}
}

// Where one parse would behave otherwise, the parse in two parts falls
// back to it or stops as it would: a first half without a record (which
// could give up in the second half), a first half that is no status file
// (given up), a file with no blank line near its middle (CRLF line ends),
// a file of one record.
func TestSplitFallsBack(t *testing.T) {
	var good bytes.Buffer
	if err := synth.WriteStatus(&good, 200); err != nil {
		t.Fatal(err)
	}
	garbage := bytes.Repeat([]byte("this is no status file\n"), 400)
	for _, tt := range []struct {
		name   string
		status []byte
		split  bool
	}{
		{"blank first half", append(bytes.Repeat([]byte("\n"), good.Len()+10), good.Bytes()...), false},
		{"comments, then garbage", append(append(bytes.Repeat([]byte("# c\n"), good.Len()/4), garbage...), good.Bytes()...), false},
		{"garbage first", append(slices.Clone(garbage), good.Bytes()...), false},
		{"garbage second", append(slices.Clone(good.Bytes()), garbage...), true},
		{"CRLF", bytes.ReplaceAll(good.Bytes(), []byte("\n"), []byte("\r\n")), false},
		{"one record", []byte(kesl), false},
		{"empty", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkSplitSameAsWhole(t, tt.status, nil, tt.split)
		})
	}
}

// joinParts moves the second part's problems by the first part's lines,
// keeps the file's first ten, and puts what else the second part failed
// with first, as recfile.Scanner.Err does.
func TestJoinParts(t *testing.T) {
	first := &recfile.ParseError{Problems: []*recfile.SyntaxError{{Line: 3, Msg: "a"}}, Count: 1}
	second := &recfile.ParseError{Problems: []*recfile.SyntaxError{{Line: 2, Msg: "b"}, {Line: 5, Msg: "c"}}, Count: 12}
	err := joinParts(first, second, 100)
	pe, ok := err.(*recfile.ParseError)
	if !ok || pe.Count != 13 || len(pe.Problems) != 3 || pe.Problems[1].Line != 102 || pe.Problems[2].Line != 105 {
		t.Errorf("joined = %v", err)
	}
	if joinParts(nil, nil, 7) != nil {
		t.Error("no problems joined into an error")
	}
	if err := joinParts(first, nil, 7); err != error(first) {
		t.Errorf("joined = %v, want the first part's problems as they are", err)
	}
	readErr := errors.Join(errors.New("reading after line 109: i/o error"), second)
	err = joinParts(first, readErr, 0)
	if want := "reading after line 109: i/o error\n13 problems: line 3: a; line 2: b; line 5: c; and 10 more"; err == nil || err.Error() != want {
		t.Errorf("joined = %q, want %q", err, want)
	}
}

// brokenFile is a status file whose reads fail at byte failAt, both in
// turn (Read) and at an offset (ReadAt), as a disk's would.
type brokenFile struct {
	data   []byte
	failAt int
	off    int
}

var errDisk = errors.New("input/output error")

func (f *brokenFile) Read(p []byte) (int, error) {
	n, err := f.ReadAt(p, int64(f.off))
	f.off += n
	return n, err
}

func (f *brokenFile) ReadAt(p []byte, off int64) (int, error) {
	if int(off) >= f.failAt {
		return 0, errDisk
	}
	n := copy(p, f.data[off:min(len(f.data), f.failAt)])
	if int(off)+n == len(f.data) {
		return n, io.EOF
	}
	return n, nil
}

func (f *brokenFile) Stat() (fs.FileInfo, error) {
	return fstest.MapFS{"status": {Data: f.data}}.Stat("status")
}

func (f *brokenFile) Close() error { return nil }

// brokenFS holds StatusPath alone, a brokenFile.
type brokenFS struct {
	data   []byte
	failAt int
}

func (b brokenFS) Open(name string) (fs.File, error) {
	if name != StatusPath {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return &brokenFile{data: b.data, failAt: b.failAt}, nil
}

// A read error in either part gives the outcome of one parse: the records
// before it, then the error, with the file's line numbers and problems.
func TestSplitReadError(t *testing.T) {
	var b bytes.Buffer
	if err := synth.WriteStatus(&b, 400); err != nil {
		t.Fatal(err)
	}
	data := append([]byte("no field\n"), b.Bytes()...)
	for _, failAt := range []int{len(data) / 3, len(data) * 3 / 4} {
		collect := func(splitMin int64) ([]detect.Observation, int64, error) {
			var obs []detect.Observation
			h := &host.Host{OS: host.Linux, FS: brokenFS{data, failAt}}
			f := newForkingFilter()
			err := Source{Filter: f, splitMin: splitMin}.Collect(context.Background(), h, func(o detect.Observation) { obs = append(obs, o) })
			return obs, f.forks.Load(), err
		}
		whole, _, wholeErr := collect(1 << 62)
		parts, forks, partsErr := collect(1)
		// Failing past the middle (and the blank line there), the file is
		// split; before it, the look for a blank line there fails, and it
		// is parsed whole.
		if split := failAt > len(data)/2+1024; split != (forks == 1) {
			t.Errorf("failing at byte %d: %d forks", failAt, forks)
		}
		if !slices.Equal(parts, whole) || fmt.Sprint(partsErr) != fmt.Sprint(wholeErr) || !errors.Is(partsErr, errDisk) {
			t.Errorf("failing at byte %d: in two parts %d observations, %v\nwhole %d, %v", failAt, len(parts), partsErr, len(whole), wholeErr)
		}
	}
}

// A second part of more records to hold than maxHeld (a Status no dpkg
// writes, which the source always emits) is parsed again in turn: the
// same outcome.
func TestSplitHoldsAtMost(t *testing.T) {
	var b bytes.Buffer
	if err := synth.WriteStatus(&b, 100); err != nil {
		t.Fatal(err)
	}
	for i := range 3 * maxHeld {
		fmt.Fprintf(&b, "Package: p%d\nStatus: a b c\n\n", i)
	}
	if obs := checkSplitSameAsWhole(t, b.Bytes(), nil, true); len(obs) < 3*maxHeld {
		t.Errorf("%d observations", len(obs))
	}
}

// panicky panics on the package named "boom", and keeps every other.
type panicky struct{}

func (panicky) RelevantPackage(name []byte, _ string) bool {
	if string(name) == "boom" {
		panic("boom")
	}
	return true
}

func (p panicky) Fork() Filter { return p }
func (panicky) Join(Filter)    {}

// A panic in the second part comes back on the source's goroutine, where
// the runner recovers it, as a panic of one parse would: not on another
// goroutine, which would end the agent.
func TestSplitPanicOnCaller(t *testing.T) {
	var b bytes.Buffer
	if err := synth.WriteStatus(&b, 200); err != nil {
		t.Fatal(err)
	}
	b.WriteString("Package: boom\nStatus: install ok installed\n\n")
	dir := t.TempDir()
	if _, _, _, err := collectRoot(t, dir, b.Bytes(), nil, 1<<62); err != nil { // writes the root
		t.Fatal(err)
	}
	h, err := host.OpenRoot(dir, host.Linux)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if p := recover(); p != "boom" {
			t.Errorf("recovered %v, want the filter's panic", p)
		}
	}()
	err = Source{Filter: panicky{}, splitMin: 1}.Collect(context.Background(), h, func(detect.Observation) {})
	t.Errorf("no panic; err = %v", err)
}

// A status file parsed in two parts gives what it gives whole, whatever
// it holds. Seeds: those of FuzzCollectMatchesParseStatus.
func FuzzSplitSameAsWhole(f *testing.F) {
	var synthetic bytes.Buffer
	if err := synth.WriteStatus(&synthetic, 300); err != nil {
		f.Fatal(err)
	}
	f.Add(synthetic.Bytes())
	f.Add([]byte(kesl + "\n" + kesl))
	f.Add([]byte("Package: a\n\nno field\n\nPackage: b\nStatus: x y z\n\n\n\nVersion: 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkSplitSameAsWhole(t, data, nil, false)
	})
}
