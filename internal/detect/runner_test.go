package detect

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/host"
)

// fakeSource behaves as told; it stands in for real sources, which have
// their own tests, to exercise the runner's guarantees.
type fakeSource struct {
	name string
	obs  []string
	err  error
	// block, when set, makes Collect wait for it (or ignore ctx entirely
	// when ignoreCtx is set) after emitting.
	block     chan struct{}
	ignoreCtx bool
	panicMsg  string
}

func (f *fakeSource) Name() string { return f.name }

func (f *fakeSource) Collect(ctx context.Context, _ *host.Host, emit func(Observation)) error {
	for _, n := range f.obs {
		emit(Observation{Kind: KindPackage, Name: n, Status: Installed})
	}
	if f.panicMsg != "" {
		panic(f.panicMsg)
	}
	if f.block != nil {
		if f.ignoreCtx {
			<-f.block
		} else {
			select {
			case <-f.block:
			case <-ctx.Done():
				return fmt.Errorf("%s: %w", f.name, ctx.Err())
			}
		}
	}
	return f.err
}

func TestRunnerIsolatesSources(t *testing.T) {
	hang := make(chan struct{})
	defer close(hang)
	r := Runner{
		Timeout: 200 * time.Millisecond,
		Grace:   300 * time.Millisecond,
		Sources: []Source{
			&fakeSource{name: "ok", obs: []string{"a", "b"}},
			&fakeSource{name: "broken", obs: []string{"c"}, err: errors.New("corrupt database")},
			&fakeSource{name: "absent", err: fmt.Errorf("no database: %w", ErrUnavailable)},
			&fakeSource{name: "panics", obs: []string{"d"}, panicMsg: "index out of range"},
			&fakeSource{name: "slow", obs: []string{"e"}, block: hang},
			&fakeSource{name: "stuck", obs: []string{"f"}, block: hang, ignoreCtx: true},
		},
	}
	start := time.Now()
	obs, results := r.Run(context.Background(), &host.Host{})
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Run took %s: a stuck source held up the scan", d)
	}
	want := map[string]struct {
		status string
		items  int
		errHas string
	}{
		"ok":     {StatusOK, 2, ""},
		"broken": {StatusError, 1, "corrupt database"},
		"absent": {StatusUnavailable, 0, "no database"},
		"panics": {StatusError, 1, "panicked: index out of range"},
		"slow":   {StatusTimeout, 1, "deadline exceeded"},
		"stuck":  {StatusTimeout, 1, "did not stop within 300ms: abandoned"},
	}
	if len(results) != len(want) {
		t.Fatalf("got %d results, want %d", len(results), len(want))
	}
	for i, res := range results {
		if res.Name != r.Sources[i].Name() {
			t.Errorf("result %d is %q, want source order", i, res.Name)
		}
		w := want[res.Name]
		if res.Status != w.status || res.Items != w.items {
			t.Errorf("%s: status %s items %d, want %s %d", res.Name, res.Status, res.Items, w.status, w.items)
		}
		if (w.errHas == "") != (res.Err == nil) || res.Err != nil && !strings.Contains(res.Err.Error(), w.errHas) {
			t.Errorf("%s: err %v, want one containing %q", res.Name, res.Err, w.errHas)
		}
	}
	// Nothing found is lost: what broken, panicking and slow sources
	// emitted before failing is kept, tagged with its source.
	var got []string
	for _, o := range obs {
		got = append(got, o.Source+":"+o.Name)
	}
	if g, w := strings.Join(got, " "), "ok:a ok:b broken:c panics:d slow:e stuck:f"; g != w {
		t.Errorf("observations %q, want %q", g, w)
	}
}

func TestRunnerKeep(t *testing.T) {
	r := Runner{
		Sources: []Source{&fakeSource{name: "dpkg", obs: []string{"bash", "kesl", "coreutils"}}},
		Keep:    func(o Observation) bool { return o.Name == "kesl" },
	}
	obs, results := r.Run(context.Background(), &host.Host{})
	if len(obs) != 1 || obs[0].Name != "kesl" {
		t.Errorf("kept %v, want only kesl", obs)
	}
	if results[0].Items != 3 {
		t.Errorf("items = %d, want 3: items counts what the source saw, not what was kept", results[0].Items)
	}
}

func TestRunnerCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	block := make(chan struct{})
	defer close(block)
	r := Runner{Sources: []Source{&fakeSource{name: "s", block: block}}}
	_, results := r.Run(ctx, &host.Host{})
	if results[0].Status != StatusError && results[0].Status != StatusTimeout {
		t.Errorf("status %s after cancel, want error or timeout", results[0].Status)
	}
}

