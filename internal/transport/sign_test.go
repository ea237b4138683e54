package transport

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/agentkey"
	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/report/reporttest"
)

// verifyingCollector is a loopback collector that checks each report's
// signature as the protocol says: both headers "ed25519:" + standard
// base64, the 64-byte signature verifying the body after gzip decoding.
// It answers 201 to a valid signature and records what it saw; answer,
// when set, overrides the status and body (after the check).
type verifyingCollector struct {
	mu       sync.Mutex
	verified map[string]ed25519.PublicKey // report id → key it verified with
	bad      []string
	answer   func(id string) (status int, ctype, body string)
}

func newVerifyingCollector(t *testing.T) (*verifyingCollector, *httptest.Server) {
	c := &verifyingCollector{verified: map[string]ed25519.PublicKey{}}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return c, srv
}

func (c *verifyingCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("Idempotency-Key")
	fail := func(why string) {
		c.mu.Lock()
		c.bad = append(c.bad, id+": "+why)
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"error":"`+why+`","code":"bad_signature"}`)
	}
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		fail("not gzip")
		return
	}
	body, err := io.ReadAll(io.LimitReader(zr, 8<<20))
	if err != nil {
		fail("bad gzip")
		return
	}
	pub, err := decodeHeader(r.Header.Get(HeaderPublicKey), ed25519.PublicKeySize)
	if err != nil {
		fail("public key header: " + err.Error())
		return
	}
	sig, err := decodeHeader(r.Header.Get(HeaderSignature), ed25519.SignatureSize)
	if err != nil {
		fail("signature header: " + err.Error())
		return
	}
	if !ed25519.Verify(pub, body, sig) {
		fail("signature does not verify the uncompressed body")
		return
	}
	if rid, err := reporttest.ID(mustGzip(body)); err != nil || rid != id {
		fail("body is not report " + id)
		return
	}
	c.mu.Lock()
	c.verified[id] = ed25519.PublicKey(pub)
	answer := c.answer
	c.mu.Unlock()
	if answer != nil {
		status, ctype, text := answer(id)
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, text)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

func decodeHeader(v string, size int) ([]byte, error) {
	b64, ok := strings.CutPrefix(v, "ed25519:")
	if !ok {
		return nil, errors.New("no ed25519: prefix in " + v)
	}
	b, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil {
		return nil, err
	}
	if len(b) != size {
		return nil, errors.New("wrong size")
	}
	return b, nil
}

func mustGzip(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func (c *verifyingCollector) snapshot() (map[string]ed25519.PublicKey, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := make(map[string]ed25519.PublicKey, len(c.verified))
	for k, p := range c.verified {
		v[k] = p
	}
	return v, append([]string(nil), c.bad...)
}

// The signature covers the uncompressed bytes, also of a report made of
// several gzip members, and the key sent is the agent's key on disk.
func TestSendSigned(t *testing.T) {
	col, srv := newVerifyingCollector(t)
	stateDir := t.TempDir()
	signer := agentkey.NewSigner(stateDir, nil)
	c := newClient(t, Options{URL: srv.URL, Signer: signer})

	one := report.NewID()
	multi := report.NewID()
	whole := reporttest.Gzip(t, multi, 300)
	plain, err := gunzip(whole, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	// The same JSON split over two gzip members.
	twoMembers := append(mustGzip(plain[:40]), mustGzip(plain[40:])...)
	for id, gz := range map[string][]byte{one: reporttest.Gzip(t, one, 500), multi: twoMembers} {
		if err := c.Send(context.Background(), id, gz); err != nil {
			t.Fatalf("Send %s: %v", id, err)
		}
	}
	verified, bad := col.snapshot()
	if len(bad) > 0 || len(verified) != 2 {
		t.Fatalf("collector verified %d reports, refused %v", len(verified), bad)
	}
	onDisk, err := agentkey.Load(filepath.Join(stateDir, agentkey.FileName))
	if err != nil {
		t.Fatal(err)
	}
	for id, pub := range verified {
		if !pub.Equal(onDisk.PublicKey()) {
			t.Errorf("report %s signed with a key other than %s", id, onDisk.Fingerprint())
		}
	}
}

// Reports queued before the key existed (an agent upgraded with a full
// spool) go out signed: the key is made at the first send.
func TestQueuedBeforeKeyDeliversSigned(t *testing.T) {
	sq, _ := openSpool(t)
	ids := queue(t, sq, 3)
	stateDir := t.TempDir()
	keyFile := filepath.Join(stateDir, agentkey.FileName)
	if _, err := os.Stat(keyFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("key exists before the first send: %v", err)
	}
	col, srv := newVerifyingCollector(t)
	d := &Deliverer{Client: newClient(t, Options{URL: srv.URL, Signer: agentkey.NewSigner(stateDir, nil)}), Queue: sq}
	res := d.DrainOnce(context.Background())
	if res.Err != nil || res.Sent != 3 {
		t.Fatalf("DrainOnce = %+v", res)
	}
	verified, bad := col.snapshot()
	for _, id := range ids {
		if verified[id] == nil {
			t.Errorf("report %s not delivered with a valid signature (refused: %v)", id, bad)
		}
	}
	if _, err := agentkey.Load(keyFile); err != nil {
		t.Errorf("no key after the send: %v", err)
	}
}

// A collector refusing the signature: key_mismatch, bad_signature and
// unsigned keep the report (retryable, Hold) and say what to do; so does
// any other 403, which the collector does not send for a report (a proxy
// or WAF in front of it); other 4xx stay permanent.
func TestSendSignatureRefused(t *testing.T) {
	stateDir := t.TempDir()
	signer := agentkey.NewSigner(stateDir, nil)
	key, err := signer.Key()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, ctype, body string
		status            int
		hold              bool
		code              string
		reason            []string
	}{
		{"key_mismatch", "application/json", `{"error":"host is pinned to another key","code":"key_mismatch"}`, 403, true, CodeKeyMismatch,
			[]string{"HTTP 403 Forbidden: host is pinned to another key", "avscout-collector host rekey", key.Fingerprint(), "stay queued"}},
		{"key_mismatch_charset", "application/json; charset=utf-8", `{"code":"key_mismatch","error":"x"}`, 403, true, CodeKeyMismatch, []string{"host rekey"}},
		{"key_mismatch_long_error", "application/json", `{"error":"` + strings.Repeat("host 0123456789abcdef pinned to SHA256:x; ", 40) + `","code":"key_mismatch"}`,
			403, true, CodeKeyMismatch, []string{"host rekey"}},
		{"bad_signature", "application/json", `{"error":"signature does not verify","code":"bad_signature"}`, 403, true, CodeBadSignature,
			[]string{"could not verify", key.Fingerprint(), "stay queued"}},
		{"unsigned", "application/json", `{"error":"unsigned report","code":"unsigned"}`, 403, true, CodeUnsigned,
			[]string{"Avscout-Signature", "stay queued"}},
		// A 403 without one of the collector's codes comes from the
		// collector or something in front of it (a proxy, a WAF): held
		// too, the report is not at fault.
		{"other_403_code", "application/json", `{"error":"token revoked","code":"token_revoked"}`, 403, true, "token_revoked",
			[]string{"token revoked", "in front of it", "stay queued"}},
		{"403_text", "text/plain", `key_mismatch`, 403, true, "", []string{"in front of it", "stay queued"}},
		{"403_html", "text/html", `<h1>Access denied</h1>`, 403, true, "", []string{"HTTP 403 Forbidden", "in front of it"}},
		// A 401 is about the enrollment token, whatever its code says:
		// held (the token is fixed in the configuration), without the
		// signature advice.
		{"401_with_code", "application/json", `{"error":"no","code":"key_mismatch"}`, 401, true, CodeKeyMismatch, []string{"collector.token"}},
		{"hostile_code", "application/json", `{"error":"x","code":"key_mismatch\u001b[31m"}`, 403, true, "", []string{"in front of it"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			col, srv := newVerifyingCollector(t)
			col.answer = func(string) (int, string, string) { return tc.status, tc.ctype, tc.body }
			se := sendErr(t, newClient(t, Options{URL: srv.URL, Signer: signer}), context.Background())
			if se.Retryable != tc.hold || se.Hold != tc.hold || se.Code != tc.code {
				t.Fatalf("SendError = %+v, want Retryable and Hold %v, Code %q", se, tc.hold, tc.code)
			}
			for _, want := range tc.reason {
				if !strings.Contains(se.Reason, want) {
					t.Errorf("Reason %q lacks %q", se.Reason, want)
				}
			}
			if (tc.code != CodeKeyMismatch || tc.status != 403) && strings.Contains(se.Reason, "rekey") {
				t.Errorf("Reason %q gives rekey advice for a refusal that is not key_mismatch", se.Reason)
			}
		})
	}
}

// A held refusal through the deliverer (key_mismatch, or a 403 from a
// proxy or WAF in front of the collector, plain text without a code):
// nothing is dead-lettered, the pass stops at the first refusal (the same
// for all), the error is logged at error level, and Run waits the longest
// backoff.
func TestDeliverHoldsOn403(t *testing.T) {
	for _, tc := range []struct {
		name, ctype, body, code, reason string
	}{
		{"key_mismatch", "application/json", `{"error":"key mismatch for host","code":"key_mismatch"}`, CodeKeyMismatch, "avscout-collector host rekey"},
		{"waf_text", "text/plain; charset=utf-8", "Request blocked by policy. Incident id 4471.", "", "in front of it"},
		{"waf_html", "text/html", "<html><body><h1>403 Forbidden</h1></body></html>", "", "in front of it"},
	} {
		t.Run(tc.name, func(t *testing.T) { testDeliverHolds(t, tc.ctype, tc.body, tc.code, tc.reason) })
	}
}

func testDeliverHolds(t *testing.T, ctype, body, code, reason string) {
	sq, dir := openSpool(t)
	ids := queue(t, sq, 3)
	col, srv := newVerifyingCollector(t)
	col.answer = func(string) (int, string, string) { return 403, ctype, body }
	var logs bytes.Buffer
	var logMu sync.Mutex
	timers := make(chan fakeTimer, 1)
	results := make(chan Result, 4)
	d := &Deliverer{
		Client:   newClient(t, Options{URL: srv.URL, Signer: agentkey.NewSigner(t.TempDir(), nil)}),
		Queue:    sq,
		Backoff:  Backoff{Base: 10 * time.Millisecond, Max: 40 * time.Minute, Rand: func(n int64) int64 { return n - 1 }},
		Logger:   slog.New(slog.NewTextHandler(syncWriter{&logs, &logMu}, nil)),
		OnResult: func(r Result) { results <- r },
		After: func(d time.Duration) <-chan time.Time {
			c := make(chan time.Time, 1)
			timers <- fakeTimer{d, c}
			return c
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx, nil) }()
	for pass := range 2 {
		var ft fakeTimer
		select {
		case ft = <-timers:
		case <-time.After(30 * time.Second):
			t.Fatal("Run asked for no wait")
		}
		if ft.d != 40*time.Minute {
			t.Errorf("pass %d: Run waits %v after the 403, want the longest backoff 40m", pass, ft.d)
		}
		var r Result
		select {
		case r = <-results:
		case <-time.After(30 * time.Second):
			t.Fatalf("pass %d: no result (the queue was emptied?)", pass)
		}
		var se *SendError
		if r.Attempted != 1 || r.DeadLettered != 0 || !errors.As(r.Err, &se) || se.Code != code ||
			!strings.Contains(r.Err.Error(), reason) {
			t.Errorf("pass %d: Result %+v", pass, r)
		}
		if pass == 0 {
			ft.c <- time.Now()
		}
	}
	cancel()
	<-done
	if left := pending(t, sq); len(left) != len(ids) {
		t.Errorf("queue holds %v, want all %d reports kept", left, len(ids))
	}
	if dead := deadReasons(t, dir); len(dead) != 0 {
		t.Errorf("dead-lettered: %v", dead)
	}
	logMu.Lock()
	defer logMu.Unlock()
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "status=403") {
		t.Errorf("the 403 not logged at error level:\n%s", logs.String())
	}
}

// An unusable key file sends nothing and keeps the report; a report too
// large to sign is refused for good.
func TestSendKeyUnusableOrReportTooLarge(t *testing.T) {
	col, srv := newVerifyingCollector(t)
	if runtime.GOOS != "windows" {
		stateDir := t.TempDir()
		keyFile := filepath.Join(stateDir, agentkey.FileName)
		if err := os.WriteFile(keyFile, []byte("-----BEGIN PRIVATE KEY-----\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		se := sendErr(t, newClient(t, Options{URL: srv.URL, Signer: agentkey.NewSigner(stateDir, nil)}), context.Background())
		if !se.Retryable || !se.Hold || !errors.Is(se, agentkey.ErrNotPrivate) {
			t.Errorf("SendError with an open key file = %+v, want retryable, Hold, ErrNotPrivate", se)
		}
		if v, bad := col.snapshot(); len(v)+len(bad) != 0 {
			t.Errorf("a request was sent without a usable key")
		}
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(`{"report_id":"`))
	_, _ = zw.Write(make([]byte, MaxSignedSize))
	zw.Close()
	c := newClient(t, Options{URL: srv.URL, Signer: agentkey.NewSigner(t.TempDir(), nil)})
	err := c.Send(context.Background(), report.NewID(), buf.Bytes())
	var se *SendError
	if !errors.As(err, &se) || se.Retryable || !strings.Contains(err.Error(), "uncompressed") {
		t.Errorf("Send of a report inflating past %d bytes: %v, want a permanent refusal", MaxSignedSize, err)
	}
}
