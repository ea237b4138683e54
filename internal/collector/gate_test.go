package collector

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/collector/internal/fleettest"
)

// metricsLine returns the line of /metrics that starts with prefix.
func (e *env) metricsLine(t *testing.T, prefix string) string {
	t.Helper()
	for line := range strings.Lines(string(e.get(t, "/metrics").body)) {
		if strings.HasPrefix(line, prefix) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

// With one place at the gate, a report arriving while another is being
// read waits a moment, then is answered 503 with Retry-After (the agent
// keeps it); when the first client goes away its request stops, frees
// its place, and is counted; the next report is stored.
func TestIngestGate(t *testing.T) {
	e := newEnv(t, "sqlite", func(o *Options) { o.MaxInflight = 1 })

	// A slow client: headers sent, body trickling.
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	slow := fleettest.Report(t, "debian-clean", "slow", "slow", t0)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.srv.URL+"/v1/reports", pr)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Idempotency-Key", slow.ReportID)
	slowDone := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		slowDone <- err
	}()
	if _, err := pw.Write([]byte(`{"schema_version":1,`)); err != nil {
		t.Fatal(err)
	}
	// The slow report holds the one place once the server has read its
	// headers; only then is the gate full.
	waitMetric(t, e, "avscout_collector_ingest_inflight 1")

	r := fleettest.Report(t, "debian-kaspersky", "h1", "h1", t0)
	start := time.Now()
	resp := e.send(t, r)
	if waited := time.Since(start); resp.status != http.StatusServiceUnavailable || resp.header.Get("Retry-After") != retryAfterBusy {
		t.Fatalf("report while the gate is full: %d (Retry-After %q) %s", resp.status, resp.header.Get("Retry-After"), resp.body)
	} else if waited < gateWait {
		t.Errorf("answered 503 after %v, want a wait of %v first", waited, gateWait)
	}
	if got := e.metricsLine(t, `avscout_collector_reports_rejected_total{reason="overloaded"}`); !strings.HasSuffix(got, " 1") {
		t.Errorf("metrics: %q, want 1 overloaded", got)
	}

	cancel()
	pw.CloseWithError(context.Canceled) // the transport waits for the body's Read
	if err := <-slowDone; !errors.Is(err, context.Canceled) {
		t.Errorf("the cancelled slow client's request: %v, want context.Canceled", err)
	}
	waitMetric(t, e, `avscout_collector_reports_rejected_total{reason="client_gone"} 1`)
	waitMetric(t, e, "avscout_collector_ingest_inflight 0")
	e.mustSend(t, r)
}

// waitMetric waits up to 10 s for /metrics to hold line (a metric and its
// value).
func waitMetric(t *testing.T, e *env, line string) {
	t.Helper()
	name, _, _ := strings.Cut(line, " ")
	deadline := time.Now().Add(10 * time.Second)
	for e.metricsLine(t, name+" ") != line {
		if time.Now().After(deadline) {
			t.Fatalf("metrics: %q, want %q", e.metricsLine(t, name+" "), line)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The byte budget: a body larger than the room left waits, then is
// answered 503, while small reports pass.
func TestGateBudget(t *testing.T) {
	g := newGate(10, 100<<10, 50*time.Millisecond)
	if err := g.acquire(context.Background(), 60<<10); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("x"), 64<<10)
	if _, charged, err := g.readAll(context.Background(), bytes.NewReader(big), 1<<20); err != errBusy {
		t.Errorf("readAll over the budget = %v (charged %d), want errBusy", err, charged)
	} else {
		g.release(charged)
	}
	buf, charged, err := g.readAll(context.Background(), strings.NewReader("small"), 1<<20)
	if err != nil || string(buf) != "small" || charged > firstRead {
		t.Errorf("readAll small = %q, %d, %v", buf, charged, err)
	}
	g.release(charged)
	g.release(60 << 10)
	if g.used != 0 {
		t.Errorf("budget used %d after every release", g.used)
	}
	// A body over the limit is read one byte past it, and no further.
	buf, charged, err = g.readAll(context.Background(), bytes.NewReader(big), 1000)
	if err != nil || len(buf) != 1001 || charged != 1001 {
		t.Errorf("readAll over the limit: %d bytes, %d charged, %v", len(buf), charged, err)
	}
	g.release(charged)
}
