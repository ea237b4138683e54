package collector

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/collector/internal/fleettest"
	"github.com/avscout/avscout/internal/collector/store"
	"github.com/avscout/avscout/internal/report"
)

// gz compresses s.
func gz(t testing.TB, s string) []byte { return fleettest.Gzip(t, []byte(s)) }

// reportJSON returns a valid report as a generic map, to break.
func reportJSON(t testing.TB) (string, map[string]any) {
	r := fleettest.Report(t, "debian-kaspersky", "h1", "deb", t0.Add(-time.Hour))
	var m map[string]any
	if err := json.Unmarshal(fleettest.JSON(t, r), &m); err != nil {
		t.Fatal(err)
	}
	return r.ReportID, m
}

func mustJSON(t testing.TB, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestIngestRejects(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d, func(o *Options) { o.MaxBody = 256 << 10; o.MaxWire = 64 << 10 })
			revokedID, revoked, err := e.store.CreateToken(context.Background(), "old")
			if err != nil {
				t.Fatal(err)
			}
			if err := e.store.RevokeToken(context.Background(), revokedID); err != nil {
				t.Fatal(err)
			}
			noise := make([]byte, 100<<10)
			rand.Read(noise)

			for _, tt := range []struct {
				name    string
				body    func(t *testing.T) []byte
				hdr     map[string]string // overrides; "" deletes
				status  int
				wantMsg string
			}{
				{"malformed_json", func(t *testing.T) []byte { return gz(t, `{"schema_version": 1,`) }, nil, 400, "not a JSON report"},
				{"not_an_object", func(t *testing.T) []byte { return gz(t, `[]`) }, nil, 400, "invalid report"},
				{"two_documents", func(t *testing.T) []byte {
					_, m := reportJSON(t)
					return gz(t, mustJSON(t, m)+mustJSON(t, m))
				}, nil, 400, "not a JSON report"},
				{"bad_state", func(t *testing.T) []byte {
					id, m := reportJSON(t)
					m["products"].([]any)[1].(map[string]any)["state"] = "running"
					m["report_id"] = id
					return gz(t, mustJSON(t, m))
				}, nil, 400, "products[1].state"},
				{"missing_host_os", func(t *testing.T) []byte {
					_, m := reportJSON(t)
					delete(m["host"].(map[string]any), "os")
					return gz(t, mustJSON(t, m))
				}, nil, 400, "host.os: required"},
				{"compliant_lie", func(t *testing.T) []byte {
					_, m := reportJSON(t)
					m["compliant"] = true
					return gz(t, mustJSON(t, m))
				}, nil, 400, "compliant"},
				{"store_limit", func(t *testing.T) []byte {
					_, m := reportJSON(t)
					m["host"].(map[string]any)["hostname"] = strings.Repeat("h", store.MaxTextLen+1)
					return gz(t, mustJSON(t, m))
				}, nil, 400, "host.hostname: longer than"},
				{"future", func(t *testing.T) []byte {
					_, m := reportJSON(t)
					m["generated_at"] = report.FormatTime(t0.Add(25 * time.Hour))
					return gz(t, mustJSON(t, m))
				}, nil, 400, "generated_at 2026-11-02T11:00:00Z is more than 5m0s in the future"},
				{"not_gzip", func(t *testing.T) []byte { return []byte(`{"a":1}`) }, nil, 400, "not gzip"},
				{"truncated_gzip", func(t *testing.T) []byte {
					_, m := reportJSON(t)
					b := gz(t, mustJSON(t, m))
					return b[:len(b)/2]
				}, nil, 400, "unexpected EOF"},
				{"trailing_garbage", func(t *testing.T) []byte {
					_, m := reportJSON(t)
					return append(gz(t, mustJSON(t, m)), "garbage!"...)
				}, nil, 400, "gzip"},
				{"over_wire_limit", func(t *testing.T) []byte { return noise }, map[string]string{"Content-Encoding": ""}, 413, "as sent"},
				{"over_body_limit", func(t *testing.T) []byte {
					_, m := reportJSON(t)
					m["padding"] = strings.Repeat("x", 300<<10)
					return gz(t, mustJSON(t, m))
				}, nil, 413, "uncompressed"},
				{"unknown_encoding", func(t *testing.T) []byte { return []byte("x") }, map[string]string{"Content-Encoding": "br"}, 415, `"br"`},
				{"wrong_content_type", func(t *testing.T) []byte { return []byte("x") }, map[string]string{"Content-Type": "text/plain"}, 415, "application/json"},
				{"no_content_type", func(t *testing.T) []byte { return []byte("x") }, map[string]string{"Content-Type": ""}, 415, "application/json"},
				{"no_token", func(t *testing.T) []byte { return []byte("x") }, map[string]string{"Authorization": ""}, 401, "enrollment token required"},
				{"bad_token", func(t *testing.T) []byte { return []byte("x") }, map[string]string{"Authorization": "Bearer avst_wrong"}, 401, "unknown or revoked"},
				{"basic_auth", func(t *testing.T) []byte { return []byte("x") }, map[string]string{"Authorization": "Basic YTpi"}, 401, "enrollment token required"},
				{"admin_token", func(t *testing.T) []byte { return []byte("x") }, map[string]string{"Authorization": "Bearer " + adminToken}, 401, "unknown or revoked"},
				{"revoked_token", func(t *testing.T) []byte { return []byte("x") }, map[string]string{"Authorization": "Bearer " + revoked}, 401, "unknown or revoked"},
				{"no_idempotency_key", func(t *testing.T) []byte {
					_, m := reportJSON(t)
					return gz(t, mustJSON(t, m))
				}, map[string]string{"Idempotency-Key": ""}, 400, "Idempotency-Key header required"},
				{"idempotency_key_mismatch", func(t *testing.T) []byte {
					_, m := reportJSON(t)
					return gz(t, mustJSON(t, m))
				}, map[string]string{"Idempotency-Key": "0f8fad5b-d9cb-469f-a165-70867728950e"}, 400, "does not match report_id"},
			} {
				t.Run(tt.name, func(t *testing.T) {
					body := tt.body(t)
					hdr := map[string]string{"Idempotency-Key": "set-below"}
					var m map[string]any
					if zr, err := gzip.NewReader(bytes.NewReader(body)); err == nil {
						if raw, err := io.ReadAll(zr); err == nil && json.Unmarshal(raw, &m) == nil {
							if id, ok := m["report_id"].(string); ok {
								hdr["Idempotency-Key"] = id
							}
						}
					}
					for k, v := range tt.hdr {
						hdr[k] = v
					}
					resp := e.post(t, bytes.NewReader(body), hdr)
					msg := resp.errorMessage(t)
					if resp.status != tt.status || !strings.Contains(msg, tt.wantMsg) {
						t.Errorf("got %d %q, want %d with %q", resp.status, msg, tt.status, tt.wantMsg)
					}
					if tt.status == 401 && !strings.HasPrefix(resp.header.Get("WWW-Authenticate"), "Bearer") {
						t.Errorf("401 without a Bearer challenge: %q", resp.header.Get("WWW-Authenticate"))
					}
					if st := e.stats(t); st.Reports != 0 || st.Hosts != 0 {
						t.Errorf("a rejected report was stored: %+v", st)
					}
				})
			}

			resp := e.getAs(t, "/v1/reports", "Bearer "+e.token)
			if resp.status != http.StatusMethodNotAllowed {
				t.Errorf("GET /v1/reports: %d, want 405", resp.status)
			}
		})
	}
}