// pathEnricher emits one observation per kept observation that has a path.
type pathEnricher struct{ seen *[]string }

func (pathEnricher) Name() string { return "pe" }

func (e pathEnricher) Enrich(_ context.Context, _ *host.Host, obs []Observation, emit func(Observation)) error {
	for _, o := range obs {
		*e.seen = append(*e.seen, o.Source+":"+o.Name)
		emit(Observation{Kind: KindSigner, Name: o.Name, Signer: "CN=Test"})
	}
	return nil
}

func TestRunnerEnrichers(t *testing.T) {
	var seen []string
	r := Runner{
		Sources:   []Source{&fakeSource{name: "dpkg", obs: []string{"bash", "kesl"}}},
		Keep:      func(o Observation) bool { return o.Name != "bash" || o.Kind == KindSigner },
		Enrichers: []Enricher{pathEnricher{&seen}},
	}
	obs, results := r.Run(context.Background(), &host.Host{})
	if strings.Join(seen, " ") != "dpkg:kesl" {
		t.Errorf("enricher saw %v, want only what the sources kept", seen)
	}
	if len(obs) != 2 || obs[1].Source != "pe" || obs[1].Kind != KindSigner {
		t.Errorf("observations %+v, want the source's then the enricher's", obs)
	}
	if len(results) != 2 || results[1].Name != "pe" || results[1].Status != StatusOK || results[1].Items != 1 {
		t.Errorf("results %+v", results)
	}
}

// A source whose only failures are items it could not read is ok, with
// warnings; one item error beside any other error is the source's failure.
func TestRunnerItemErrorsAreWarnings(t *testing.T) {
	bundle := func(n int) error {
		return Warn(fmt.Errorf("Applications/App%d.app/Contents/Info.plist: %w", n, errors.New("unexpected EOF")))
	}
	var many []error
	for i := range MaxWarnings + 5 {
		many = append(many, bundle(i))
	}
	tests := []struct {
		name       string
		err        error
		status     string
		warnings   []string
		errContain string
	}{
		{"one item", bundle(1), StatusOK, []string{"Applications/App1.app/Contents/Info.plist: unexpected EOF"}, ""},
		{"wrapped join", fmt.Errorf("apps: %w", errors.Join(bundle(1), bundle(2))), StatusOK,
			[]string{"Applications/App1.app/Contents/Info.plist: unexpected EOF", "Applications/App2.app/Contents/Info.plist: unexpected EOF"}, ""},
		{"nested joins", errors.Join(bundle(1), fmt.Errorf("users: %w", errors.Join(bundle(2), fmt.Errorf("x: %w", bundle(3))))), StatusOK,
			[]string{"Applications/App1.app/Contents/Info.plist: unexpected EOF", "Applications/App2.app/Contents/Info.plist: unexpected EOF",
				"Applications/App3.app/Contents/Info.plist: unexpected EOF"}, ""},
		{"item and database", errors.Join(bundle(1), errors.New("var/lib/dpkg/status: permission denied")), StatusError, nil, "permission denied"},
		{"item beside a plain wrap", fmt.Errorf("%w; %w", bundle(1), errors.New("listing cut short")), StatusError, nil, "cut short"},
		{"plain error", errors.New("corrupt database"), StatusError, nil, "corrupt database"},
		{"empty join", fmt.Errorf("x: %w", errors.Join()), StatusError, nil, "x:"},
		{"unavailable", fmt.Errorf("no database: %w", ErrUnavailable), StatusUnavailable, nil, "no database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Runner{Sources: []Source{&fakeSource{name: "apps", obs: []string{"a"}, err: tt.err}}}
			obs, results := r.Run(context.Background(), &host.Host{})
			res := results[0]
			if res.Status != tt.status {
				t.Errorf("status %s, want %s (err %v)", res.Status, tt.status, res.Err)
			}
			if strings.Join(res.Warnings, "\n") != strings.Join(tt.warnings, "\n") {
				t.Errorf("warnings %q, want %q", res.Warnings, tt.warnings)
			}
			if tt.errContain == "" && res.Err != nil {
				t.Errorf("err %v, want none", res.Err)
			}
			if tt.errContain != "" && (res.Err == nil || !strings.Contains(res.Err.Error(), tt.errContain)) {
				t.Errorf("err %v, want one containing %q", res.Err, tt.errContain)
			}
			if len(obs) != 1 || res.Items != 1 {
				t.Errorf("observations %v, items %d: what the source saw must be kept", obs, res.Items)
			}
		})
	}
	t.Run("bounded", func(t *testing.T) {
		r := Runner{Sources: []Source{&fakeSource{name: "apps", err: errors.Join(many...)}}}
		_, results := r.Run(context.Background(), &host.Host{})
		w := results[0].Warnings
		if results[0].Status != StatusOK || len(w) != MaxWarnings+1 || w[MaxWarnings] != "and 5 more" {
			t.Errorf("status %s, %d warnings ending %q; want ok, %d and \"and 5 more\"", results[0].Status, len(w), w[len(w)-1], MaxWarnings+1)
		}
	})
	t.Run("timeout wins", func(t *testing.T) {
		block := make(chan struct{})
		defer close(block)
		r := Runner{Timeout: 10 * time.Millisecond, Sources: []Source{&timeoutItems{block: block}}}
		_, results := r.Run(context.Background(), &host.Host{})
		if results[0].Status != StatusTimeout {
			t.Errorf("status %s, want timeout: a source cut short by its deadline did not see the rest", results[0].Status)
		}
	})
}

