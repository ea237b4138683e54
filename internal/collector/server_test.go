package collector

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/collector/internal/fleettest"
	"github.com/avscout/avscout/internal/collector/store"
)

func TestAdminAuth(t *testing.T) {
	dash := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if _, err := w.Write([]byte("<h1>dashboard " + r.URL.Path + "</h1>")); err != nil {
			t.Error(err)
		}
	})
	e := newEnv(t, "sqlite", func(o *Options) { o.Dashboard = dash })
	basic := func(user, pass string) string {
		req, _ := http.NewRequest(http.MethodGet, "/", nil)
		req.SetBasicAuth(user, pass)
		return req.Header.Get("Authorization")
	}
	for _, tt := range []struct {
		name, path, auth string
		status           int
		challenge        string
	}{
		{"api_bearer", "/v1/hosts", "Bearer " + adminToken, 200, ""},
		{"api_bearer_lowercase_scheme", "/v1/hosts", "bearer " + adminToken, 200, ""},
		{"api_basic", "/v1/hosts", basic("anyone", adminToken), 200, ""},
		{"api_none", "/v1/hosts", "", 401, "Bearer"},
		{"api_wrong", "/v1/hosts", "Bearer " + adminToken + "x", 401, "Bearer"},
		{"api_prefix", "/v1/hosts", "Bearer " + adminToken[:len(adminToken)-1], 401, "Bearer"},
		{"api_enrollment_token", "/v1/hosts", "Bearer " + e.token, 401, "Bearer"},
		{"api_basic_wrong", "/v1/summary", basic(adminToken, "nope"), 401, "Bearer"},
		{"export_none", "/v1/export", "", 401, "Bearer"},
		{"host_none", "/v1/hosts/x", "", 401, "Bearer"},
		{"metrics_none", "/metrics", "", 401, "Bearer"},
		{"metrics_bearer", "/metrics", "Bearer " + adminToken, 200, ""},
		{"dashboard_none", "/", "", 401, "Basic"},
		{"dashboard_page_none", "/hosts/x", "", 401, "Basic"},
		{"dashboard_basic", "/hosts/x", basic("admin", adminToken), 200, ""},
		{"healthz_open", "/healthz", "", 200, ""},
		{"unknown_api", "/v1/nope", "Bearer " + adminToken, 404, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.getAs(t, tt.path, tt.auth)
			if resp.status != tt.status {
				t.Errorf("status %d, want %d: %s", resp.status, tt.status, resp.body)
			}
			if ch := resp.header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, tt.challenge) || (tt.challenge == "") != (ch == "") {
				t.Errorf("WWW-Authenticate %q, want %q…", ch, tt.challenge)
			}
			if resp.header.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no X-Content-Type-Options: nosniff")
			}
			csp := resp.header.Get("Content-Security-Policy")
			wantCSP := "default-src 'none'; frame-ancestors 'none'"
			if strings.HasPrefix(tt.name, "dashboard_basic") {
				wantCSP = "default-src 'self'" // the dashboard sets its own
			}
			if csp != wantCSP {
				t.Errorf("Content-Security-Policy %q, want %q", csp, wantCSP)
			}
			if tt.status == 401 && bytes.Contains(resp.body, []byte(adminToken)) {
				t.Error("401 echoes the credential")
			}
		})
	}
	if resp := e.getAs(t, "/hosts/x", basic("admin", adminToken)); string(resp.body) != "<h1>dashboard /hosts/x</h1>" {
		t.Errorf("dashboard got %q", resp.body)
	}

	// With a login page, a browser without a valid credential gets it,
	// still with the Basic challenge; other clients and the API keep JSON.
	login := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		if _, err := w.Write([]byte("<h1>log in</h1>")); err != nil {
			t.Error(err)
		}
	})
	e = newEnv(t, "sqlite", func(o *Options) { o.Dashboard, o.DashboardLogin = dash, login })
	for _, tt := range []struct {
		name, path, auth, accept string
		status                   int
		body                     string
	}{
		{"browser_none", "/", "", "text/html,application/xhtml+xml,*/*;q=0.8", 401, "<h1>log in</h1>"},
		{"browser_wrong", "/hosts/x", basic("admin", "wrong-secret-0123456789"), "TEXT/HTML", 401, "<h1>log in</h1>"},
		{"browser_ok", "/hosts/x", basic("anyone", adminToken), "text/html", 200, "<h1>dashboard /hosts/x</h1>"},
		{"curl_none", "/", "", "*/*", 401, `{"error":"admin credential required"}`},
		{"browser_api", "/v1/hosts", "", "text/html", 401, `{"error":"admin credential required"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, e.srv.URL+tt.path, nil)
			req.Header.Set("Accept", tt.accept)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp := do(t, req)
			if resp.status != tt.status || strings.TrimSpace(string(resp.body)) != tt.body {
				t.Errorf("%d %q, want %d %q", resp.status, resp.body, tt.status, tt.body)
			}
			if ch := resp.header.Get("WWW-Authenticate"); tt.status == 401 && tt.path != "/v1/hosts" && !strings.HasPrefix(ch, "Basic ") {
				t.Errorf("WWW-Authenticate %q, want the Basic challenge", ch)
			}
		})
	}

	// Without an admin credential the read API is closed, ingest is not.
	e = newEnv(t, "sqlite", func(o *Options) { o.AdminToken = "" })
	resp := e.getAs(t, "/v1/hosts", "Bearer ")
	if msg := resp.errorMessage(t); resp.status != http.StatusForbidden || !strings.Contains(msg, "--admin-token-file") {
		t.Errorf("no admin credential: %d %q", resp.status, msg)
	}
	e.mustSend(t, fleettest.Report(t, "debian-clean", "h", "h", t0))
	// Nor is a too short credential accepted.
	e = newEnv(t, "sqlite", func(o *Options) { o.AdminToken = "short" })
	if resp := e.getAs(t, "/v1/hosts", "Bearer short"); resp.status != http.StatusForbidden {
		t.Errorf("short admin credential: %d", resp.status)
	}
}

func TestMetrics(t *testing.T) {
	e := newEnv(t, "sqlite", nil)
	sendFleet(t, e)
	r := fleettest.Report(t, "debian-clean", "deb-clean", "deb-clean", now)
	e.mustSend(t, r)
	e.send(t, r)                                                              // duplicate
	e.post(t, strings.NewReader("x"), map[string]string{"Authorization": ""}) // unauthorized
	e.post(t, strings.NewReader("x"), map[string]string{"Idempotency-Key": "k"})

	resp := e.get(t, "/metrics")
	if resp.status != 200 || !strings.HasPrefix(resp.header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("/metrics: %d %s", resp.status, resp.header.Get("Content-Type"))
	}
	got := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(resp.body))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample line %q", line)
		}
		got[line[:i]] = v
	}
	for name, want := range map[string]float64{
		"avscout_collector_reports_ingested_total":                        8,
		"avscout_collector_reports_duplicate_total":                       1,
		`avscout_collector_reports_rejected_total{reason="unauthorized"}`: 1,
		`avscout_collector_reports_rejected_total{reason="bad_gzip"}`:     1,
		`avscout_collector_reports_rejected_total{reason="rate_limited"}`: 0,
		`avscout_collector_ingest_duration_seconds_bucket{le="+Inf"}`:     11,
		"avscout_collector_ingest_duration_seconds_count":                 11,
		`avscout_collector_hosts{state="restricted"}`:                     3,
		`avscout_collector_hosts{state="unprotected"}`:                    2,
		`avscout_collector_hosts{state="clean"}`:                          2,
		"avscout_collector_hosts_stale":                                   2,
	} {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", name, v, ok, want)
		}
	}
	if got["avscout_collector_ingest_duration_seconds_sum"] <= 0 {
		t.Error("latency sum is not positive")
	}
	// Buckets are cumulative.
	prev := -1.0
	for _, le := range latencyBuckets {
		v := got[`avscout_collector_ingest_duration_seconds_bucket{le="`+strconv.FormatFloat(le, 'g', -1, 64)+`"}`]
		if v < prev {
			t.Errorf("bucket %v = %v < %v", le, v, prev)
		}
		prev = v
	}
}

func TestHealthz(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d, nil)
			if resp := e.getAs(t, "/healthz", ""); resp.status != 200 || !strings.Contains(string(resp.body), `"ok"`) {
				t.Errorf("healthy: %d %s", resp.status, resp.body)
			}
			e.store.Close()
			if resp := e.getAs(t, "/healthz", ""); resp.status != http.StatusServiceUnavailable {
				t.Errorf("database closed: %d %s", resp.status, resp.body)
			}
			// With the database gone, agents are told to retry, not to give up.
			r := fleettest.Report(t, "debian-clean", "h", "h", t0)
			if resp := e.send(t, r); resp.status != http.StatusServiceUnavailable || resp.header.Get("Retry-After") == "" {
				t.Errorf("ingest with the database closed: %d %q %s", resp.status, resp.header.Get("Retry-After"), resp.body)
			}
			if resp := e.get(t, "/v1/hosts"); resp.status != http.StatusServiceUnavailable || strings.Contains(string(resp.body), "sql") {
				t.Errorf("hosts with the database closed: %d %s", resp.status, resp.body)
			}
		})
	}
}

// prunerFunc adapts a function to Pruner.
type prunerFunc func(ctx context.Context, keep time.Duration) (int64, error)

func (f prunerFunc) Prune(ctx context.Context, keep time.Duration) (int64, error) {
	return f(ctx, keep)
}

func TestRunRetention(t *testing.T) {
	e := newEnv(t, "sqlite", nil)
	old := fleettest.Report(t, "windows-kes-active", "h", "h", t0)
	e.mustSend(t, old)
	e.clock.Set(t0.Add(time.Hour))
	e.mustSend(t, fleettest.Report(t, "windows-clean", "h", "h", t0.Add(time.Hour)))
	e.clock.Set(t0.Add(500 * 24 * time.Hour))

	ctx, cancel := context.WithCancel(context.Background())
	calls := make(chan time.Duration, 10)
	p := prunerFunc(func(ctx context.Context, keep time.Duration) (int64, error) {
		n, err := e.store.Prune(ctx, keep)
		calls <- keep
		cancel() // one round is enough
		return n, err
	})
	done := make(chan struct{})
	go func() { RunRetention(ctx, p, 400*24*time.Hour, time.Hour, nil); close(done) }()
	<-done
	if keep := <-calls; keep != 400*24*time.Hour {
		t.Errorf("pruned with keep %v", keep)
	}
	if _, err := e.store.Report(context.Background(), old.ReportID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old report still there after retention: %v", err)
	}
	if st := e.stats(t); st.Reports != 1 || st.Hosts != 1 {
		t.Errorf("after retention: %+v, want the latest report and its host", st)
	}
}

// The handler works without a network too, for embedding.
func TestHandlerRecorder(t *testing.T) {
	e := newEnv(t, "sqlite", nil)
	h := New(Options{Store: e.store, AdminToken: adminToken}).Handler()
	req := httptest.NewRequest(http.MethodGet, "/v1/hosts", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"hosts":[]`) {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}