func TestIngestIdempotentAPI(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d, nil)
			r := fleettest.Report(t, "windows-kes-active", "h1", "win1", t0)
			resp := e.send(t, r)
			var got ingestResponse
			resp.json(t, &got)
			if resp.status != http.StatusCreated || got != (ingestResponse{"stored", r.ReportID}) {
				t.Fatalf("first POST: %d %s", resp.status, resp.body)
			}
			before := e.stats(t)

			// The agent lost the answer and sends the same spool file again.
			resp = e.send(t, r)
			resp.json(t, &got)
			if resp.status != http.StatusOK || got != (ingestResponse{"duplicate", r.ReportID}) {
				t.Errorf("replay: %d %s, want 200 duplicate", resp.status, resp.body)
			}
			if after := e.stats(t); after != before {
				t.Errorf("replay stored something: %+v, was %+v", after, before)
			}

			// Same id, different content.
			other := *r
			other.DurationMS++
			resp = e.send(t, &other)
			if msg := resp.errorMessage(t); resp.status != http.StatusConflict || !strings.Contains(msg, "different content") {
				t.Errorf("same id, other content: %d %q, want 409", resp.status, msg)
			}
			if after := e.stats(t); after != before {
				t.Errorf("conflict stored something: %+v, was %+v", after, before)
			}

			// Uncompressed is accepted too (curl, proxies that inflate).
			plain := fleettest.Report(t, "windows-clean", "h1", "win1", t0.Add(time.Minute))
			resp = e.post(t, bytes.NewReader(fleettest.JSON(t, plain)), map[string]string{"Content-Encoding": "", "Idempotency-Key": plain.ReportID})
			if resp.status != http.StatusCreated {
				t.Errorf("uncompressed: %d %s", resp.status, resp.body)
			}
			// Up to 5 minutes ahead is clock skew, not a lie.
			skewed := fleettest.Report(t, "windows-clean", "h1", "win1", t0.Add(5*time.Minute))
			if resp := e.send(t, skewed); resp.status != http.StatusCreated {
				t.Errorf("5 minutes in the future: %d %s", resp.status, resp.body)
			}
			ahead := fleettest.Report(t, "windows-clean", "h1", "win1", t0.Add(5*time.Minute+time.Second))
			if resp := e.send(t, ahead); resp.status != http.StatusBadRequest {
				t.Errorf("5 minutes and a second in the future: %d %s", resp.status, resp.body)
			}
		})
	}
}

