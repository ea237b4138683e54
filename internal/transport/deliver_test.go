package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/spool"

	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/report/reporttest"
)

func openSpool(t *testing.T) (*spool.Spool, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "spool")
	s, err := spool.Open(dir, spool.Limits{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func queue(t *testing.T, s *spool.Spool, n int) []string {
	t.Helper()
	var ids []string
	for range n {
		id := report.NewID()
		if _, err := s.Put(id, reporttest.Gzip(t, id, 200)); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func pending(t *testing.T, s *spool.Spool) []string {
	t.Helper()
	es, err := s.Pending()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range es {
		ids = append(ids, e.ID)
	}
	return ids
}

// deadReasons reads the dead-letter reasons, by report id.
func deadReasons(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	files, _ := filepath.Glob(filepath.Join(dir, "deadletter", "*.reason.txt"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var id, reason string
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "report_id: "); ok {
				id = v
			}
			if v, ok := strings.CutPrefix(line, "reason: "); ok {
				reason = v
			}
		}
		out[id] = reason
	}
	return out
}

func TestDrainOnce(t *testing.T) {
	s, dir := openSpool(t)
	ids := queue(t, s, 6)
	// A corrupt entry, oldest of all.
	corrupt := report.NewID()
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%020d-%s.json.gz", 1, corrupt)), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	answers := map[string]int{ids[0]: 201, ids[1]: 400, ids[2]: 200, ids[3]: 503, ids[4]: 200, ids[5]: 200}
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("Idempotency-Key")
		got = append(got, id)
		if answers[id] == 400 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			_, _ = io.WriteString(w, `{"error":"schema: host.os must be one of linux, windows, darwin"}`)
			return
		}
		if answers[id] == 503 {
			w.Header().Set("Retry-After", "42")
		}
		w.WriteHeader(answers[id])
	}))
	defer srv.Close()
	d := &Deliverer{Client: newClient(t, Options{URL: srv.URL}), Queue: s}

	res := d.DrainOnce(context.Background())
	if !slices.Equal(got, ids[:4]) {
		t.Fatalf("collector got %v, want the oldest four in order %v", got, ids[:4])
	}
	var se *SendError
	if res.Attempted != 4 || res.Sent != 2 || res.DeadLettered != 2 || !errors.As(res.Err, &se) ||
		se.Status != 503 || res.RetryAfter != 42*time.Second || res.At.IsZero() {
		t.Fatalf("Result = %+v, want 4 attempted, 2 sent, 2 dead-lettered (400 and corrupt), a 503 with Retry-After 42s", res)
	}
	if left := pending(t, s); !slices.Equal(left, ids[3:]) {
		t.Fatalf("Pending = %v, want %v (the pass stops at the 503)", left, ids[3:])
	}
	reasons := deadReasons(t, dir)
	if r := reasons[ids[1]]; r != "HTTP 400 Bad Request: schema: host.os must be one of linux, windows, darwin" {
		t.Fatalf("dead-letter reason for the 400 = %q", r)
	}
	if r := reasons[corrupt]; !strings.HasPrefix(r, "corrupt") {
		t.Fatalf("dead-letter reason for the corrupt entry = %q", r)
	}

	answers[ids[3]] = 200
	res = d.DrainOnce(context.Background())
	if res.Attempted != 3 || res.Sent != 3 || res.Err != nil {
		t.Fatalf("second pass Result = %+v, want 3 sent, no error", res)
	}
	if left := pending(t, s); len(left) != 0 {
		t.Fatalf("Pending = %v after a clean pass", left)
	}
	if res := d.DrainOnce(context.Background()); res.Attempted != 0 || res.Err != nil {
		t.Fatalf("pass over an empty queue: %+v", res)
	}
}

// senderFunc adapts a function to Sender, for failures no HTTP server
// produces (a sender that is not the Client).
type senderFunc func(ctx context.Context, id string, gz []byte) error

func (f senderFunc) Send(ctx context.Context, id string, gz []byte) error { return f(ctx, id, gz) }

func TestDrainOnceKeepsReportOnForeignError(t *testing.T) {
	s, _ := openSpool(t)
	ids := queue(t, s, 2)
	d := &Deliverer{Queue: s, Client: senderFunc(func(context.Context, string, []byte) error {
		return errors.New("something odd")
	})}
	res := d.DrainOnce(context.Background())
	if res.Attempted != 1 || res.Err == nil || res.DeadLettered != 0 {
		t.Fatalf("Result = %+v, want one attempt ending the pass with the error", res)
	}
	if left := pending(t, s); !slices.Equal(left, ids) {
		t.Fatalf("Pending = %v, want both kept", left)
	}
}

// fakeTimer is one wait Run asked for; the test fires it.
type fakeTimer struct {
	d time.Duration
	c chan time.Time
}

// scripted is a collector answering each request with the next status in
// a script (200 once the script runs out), recording what it saw.
type scripted struct {
	mu     sync.Mutex
	script []scriptStep
	got    []string
}