// timeoutItems waits for its deadline, then returns only item errors, as a
// source that stops reading at the deadline and reports what it skipped.
type timeoutItems struct{ block chan struct{} }

func (*timeoutItems) Name() string { return "slow" }

func (s *timeoutItems) Collect(ctx context.Context, _ *host.Host, _ func(Observation)) error {
	select {
	case <-ctx.Done():
	case <-s.block:
	}
	return Warn(fmt.Errorf("item: %w", ctx.Err()))
}

// slowStop stops reading when its context ends, but takes a while to
// return, as a source finishing its current item; it notes when it did.
type slowStop struct {
	name     string
	stopTime time.Duration
	returned chan struct{}
}

func (s *slowStop) Name() string { return s.name }

func (s *slowStop) Collect(ctx context.Context, _ *host.Host, emit func(Observation)) error {
	defer close(s.returned)
	emit(Observation{Kind: KindPackage, Name: "kesl"})
	<-ctx.Done()
	time.Sleep(s.stopTime)
	return ctx.Err()
}

// A source that times out has returned before Run does: none goes on
// reading behind the scan, whose goroutines are all gone when it ends.
func TestRunnerWaitsForTimedOutSources(t *testing.T) {
	before := runtime.NumGoroutine()
	var sources []Source
	var all []*slowStop
	for i := range 8 {
		s := &slowStop{name: fmt.Sprintf("s%d", i), stopTime: 50 * time.Millisecond, returned: make(chan struct{})}
		sources = append(sources, s)
		all = append(all, s)
	}
	r := Runner{Timeout: 50 * time.Millisecond, Sources: sources}
	obs, results := r.Run(context.Background(), &host.Host{})
	for _, s := range all {
		select {
		case <-s.returned:
		default:
			t.Errorf("%s still running after Run returned", s.name)
		}
	}
	for _, res := range results {
		if res.Status != StatusTimeout || strings.Contains(res.Err.Error(), "abandoned") {
			t.Errorf("%s: %s %v, want a timeout, not abandoned", res.Name, res.Status, res.Err)
		}
	}
	if len(obs) != len(all) {
		t.Errorf("%d observations kept, want what each source emitted before its timeout", len(obs))
	}
	if after := settledGoroutines(before); after > before {
		t.Errorf("%d goroutines before Run, %d after", before, after)
	}
}

// The same when the scan itself is cancelled (the service stopping, a
// memory limit reached).
func TestRunnerWaitsWhenCancelled(t *testing.T) {
	s := &slowStop{name: "s", stopTime: 100 * time.Millisecond, returned: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	_, results := (&Runner{Sources: []Source{s}}).Run(ctx, &host.Host{})
	select {
	case <-s.returned:
	default:
		t.Error("the source is still running after Run returned")
	}
	if results[0].Status != StatusError || !errors.Is(results[0].Err, context.Canceled) {
		t.Errorf("%s %v, want an error saying cancelled", results[0].Status, results[0].Err)
	}
}

// settledGoroutines returns the number of goroutines once it is at most
// want, or after a second: goroutines that have returned may take a
// moment to be counted out.
func settledGoroutines(want int) int {
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(time.Second); n > want && time.Now().Before(deadline); n = runtime.NumGoroutine() {
		time.Sleep(10 * time.Millisecond)
	}
	return n
}