// A gzip bomb is refused after reading a sliver of it, through a real
// server and at the handler.
func TestGzipBomb(t *testing.T) {
	const inflated = 1 << 30 // 1 GiB of zeros; deflate cannot shrink that below ~1 MB
	bomb := func() (io.ReadCloser, *atomic.Int64, chan error) {
		pr, pw := io.Pipe()
		var written atomic.Int64
		done := make(chan error, 1)
		go func() {
			zw, _ := gzip.NewWriterLevel(countWriter{pw, &written}, gzip.BestCompression)
			zeros := make([]byte, 1<<20)
			var err error
			for i := 0; i < inflated/len(zeros) && err == nil; i++ {
				_, err = zw.Write(zeros)
			}
			if err == nil {
				err = zw.Close()
			}
			pw.CloseWithError(err)
			done <- err
		}()
		return pr, &written, done
	}

	e := newEnv(t, "sqlite", nil)
	body, _, done := bomb()
	resp := e.post(t, body, map[string]string{"Idempotency-Key": report.NewID()})
	if msg := resp.errorMessage(t); resp.status != http.StatusRequestEntityTooLarge || !strings.Contains(msg, "uncompressed") {
		t.Errorf("gzip bomb over HTTP: %d %q, want 413", resp.status, msg)
	}
	body.Close()
	// The writer ends when the reader is closed, or earlier when the
	// whole (small) compressed bomb fit in the transport's buffers.
	if err := <-done; err != nil && !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("gzip bomb writer: %v", err)
	}

	// At the handler: how much of the bomb did it read?
	st := e.store
	h := New(Options{Store: st, Now: e.clock.Now}).Handler()
	body, written, done := bomb()
	req := httptest.NewRequest(http.MethodPost, "/v1/reports", body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Idempotency-Key", report.NewID())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body.Close()
	if err := <-done; err != nil && !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("gzip bomb writer: %v", err)
	}
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("gzip bomb at the handler: %d %s", rec.Code, rec.Body)
	}
	// The pipe is unbuffered: what was written is what the handler read.
	if n := written.Load(); n > 256<<10 {
		t.Errorf("the handler read %d compressed bytes of the bomb: it inflated far past the limit", n)
	}
}

type countWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