type scriptStep struct {
	status     int
	retryAfter string
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, r.Header.Get("Idempotency-Key"))
	step := scriptStep{status: 200}
	if len(s.script) > 0 {
		step, s.script = s.script[0], s.script[1:]
	}
	if step.retryAfter != "" {
		w.Header().Set("Retry-After", step.retryAfter)
	}
	w.WriteHeader(step.status)
}

func (s *scripted) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

func TestRunWaits(t *testing.T) {
	sq, _ := openSpool(t)
	col := &scripted{script: []scriptStep{{503, ""}, {503, ""}, {200, ""}, {200, ""},
		{429, "3"}, {429, "7200"}, {200, ""}, {500, ""}, {200, ""}}}
	srv := httptest.NewServer(col)
	defer srv.Close()

	timers := make(chan fakeTimer)
	results := make(chan Result, 20)
	d := &Deliverer{
		Client:   newClient(t, Options{URL: srv.URL}),
		Queue:    sq,
		Backoff:  Backoff{Base: 10 * time.Millisecond, Max: 40 * time.Millisecond, Rand: func(n int64) int64 { return n - 1 }},
		Poll:     2 * time.Hour,
		OnResult: func(r Result) { results <- r },
		After: func(d time.Duration) <-chan time.Time {
			c := make(chan time.Time, 1)
			timers <- fakeTimer{d, c}
			return c
		},
	}
	queue(t, sq, 1)
	wake := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx, wake) }()
	defer func() { cancel(); <-done }()

	// next waits for Run's next wait and checks how long it asked for.
	next := func(want time.Duration) fakeTimer {
		t.Helper()
		select {
		case ft := <-timers:
			if ft.d != want {
				t.Fatalf("Run waits %v, want %v", ft.d, want)
			}
			return ft
		case <-time.After(30 * time.Second):
			t.Fatalf("Run asked for no wait (expected %v) within 30s", want)
		}
		return fakeTimer{}
	}
	result := func(wantErr bool) {
		t.Helper()
		r := <-results
		if (r.Err != nil) != wantErr || r.Attempted != 1 {
			t.Fatalf("Result = %+v, want one attempt, error %v", r, wantErr)
		}
	}

	ft := next(10 * time.Millisecond) // first 503: Base·2^0, largest draw
	result(true)
	// A wake during the backoff must not start a pass. (The pause can
	// only let a slow machine miss a bug, never fail a correct Run.)
	wake <- struct{}{}
	time.Sleep(50 * time.Millisecond)
	if n := col.requests(); n != 1 {
		t.Fatalf("a wake during backoff started a pass: %d requests", n)
	}
	ft.c <- time.Now()
	ft = next(20 * time.Millisecond) // second 503
	result(true)
	ft.c <- time.Now()
	next(2 * time.Hour) // 200: queue drained, idle until woken or Poll
	result(false)

	queue(t, sq, 1)
	wake <- struct{}{} // when idle, a wake starts a pass at once
	next(2 * time.Hour)
	result(false)

	queue(t, sq, 1)
	wake <- struct{}{}
	ft = next(3 * time.Second) // 429 Retry-After 3: longer than the backoff (reset to 10ms)
	result(true)
	ft.c <- time.Now()
	ft = next(MaxRetryAfter) // 429 Retry-After 7200s: capped
	result(true)
	ft.c <- time.Now()
	next(2 * time.Hour)
	result(false)

	queue(t, sq, 1)
	wake <- struct{}{}
	ft = next(10 * time.Millisecond) // the attempt count restarted after success
	result(true)
	ft.c <- time.Now()
	next(2 * time.Hour)
	result(false)
	if left := pending(t, sq); len(left) != 0 {
		t.Fatalf("Pending = %v at the end", left)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	sq, _ := openSpool(t)
	queue(t, sq, 1)
	addr, accepted := hangingServer(t)
	d := &Deliverer{Client: newClient(t, Options{URL: "http://" + addr}), Queue: sq}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx, nil) }()
	<-accepted // mid-send
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if left := pending(t, sq); len(left) != 1 {
		t.Fatalf("Pending = %v: the report whose send was cut must stay", left)
	}
}

// flakyCollector is a collector that misbehaves in turn, then works: it
// answers 500 three times, 429 with Retry-After in seconds, 503 with
// Retry-After as a date, resets two connections mid-body, and afterwards
// stores reports, deduplicated by Idempotency-Key. Two reports are
// refused for good (400, 413).
type flakyCollector struct {
	t          *testing.T
	reject400  string
	reject413  string
	n          atomic.Int32
	mu         sync.Mutex
	stored     map[string]int // report id → times accepted
	retryAt    time.Time      // when the 429 was answered
	afterRetry time.Duration  // time from the 429 to the next request
}

