package collector

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/collector/internal/fleettest"
)

// trickle opens a connection to the collector, sends the headers of a
// report of 1 MB and then one byte every 100 ms, and returns the status
// line the collector answers (or the error that ended the connection)
// and when it came.
func (e *env) trickle(t *testing.T, id string) (<-chan string, func()) {
	t.Helper()
	u, err := url.Parse(e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /v1/reports HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nAuthorization: Bearer %s\r\n"+
		"Idempotency-Key: %s\r\nContent-Length: 1000000\r\n\r\n{", u.Host, e.token, id)
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := conn.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	status := make(chan string, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			status <- "error: " + err.Error()
			return
		}
		resp.Body.Close()
		status <- resp.Status
	}()
	return status, func() { close(stop); conn.Close() }
}

// Slow senders that hold every place at the gate are cut off once their
// body takes longer than BodyTimeout (408: the agent retries), and an
// honest report sent meanwhile gets through.
func TestSlowBodyCutOff(t *testing.T) {
	const timeout = 700 * time.Millisecond
	e := newEnv(t, "sqlite", func(o *Options) { o.MaxInflight = 2; o.BodyTimeout = timeout })
	start := time.Now()
	var slow []<-chan string
	for i := range 2 {
		st, stop := e.trickle(t, fmt.Sprintf("slow-%d", i))
		defer stop()
		slow = append(slow, st)
	}
	time.Sleep(100 * time.Millisecond) // both are at the gate

	r := fleettest.Report(t, "debian-kaspersky", "h1", "h1", t0)
	busy := 0
	for {
		resp := e.send(t, r)
		if resp.status == http.StatusCreated {
			break
		}
		if resp.status != http.StatusServiceUnavailable {
			t.Fatalf("honest report: %d %s", resp.status, resp.body)
		}
		busy++
		if time.Since(start) > 10*timeout {
			t.Fatalf("honest report still refused after %v (%d times 503): the slow senders hold the gate", time.Since(start), busy)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if busy == 0 {
		t.Errorf("the honest report was stored at once: the slow senders did not fill the gate")
	}
	for i, st := range slow {
		select {
		case got := <-st:
			if !strings.HasPrefix(got, "408 ") {
				t.Errorf("slow sender %d: %q, want 408", i, got)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("slow sender %d not answered", i)
		}
	}
	if waited := time.Since(start); waited < timeout {
		t.Errorf("slow senders cut off after %v, before the body timeout %v", waited, timeout)
	}
	if got := e.metricsLine(t, `avscout_collector_reports_rejected_total{reason="body_timeout"}`); !strings.HasSuffix(got, " 2") {
		t.Errorf("metrics: %q, want 2 body_timeout", got)
	}
}
