package loadgen

import (
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/report"
)

func TestCheckLoopback(t *testing.T) {
	for _, tt := range []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8443", true},
		{"http://127.9.9.9", true},
		{"https://[::1]:8443/", true},
		{"http://localhost:1", true},
		{"http://10.0.0.1:8443", false},
		{"https://collector.example:8443", false},
		{"http://[::ffff:192.0.2.1]/", false},
	} {
		if err := CheckLoopback(tt.url); (err == nil) != tt.ok {
			t.Errorf("CheckLoopback(%q) = %v, want ok %v", tt.url, err, tt.ok)
		}
	}
	if _, err := Run(context.Background(), Config{URL: "http://192.0.2.1", Template: &report.Report{}}); err == nil {
		t.Error("Run to a non-loopback address: no error")
	}
}

// TestRun sends to a server that checks what an agent's request must
// carry (gzip, signature by the host's key over the uncompressed bytes,
// Idempotency-Key) and answers one report in ten 500.
func TestRun(t *testing.T) {
	var (
		mu    sync.Mutex
		keys  = map[string]string{} // host id → public key header
		seen  = map[string]bool{}
		fails int
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		raw, err := io.ReadAll(zr)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		var rep report.Report
		if err := json.Unmarshal(raw, &rep); err != nil || rep.ReportID != r.Header.Get("Idempotency-Key") {
			http.Error(w, "bad report or key", http.StatusBadRequest)
			return
		}
		pub, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(r.Header.Get("Avscout-Public-Key"), "ed25519:"))
		sig, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(r.Header.Get("Avscout-Signature"), "ed25519:"))
		if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, raw, sig) || r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if k, ok := keys[rep.Host.ID]; ok && k != r.Header.Get("Avscout-Public-Key") {
			http.Error(w, "key changed", http.StatusForbidden)
			return
		}
		keys[rep.Host.ID] = r.Header.Get("Avscout-Public-Key")
		if seen[rep.ReportID] {
			w.WriteHeader(http.StatusOK)
			return
		}
		seen[rep.ReportID] = true
		if len(seen)%10 == 0 {
			fails++
			http.Error(w, "boom", 500)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	tmpl := &report.Report{Host: report.Host{ID: "x"}, Products: []report.Product{{ID: "p", Version: "1"}}}
	res, err := Run(context.Background(), Config{URL: srv.URL, Token: "tok", Template: tmpl, Conns: 4, Count: 200, Hosts: 30,
		Start: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 200 || res.Accepted != 200-fails || res.Errors != fails || res.ByStatus[500] != fails || fails != 20 {
		t.Errorf("result %s; want 200 sent, 20 errors (500)", res)
	}
	if len(keys) != 30 || res.P50 <= 0 || res.P99 < res.P50 || res.Max < res.P99 || res.Rate() <= 0 {
		t.Errorf("%d hosts, result %s", len(keys), res)
	}
	// Bounded in time: a server that never answers stops the run.
	block := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer slow.Close()
	defer close(block)
	start := time.Now()
	res, err = Run(context.Background(), Config{URL: slow.URL, Template: tmpl, Conns: 2, Count: 10, Duration: 300 * time.Millisecond})
	if err != nil || res.Accepted != 0 || time.Since(start) > 10*time.Second {
		t.Errorf("against a server that does not answer: %s, %v after %v", res, err, time.Since(start))
	}
}
