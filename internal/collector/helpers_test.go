package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/collector/internal/fleettest"
	"github.com/avscout/avscout/internal/collector/store"
	"github.com/avscout/avscout/internal/collector/store/pgtest"
	"github.com/avscout/avscout/internal/report"
)

// pg is this package's throwaway PostgreSQL server, started by the first
// test that needs it.
var pg = pgtest.New()

func TestMain(m *testing.M) {
	code := m.Run()
	pg.Stop()
	os.Exit(code)
}

var dialects = []string{"sqlite", "postgres"}

var t0 = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

const adminToken = "admin-secret-0123456789"

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// env is a collector on loopback over a fresh store.
type env struct {
	store   *store.Store
	clock   *clock
	srv     *httptest.Server
	token   string // an enrollment token's secret
	tokenID string
}

// newEnv starts a collector on a fresh database of the dialect; edit
// adjusts its options.
func newEnv(t testing.TB, dialect string, edit func(*Options)) *env {
	t.Helper()
	dsn := filepath.Join(t.TempDir(), "avscout.db")
	if dialect == "postgres" {
		dsn = pg.DSN(t)
	}
	c := &clock{t: t0}
	st, err := store.Open(context.Background(), dsn, store.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	// Unsigned reports are accepted here; keys_test.go turns that off.
	opts := Options{Store: st, AdminToken: adminToken, Now: c.Now, AllowUnsigned: true}
	if edit != nil {
		edit(&opts)
	}
	srv := httptest.NewServer(New(opts).Handler())
	t.Cleanup(srv.Close)
	id, secret, err := st.CreateToken(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	return &env{store: st, clock: c, srv: srv, token: secret, tokenID: id}
}

// response is what a test looks at in an answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response %d is not JSON: %v\n%s", r.status, err, r.body)
	}
}

// errorMessage returns the "error" of a JSON error body.
func (r response) errorMessage(t testing.TB) string {
	t.Helper()
	var e struct{ Error string }
	r.json(t, &e)
	return e.Error
}

func do(t testing.TB, req *http.Request) response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", req.Method, req.URL.Path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}

// post sends body to /v1/reports with the agent's headers; hdr
// overrides them ("" deletes one).
func (e *env) post(t testing.TB, body io.Reader, hdr map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/reports", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Authorization", "Bearer "+e.token)
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	return do(t, req)
}

// send posts r as the agent does: gzip JSON, its id as Idempotency-Key.
func (e *env) send(t testing.TB, r *report.Report) response {
	t.Helper()
	return e.post(t, bytes.NewReader(fleettest.Gzip(t, fleettest.JSON(t, r))), map[string]string{"Idempotency-Key": r.ReportID})
}

// mustSend posts r and fails t unless it is stored.
func (e *env) mustSend(t testing.TB, r *report.Report) {
	t.Helper()
	if resp := e.send(t, r); resp.status != http.StatusCreated {
		t.Fatalf("POST report %s of %s: %d %s", r.ReportID, r.Host.ID, resp.status, resp.body)
	}
}

// get fetches path (with its query) with the admin credential.
func (e *env) get(t testing.TB, path string) response {
	t.Helper()
	return e.getAs(t, path, "Bearer "+adminToken)
}

func (e *env) getAs(t testing.TB, path, authorization string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return do(t, req)
}

func (e *env) stats(t testing.TB) store.Stats {
	t.Helper()
	st, err := e.store.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}
