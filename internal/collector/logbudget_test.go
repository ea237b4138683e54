package collector

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The budget logs at most its lines per interval, counts the rest, and
// says how many it suppressed at the end of the interval (or at the next
// line, should that come first); nothing is lost from the count.
func TestLogBudget(t *testing.T) {
	var logs syncBuf
	now := t0
	var scheduled []func()
	var delays []time.Duration
	b := newLogBudget(slog.New(slog.NewTextHandler(&logs, nil)), "report rejected")
	b.lines, b.every = 3, time.Second
	b.now = func() time.Time { return now }
	b.after = func(d time.Duration, f func()) { delays = append(delays, d); scheduled = append(scheduled, f) }

	allowed := 0
	for range 10 {
		if b.allow() {
			allowed++
		}
		now = now.Add(10 * time.Millisecond)
	}
	if allowed != 3 || len(scheduled) != 1 || delays[0] != 970*time.Millisecond {
		t.Fatalf("first interval: %d allowed, %d summaries scheduled (in %v), want 3 and 1 in 970ms", allowed, len(scheduled), delays)
	}
	scheduled[0]()
	if got := summaries(t, logs.String()); got["report rejected"] != 7 {
		t.Errorf("summary %v, want 7 suppressed", got)
	}
	scheduled[0]() // a late timer logs nothing more
	if n := strings.Count(logs.String(), "log lines suppressed"); n != 1 {
		t.Errorf("%d summaries, want 1", n)
	}

	// The next interval starts afresh; when its next line comes before
	// the timer, that line's arrival logs the summary.
	now = now.Add(time.Second)
	allowed = 0
	for range 5 {
		if b.allow() {
			allowed++
		}
	}
	now = now.Add(time.Second)
	if !b.allow() || allowed != 3 {
		t.Errorf("second interval: %d allowed; third refused", allowed)
	}
	if got := summaries(t, logs.String()); got["report rejected"] != 9 {
		t.Errorf("summaries %v, want 7+2 suppressed", got)
	}
	// A clock going back starts a new interval rather than stalling.
	now = now.Add(-time.Hour)
	if !b.allow() {
		t.Errorf("refused after the clock went back")
	}
}

// summaries sums the "suppressed" of the summary lines (of a text
// handler), by kind.
func summaries(t *testing.T, logs string) map[string]int {
	t.Helper()
	got := map[string]int{}
	for _, m := range summaryRE.FindAllStringSubmatch(logs, -1) {
		n, err := strconv.Atoi(m[2])
		if err != nil {
			t.Fatal(err)
		}
		got[m[1]] += n
	}
	return got
}

var summaryRE = regexp.MustCompile(`msg="log lines suppressed" kind="([^"]*)" suppressed=(\d+) `)

// countLines counts the log lines (of a text handler) whose msg is msg.
func countLines(logs, msg string) int {
	return strings.Count(logs, "msg="+strconv.Quote(msg)+" ")
}

// waitSummaries waits until the lines of msg and the summaries of kind
// msg add up to want.
func waitSummaries(t *testing.T, logs *syncBuf, msg string, want int) (lines int) {
	t.Helper()
	deadline := time.Now().Add(3 * logBudgetEvery)
	for {
		lines = countLines(logs.String(), msg)
		if got := lines + summaries(t, logs.String())[msg]; got == want {
			return lines
		} else if time.Now().After(deadline) {
			t.Fatalf("%d %q lines and summaries of %d suppressed, want %d in all", lines, msg, got-lines, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Reports without a valid enrollment token, as fast as a client can send
// them: the metrics count every one, the log holds a bounded number of
// lines and summaries that account for the rest.
func TestUnauthorizedLogBounded(t *testing.T) {
	var logs syncBuf
	e := newEnv(t, "sqlite", func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	const n = 300
	start := time.Now()
	for i := range n {
		auth := "Bearer not-a-token"
		if i%2 == 0 {
			auth = "" // no token at all
		}
		if resp := e.post(t, bytes.NewReader([]byte("{}")), map[string]string{"Authorization": auth, "Idempotency-Key": "x"}); resp.status != http.StatusUnauthorized {
			t.Fatalf("request %d: %d %s", i, resp.status, resp.body)
		}
	}
	intervals := int(time.Since(start)/logBudgetEvery) + 1
	lines := waitSummaries(t, &logs, "report rejected", n)
	if lines > logBudgetLines*intervals {
		t.Errorf("%d lines logged over %d intervals, want at most %d", lines, intervals, logBudgetLines*intervals)
	}
	if got := e.metricsLine(t, `avscout_collector_reports_rejected_total{reason="unauthorized"}`); !strings.HasSuffix(got, fmt.Sprintf(" %d", n)) {
		t.Errorf("metrics: %q, want %d unauthorized", got, n)
	}
}

// Wrong admin secrets from many addresses (each of 127.0.0.0/8 is a
// client of its own on Linux loopback), each within its free failures:
// the failGuard bounds lines per address only, the budget bounds them in
// all, and the metrics count every failure.
func TestAdminFailureLogBounded(t *testing.T) {
	var logs syncBuf
	e := newEnv(t, "sqlite", func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	const n = 250
	start := time.Now()
	for i := range n {
		src := net.IPv4(127, 1, byte(i/200), byte(1+i%200))
		client := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: src}}).DialContext}}
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, e.srv.URL+"/v1/summary", nil)
		req.Header.Set("Authorization", "Bearer wrong-secret-0123456789")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		client.CloseIdleConnections()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("from %s: %d", src, resp.StatusCode)
		}
	}
	intervals := int(time.Since(start)/logBudgetEvery) + 1
	lines := waitSummaries(t, &logs, "admin authentication failed", n)
	if lines > logBudgetLines*intervals {
		t.Errorf("%d lines logged over %d intervals, want at most %d", lines, intervals, logBudgetLines*intervals)
	}
	if got := e.metricsLine(t, "avscout_collector_admin_auth_failures_total "); got != fmt.Sprintf("avscout_collector_admin_auth_failures_total %d", n) {
		t.Errorf("metrics: %q, want %d failures", got, n)
	}
}