func (c *flakyCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := c.n.Add(1)
	id := r.Header.Get("Idempotency-Key")
	c.mu.Lock()
	if !c.retryAt.IsZero() && c.afterRetry == 0 {
		c.afterRetry = time.Since(c.retryAt)
	}
	c.mu.Unlock()
	switch {
	case n <= 3:
		http.Error(w, "database unavailable", http.StatusInternalServerError)
		return
	case n == 4:
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		c.mu.Lock()
		c.retryAt = time.Now()
		c.mu.Unlock()
		return
	case n == 5:
		w.Header().Set("Retry-After", time.Now().Add(time.Second).UTC().Format(http.TimeFormat))
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	case n <= 7:
		_, _ = io.CopyN(io.Discard, r.Body, 10)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			conn.Close()
		}
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+testToken || r.Header.Get("Content-Encoding") != "gzip" {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if rid, err := reporttest.ID(body); err != nil || rid != id {
		c.t.Errorf("request for %s carries report %q (%v)", id, rid, err)
		http.Error(w, "body does not match key", http.StatusBadRequest)
		return
	}
	switch id {
	case c.reject400:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":"schema: products[0].state invalid"}`)
		return
	case c.reject413:
		http.Error(w, "report exceeds 20 MiB", http.StatusRequestEntityTooLarge)
		return
	}
	c.mu.Lock()
	c.stored[id]++
	c.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
}

func TestDeliverEndToEnd(t *testing.T) {
	sq, dir := openSpool(t)
	ids := queue(t, sq, 50)
	col := &flakyCollector{t: t, reject400: ids[10], reject413: ids[30], stored: map[string]int{}}

	// The collector is down at first: its port refuses connections.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	var logs bytes.Buffer
	var logMu sync.Mutex
	logger := slog.New(slog.NewTextHandler(syncWriter{&logs, &logMu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var refused atomic.Int32
	refusedEnough := make(chan struct{})
	drained := make(chan struct{})
	var once, onceDrained sync.Once
	var results []Result
	var resMu sync.Mutex
	d := &Deliverer{
		Client:  newClient(t, Options{URL: "http://" + addr, Token: testToken}),
		Queue:   sq,
		Backoff: Backoff{Base: time.Millisecond, Max: 10 * time.Millisecond},
		Logger:  logger,
		OnResult: func(r Result) {
			resMu.Lock()
			results = append(results, r)
			resMu.Unlock()
			var se *SendError
			if errors.As(r.Err, &se) && se.Reason == "connection refused" && refused.Add(1) == 3 {
				once.Do(func() { close(refusedEnough) })
			}
			if es, err := sq.Pending(); err == nil && len(es) == 0 {
				onceDrained.Do(func() { close(drained) })
			}
		},
	}
	wake := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx, wake) }()
	defer func() { cancel(); <-done }()

	select {
	case <-refusedEnough:
	case <-time.After(60 * time.Second):
		t.Fatal("no three refused passes within 60s")
	}
	// The collector comes up on the same address.
	srv := httptest.NewUnstartedServer(col)
	srv.Listener, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("could not listen again on %s: %v", addr, err)
	}
	srv.Start()
	defer srv.Close()

	select {
	case <-drained:
	case <-time.After(60 * time.Second):
		t.Fatalf("spool not drained within 60s; pending %d, collector saw %d requests", len(pending(t, sq)), col.n.Load())
	}
	cancel()
	<-done

	col.mu.Lock()
	defer col.mu.Unlock()
	for _, id := range ids {
		want := 1
		if id == col.reject400 || id == col.reject413 {
			want = 0
		}
		if col.stored[id] != want {
			t.Errorf("report %s accepted %d times, want %d", id, col.stored[id], want)
		}
	}
	if len(col.stored) != 48 {
		t.Errorf("collector stored %d reports, want 48", len(col.stored))
	}
	st, err := sq.Stats()
	if err != nil || st.Queued != 0 || st.DeadLetters != 2 || st.Dropped != 0 {
		t.Fatalf("spool Stats = %+v (%v), want empty with 2 dead letters", st, err)
	}
	reasons := deadReasons(t, dir)
	if r := reasons[col.reject400]; r != "HTTP 400 Bad Request: schema: products[0].state invalid" {
		t.Errorf("reason for the 400 = %q", r)
	}
	if r := reasons[col.reject413]; !strings.HasPrefix(r, "HTTP 413 Request Entity Too Large: report exceeds 20 MiB") {
		t.Errorf("reason for the 413 = %q", r)
	}
	// Retry-After 1 was honoured (a lower bound: a slow machine only
	// makes the gap longer).
	if col.afterRetry < time.Second {
		t.Errorf("the request after a 429 with Retry-After: 1 came %v later, want at least 1s", col.afterRetry)
	}
	resMu.Lock()
	sent, dead := 0, 0
	for _, r := range results {
		sent += r.Sent
		dead += r.DeadLettered
	}
	resMu.Unlock()
	if sent != 48 || dead != 2 {
		t.Errorf("results say %d sent, %d dead-lettered; want 48 and 2", sent, dead)
	}
	logMu.Lock()
	defer logMu.Unlock()
	if strings.Contains(logs.String(), testToken) {
		t.Error("the token appears in the log")
	}
	if got := strings.Count(logs.String(), "moved to dead-letter"); got != 2 {
		t.Errorf("%d dead-letter log lines, want 2 (one per report):\n%s", got, logs.String())
	}
}

// syncWriter serializes writes to a buffer shared with the test.
type syncWriter struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (w syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
