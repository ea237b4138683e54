package agent

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/report"
)

// memQueue records what the loop queues; failWith makes Put fail.
type memQueue struct {
	mu       sync.Mutex
	reports  map[string][]byte
	order    []string
	failWith error
}

func (q *memQueue) Put(id string, gz []byte) ([]string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.failWith != nil {
		return nil, q.failWith
	}
	if q.reports == nil {
		q.reports = map[string][]byte{}
	}
	q.reports[id] = gz
	q.order = append(q.order, id)
	return nil, nil
}

// sampleReport is a report as scan.Run makes them, from the report
// package's own fixture shape: one restricted product installed.
func sampleReport(id string, at time.Time) *report.Report {
	return &report.Report{
		SchemaVersion: report.SchemaVersion,
		ReportID:      id,
		GeneratedAt:   at,
		DurationMS:    31,
		Agent:         report.Agent{Name: "avscout", Version: "test", CatalogVersion: "2026.11"},
		Host:          report.Host{ID: "h1", Hostname: "ws-042", OS: "windows", Root: `C:\`},
		Products: []report.Product{
			{ID: "kaspersky-endpoint-security", Vendor: "Kaspersky", Name: "Kaspersky Endpoint Security for Windows",
				Category: "antivirus", State: report.StateInstalled, Restricted: true, Confidence: report.ConfidenceHigh},
			{ID: "kaspersky-leftover", Vendor: "Kaspersky", Name: "Kaspersky components",
				Category: "other", State: report.StateLeftover, Restricted: true, Confidence: report.ConfidenceMedium},
		},
		Sources: []report.Source{
			{Name: "uninstall", Status: report.StatusOK, Items: 3},
			{Name: "securitycenter", Status: report.StatusTimeout},
		},
	}
}

// clock is a manual clock: After records each wait and fires at once,
// advancing the time by the wait.
type clock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	c.now = c.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

func TestRunFollowsTheSchedule(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{now: time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)}
	q := &memQueue{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	draws := []float64{0.25, 1.0, 0.0} // splay ¼; then +jitter; then −jitter
	scans := 0
	a := &Agent{
		Queue:    q,
		State:    OpenState(filepath.Join(dir, "state.json"), nil),
		Schedule: Schedule{Splay: 4 * time.Minute, Interval: 6 * time.Hour, Jitter: 30 * time.Minute},
		Now:      clk.Now,
		After:    clk.After,
		Rand: func() float64 {
			d := draws[0]
			draws = draws[1:]
			return d
		},
		Scan: func(ctx context.Context) (*report.Report, error) {
			scans++
			clk.mu.Lock()
			clk.now = clk.now.Add(10 * time.Second) // the scan takes 10 s
			at := clk.now
			clk.mu.Unlock()
			if scans == 3 {
				cancel()
			}
			return sampleReport(report.NewID(), at), nil
		},
	}
	if err := a.Run(ctx); err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{
		time.Minute, // splay: ¼ of 4 min
		6*time.Hour + 30*time.Minute - 10*time.Second, // interval + jitter, counted from the scan's start
		6*time.Hour - 30*time.Minute - 10*time.Second, // interval − jitter
	}
	if len(clk.waits) != len(want) {
		t.Fatalf("waits = %v, want %v", clk.waits, want)
	}
	for i := range want {
		if clk.waits[i] != want[i] {
			t.Errorf("wait %d = %v, want %v", i, clk.waits[i], want[i])
		}
	}
	if len(q.order) != 3 {
		t.Errorf("queued %d reports, want 3 (one per scan)", len(q.order))
	}
}

func TestCycleQueuesGzipJSONAndRecordsState(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state", "state.json")
	q := &memQueue{}
	at := time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)
	r := sampleReport("0b6f1a52-5d2c-4b8e-9a51-3f0d2a7c9e11", at)
	a := &Agent{Queue: q, State: OpenState(path, nil), Scan: func(context.Context) (*report.Report, error) { return r, nil }}
	if err := a.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	gz := q.reports[r.ReportID]
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatalf("queued body is not gzip: %v", err)
	}
	body, _ := io.ReadAll(zr)
	var back report.Report
	if err := json.Unmarshal(body, &back); err != nil || back.ReportID != r.ReportID {
		t.Fatalf("queued body does not decode to the report: %v, %q", err, back.ReportID)
	}

	st, err := ReadState(path)
	if err != nil {
		t.Fatal(err)
	}
	ls := st.LastScan
	if ls == nil || ls.ReportID != r.ReportID || ls.Compliant || ls.Products != 2 || !ls.At.Equal(at) {
		t.Fatalf("last scan = %+v", ls)
	}
	if len(ls.Restricted) != 1 || ls.Restricted[0] != "Kaspersky Endpoint Security for Windows" {
		t.Errorf("restricted = %v, want only the installed product (leftovers do not count)", ls.Restricted)
	}
	if len(ls.FailedSources) != 1 || ls.FailedSources[0] != "securitycenter" {
		t.Errorf("failed sources = %v", ls.FailedSources)
	}
	if ls.Verdict != report.VerdictNonCompliant {
		t.Errorf("verdict = %q, want non_compliant", ls.Verdict)
	}
	if runtime.GOOS != "windows" {
		fi, _ := os.Stat(path)
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("state file mode %v, want 0600", fi.Mode().Perm())
		}
	}
}

func TestFailuresAreRecordedAndTheLoopGoesOn(t *testing.T) {
	for _, tc := range []struct {
		name      string
		scan      Scanner
		queueErr  error
		wantError string
	}{
		{"scan error", func(context.Context) (*report.Report, error) { return nil, errors.New("unknown source \"x\"") }, nil, `unknown source "x"`},
		{"scan panic", func(context.Context) (*report.Report, error) { panic("boom") }, nil, "scan panicked: boom"},
		{"queue full disk", func(context.Context) (*report.Report, error) { return sampleReport(report.NewID(), time.Now()), nil },
			errors.New("write spool/x.json.gz: no space left on device"), "queue report: write spool/x.json.gz: no space left on device"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			clk := &clock{now: time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cycles := 0
			a := &Agent{
				Queue:    &memQueue{failWith: tc.queueErr},
				State:    OpenState(path, nil),
				Schedule: Schedule{Interval: time.Hour},
				Now:      clk.Now,
				After: func(d time.Duration) <-chan time.Time {
					if cycles++; cycles > 2 {
						cancel() // two cycles ran: the loop survived the first failure
					}
					return clk.After(d)
				},
				Scan: tc.scan,
			}
			if err := a.Run(ctx); err != nil {
				t.Fatal(err)
			}
			st, err := ReadState(path)
			if err != nil {
				t.Fatal(err)
			}
			if st.LastScan == nil || st.LastScan.Error != tc.wantError {
				t.Errorf("last scan = %+v, want error %q", st.LastScan, tc.wantError)
			}
		})
	}
}

func TestDelivererIsWokenAtStartAndAfterEachQueuedReport(t *testing.T) {
	clk := &clock{now: time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	wakes := 0
	seen := func() int {
		mu.Lock()
		defer mu.Unlock()
		return wakes
	}
	// waitWakes blocks until the deliverer has taken n wakes, so that
	// pending wakes are not coalesced by the scheduler's whim.
	waitWakes := func(n int) {
		deadline := time.Now().Add(10 * time.Second)
		for seen() < n && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	scans := 0
	a := &Agent{
		Queue:    &memQueue{},
		Schedule: Schedule{Interval: time.Hour},
		Now:      clk.Now,
		After:    clk.After,
		Scan: func(context.Context) (*report.Report, error) {
			scans++
			waitWakes(scans) // scan 1: the start-up wake; scan 2: scan 1's
			if scans == 2 {
				defer cancel()
			}
			return sampleReport(report.NewID(), time.Now()), nil
		},
		Deliver: func(ctx context.Context, wake <-chan struct{}) {
			for {
				select {
				case <-ctx.Done():
					return
				case <-wake:
					mu.Lock()
					wakes++
					mu.Unlock()
				}
			}
		},
	}
	if err := a.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if n := seen(); n < 2 {
		t.Errorf("deliverer woken %d times, want ≥ 2 (at start-up and after the first scan)", n)
	}
}

func TestOpenStateSurvivesADamagedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, []byte("{\"version\": 1, \"last_scan\": {tru"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := OpenState(path, nil)
	f.Update(func(s *State) { s.PID = 7 })
	st, err := ReadState(path)
	if err != nil || st.PID != 7 {
		t.Fatalf("state after replacing a damaged file: %+v, %v", st, err)
	}
}

func TestReadStateRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string][]byte{
		"garbage.json": []byte("\x00\x01not json"),
		"future.json":  []byte(`{"version": 99}`),
		"huge.json":    bytes.Repeat([]byte(" "), maxStateSize+10),
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, content, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadState(p); err == nil {
			t.Errorf("ReadState(%s) succeeded", name)
		}
	}
	if _, err := ReadState(filepath.Join(dir, "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v, want ErrNotExist", err)
	}
}

func TestSpreadNeverNegative(t *testing.T) {
	for _, r := range []float64{0, 0.1, 0.5, 0.999} {
		a := &Agent{Rand: func() float64 { return r }}
		if d := a.spread(time.Minute, time.Hour); d < 0 {
			t.Errorf("spread(1m, ±1h) with draw %v = %v", r, d)
		}
		if d := a.splay(2 * time.Minute); d < 0 || d >= 2*time.Minute {
			t.Errorf("splay(2m) with draw %v = %v", r, d)
		}
	}
}

func TestRunRejectsAnIncompleteAgent(t *testing.T) {
	if err := (&Agent{}).Run(context.Background()); err == nil {
		t.Error("Run without Scan and Queue succeeded")
	}
	a := &Agent{Queue: &memQueue{}, Scan: func(context.Context) (*report.Report, error) { return nil, nil }}
	if err := a.Run(context.Background()); err == nil {
		t.Error("Run with a zero interval succeeded")
	}
}

// The state records the verdict; an incomplete scan is not compliant.
func TestStateRecordsAnIncompleteVerdict(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	r := sampleReport("5c0b2d4e-8f1a-4c3b-9d2e-7a6f5e4d3c21", time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC))
	r.Products = r.Products[1:] // only the leftover: nothing restricted in use
	r.SetVerdict()
	a := &Agent{Queue: &memQueue{}, State: OpenState(path, nil), Scan: func(context.Context) (*report.Report, error) { return r, nil }}
	if err := a.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	st, err := ReadState(path)
	if err != nil {
		t.Fatal(err)
	}
	if ls := st.LastScan; ls.Verdict != report.VerdictIncomplete || ls.Compliant || len(ls.Restricted) != 0 {
		t.Errorf("last scan = %+v, want verdict incomplete, not compliant", ls)
	}
	raw, _ := os.ReadFile(path)
	if !bytes.Contains(raw, []byte(`"verdict": "incomplete"`)) {
		t.Errorf("state file lacks the verdict:\n%s", raw)
	}
}

// State files written before the verdict existed are still read, and
// their verdict is derived from what they kept.
func TestOldStateFilesGetAVerdict(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name, lastScan, want string
	}{
		// compliant:true with a failed source was the old rule's answer
		{"incomplete", `{"at": "2026-11-20T08:00:00Z", "report_id": "r1", "duration_ms": 30001, "compliant": true, "products": 0, "failed_sources": ["dpkg"]}`, report.VerdictIncomplete},
		{"restricted", `{"at": "2026-11-20T08:00:00Z", "report_id": "r2", "duration_ms": 12, "compliant": false, "products": 1, "restricted": ["Kaspersky Endpoint Security for Linux"], "failed_sources": ["units"]}`, report.VerdictNonCompliant},
		{"compliant", `{"at": "2026-11-20T08:00:00Z", "report_id": "r3", "duration_ms": 12, "compliant": true, "products": 1}`, report.VerdictCompliant},
		{"failed", `{"at": "2026-11-20T08:00:00Z", "duration_ms": 0, "compliant": false, "products": 0, "error": "host: open root: permission denied"}`, ""},
		{"queue_failed", `{"at": "2026-11-20T08:00:00Z", "report_id": "r5", "duration_ms": 9, "compliant": true, "products": 0, "error": "queue report: disk full"}`, report.VerdictCompliant},
	} {
		p := filepath.Join(dir, tt.name+".json")
		if err := os.WriteFile(p, []byte(`{"version": 1, "pid": 12, "last_scan": `+tt.lastScan+`}`), 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := ReadState(p)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := st.LastScan.VerdictOf(); got != tt.want || st.LastScan.Verdict != "" {
			t.Errorf("%s: VerdictOf = %q (field %q), want %q derived", tt.name, got, st.LastScan.Verdict, tt.want)
		}
	}
	if (*ScanState)(nil).VerdictOf() != "" {
		t.Error("no scan has a verdict")
	}
}