func TestRateLimit(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d, func(o *Options) { o.Rate = 0.1; o.Burst = 2 })
			_, other, err := e.store.CreateToken(context.Background(), "other")
			if err != nil {
				t.Fatal(err)
			}
			for i := range 2 {
				e.mustSend(t, fleettest.Report(t, "debian-clean", "h1", "h1", t0.Add(time.Duration(i)*time.Minute)))
			}
			r := fleettest.Report(t, "debian-clean", "h1", "h1", t0.Add(3*time.Minute))
			resp := e.send(t, r)
			if resp.status != http.StatusTooManyRequests {
				t.Fatalf("third report in a burst of 2: %d %s", resp.status, resp.body)
			}
			if ra, err := strconv.Atoi(resp.header.Get("Retry-After")); err != nil || ra != 10 {
				t.Errorf("Retry-After %q, want 10 (one report at 0.1/s)", resp.header.Get("Retry-After"))
			}
			// Another token has its own bucket.
			r2 := fleettest.Report(t, "debian-clean", "h2", "h2", t0)
			resp = e.post(t, bytes.NewReader(fleettest.Gzip(t, fleettest.JSON(t, r2))),
				map[string]string{"Idempotency-Key": r2.ReportID, "Authorization": "Bearer " + other})
			if resp.status != http.StatusCreated {
				t.Errorf("other token: %d %s", resp.status, resp.body)
			}
			// Ten seconds later the agent's retry goes through.
			e.clock.Set(t0.Add(10 * time.Second))
			if resp := e.send(t, r); resp.status != http.StatusCreated {
				t.Errorf("after Retry-After: %d %s", resp.status, resp.body)
			}
		})
	}
}

func TestLimiter(t *testing.T) {
	c := &clock{t: t0}
	l := newLimiter(2, 3, c.Now)
	for i := range 3 {
		if ok, _ := l.allow("a"); !ok {
			t.Fatalf("request %d of a burst of 3 refused", i+1)
		}
	}
	ok, wait := l.allow("a")
	if ok || wait != time.Second {
		t.Errorf("4th: ok %v wait %v, want refused, 1s (the minimum)", ok, wait)
	}
	if ok, _ := l.allow("b"); !ok {
		t.Error("b refused: buckets are per key")
	}
	c.Set(t0.Add(500 * time.Millisecond)) // one token back at 2/s
	if ok, _ := l.allow("a"); !ok {
		t.Error("refused after refill")
	}
	if ok, _ := l.allow("a"); ok {
		t.Error("allowed beyond refill")
	}
	c.Set(t0.Add(time.Hour)) // refills to the burst, not beyond
	for i := range 4 {
		if ok, _ := l.allow("a"); ok != (i < 3) {
			t.Errorf("after an hour, request %d: ok %v", i+1, ok)
		}
	}
	for i := range maxBuckets + 10 {
		l.allow(strconv.Itoa(i))
	}
	if n := len(l.buckets); n > maxBuckets {
		t.Errorf("%d buckets kept, max %d", n, maxBuckets)
	}
}

// TestIngestRefusesReportsOlderThanHistory: once history is pruned, a
// replayed old report could no longer be told from a new one, and the
// current state follows received order; so a report generated before the
// retention window is refused, and one just inside it is stored.
func TestIngestRefusesReportsOlderThanHistory(t *testing.T) {
	const keep = 400 * 24 * time.Hour
	e := newEnv(t, "sqlite", func(o *Options) { o.MaxAge = keep })
	old := fleettest.Report(t, "debian-clean", "h1", "h1", t0.Add(-keep-time.Minute))
	resp := e.send(t, old)
	if msg := resp.errorMessage(t); resp.status != http.StatusBadRequest || !strings.Contains(msg, "older than the history kept") {
		t.Errorf("report older than the retention: %d %q, want 400", resp.status, msg)
	}
	inside := fleettest.Report(t, "debian-clean", "h1", "h1", t0.Add(-keep+time.Minute))
	if resp := e.send(t, inside); resp.status != http.StatusCreated {
		t.Errorf("report inside the retention: %d %s", resp.status, resp.body)
	}
}
