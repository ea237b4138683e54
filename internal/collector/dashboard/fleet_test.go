package dashboard

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/collector/internal/fleettest"
	"github.com/avscout/avscout/internal/collector/store"
	"github.com/avscout/avscout/internal/report"
)

// testNow is the fleet's present: the store's clock and the dashboard's.
var testNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

const testStaleAfter = 48 * time.Hour

// Payloads an agent could put into any string of its report. None may
// ever run or become markup: each must show as the literal text.
const (
	xssScript  = `<script>window.__pwned=1</script>`
	xssImg     = `<img src=x onerror="window.__pwned=1">`
	xssSVG     = `"><svg onload=window.__pwned=1>`
	xssJSURL   = `javascript:window.__pwned=1`
	xssIframe  = `<iframe src="javascript:window.__pwned=1"></iframe>`
	xssCloseTD = `</td></tr></table><script>window.__pwned=1</script>`
)

// hostileID is the id of the hostile host: markup, and a path that a
// cleaning router would resolve to another host's page.
const hostileID = "../<script>window.__pwned=1</script>/../host-windows-clean"

// testHost is one host of the test fleet and what the test expects of it.
type testHost struct {
	ID, Hostname string
	Golden       string         // the golden report its latest report is made from; "" for the hostile host
	Latest       *report.Report // as ingested
	Received     time.Time
	Tags         map[string]string
}

// Expected state of a host, computed from its report as the contract
// (DESIGN.md) defines it: the verdict from products and sources, compliant
// exactly when the verdict is.
func (h testHost) verdict() string { return report.ComputeVerdict(h.Latest.Products, h.Latest.Sources) }

func (h testHost) compliant() bool { return h.verdict() == report.VerdictCompliant }

func (h testHost) state() string {
	switch h.verdict() {
	case report.VerdictNonCompliant:
		return store.HostRestricted
	case report.VerdictIncomplete:
		return store.HostIncomplete
	}
	for _, p := range h.Latest.Products {
		if p.State == report.StateActive && (p.Category == report.CategoryAntivirus || p.Category == report.CategoryEDR || p.Category == report.CategorySecuritySuite) {
			return store.HostClean
		}
	}
	return store.HostUnprotected
}

func (h testHost) stale() bool { return testNow.Sub(h.Latest.GeneratedAt) > testStaleAfter }

// defsStopped: a restricted product in use whose definitions stopped
// when its policy barred updates.
func (h testHost) defsStopped() bool {
	return slices.ContainsFunc(h.Latest.Products, func(p report.Product) bool {
		return p.Restricted && p.Policy != nil && (p.State == report.StateActive || p.State == report.StateInstalled) &&
			store.StoppedAtBan(p.DefinitionsDate, p.Policy.UpdatesEnded)
	})
}

func (h testHost) whiteLabel() bool {
	return slices.ContainsFunc(h.Latest.Products, func(p report.Product) bool {
		return p.Restricted && p.WhiteLabel && (p.State == report.StateActive || p.State == report.StateInstalled)
	})
}

// testFleet is a real store filled with the agent's golden reports, one
// host each, plus one host whose every string is hostile, and the
// dashboard over it.
type testFleet struct {
	Store   *store.Store
	Handler http.Handler
	Hosts   []testHost
	Log     *bytes.Buffer // the dashboard's log
}

// staleGoldens are the hosts whose last report came in days ago.
var staleGoldens = map[string]bool{"darwin-clean": true, "debian-leftovers": true, "windows-leftovers": true}

// migratedGolden is the host that ran Kaspersky Endpoint Security, then
// moved to UltraAV: two reports, and a history between them.
const migratedGolden = "windows-ultraav-migrated"

// newFleet ingests the test fleet into a new SQLite store (a file under
// t.TempDir) and puts the dashboard over it.
func newFleet(t testing.TB) *testFleet {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "fleet.db"), store.Options{Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	f := &testFleet{Store: st, Log: &bytes.Buffer{}}
	ingest := func(r *report.Report, received time.Time) {
		if _, err := st.Ingest(ctx, store.Incoming{Report: r, Raw: fleettest.JSON(t, r), TokenID: "token-test", ReceivedAt: received}); err != nil {
			t.Fatalf("Ingest %s of %s: %v", r.ReportID, r.Host.ID, err)
		}
	}
	sites := map[string]string{"windows": "berlin", "darwin": "austin", "linux": "frankfurt"}
	for i, name := range fleettest.Names(t) {
		h := testHost{ID: "host-" + name, Hostname: name + ".corp.example", Golden: name}
		h.Received = testNow.Add(-time.Duration(i+1) * time.Hour)
		if staleGoldens[name] {
			h.Received = testNow.Add(-time.Duration(72+i) * time.Hour)
		}
		if name == migratedGolden {
			before := fleettest.Report(t, "windows-kes-active", h.ID, h.Hostname, h.Received.Add(-24*time.Hour))
			before.Tags = map[string]string{"site": "berlin"}
			ingest(before, h.Received.Add(-24*time.Hour))
		}
		h.Latest = fleettest.Report(t, name, h.ID, h.Hostname, h.Received.Add(-time.Minute))
		h.Tags = map[string]string{"site": sites[h.Latest.Host.OS], "owner": "it"}
		h.Latest.Tags = h.Tags
		ingest(h.Latest, h.Received)
		f.Hosts = append(f.Hosts, h)
	}
	// The hostile host reports twice, so that a hostile product name also
	// lands in its history.
	received := testNow.Add(-30 * time.Minute)
	first := hostileReport(t, received.Add(-2*time.Hour))
	ingest(first, received.Add(-2*time.Hour))
	latest := hostileReport(t, received.Add(-time.Minute))
	latest.Products = latest.Products[:1]
	ingest(latest, received)
	f.Hosts = append(f.Hosts, testHost{ID: hostileID, Hostname: latest.Host.Hostname, Latest: latest, Received: received, Tags: latest.Tags})

	logger := slog.New(slog.NewTextHandler(f.Log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.Handler, err = New(st, Options{StaleAfter: testStaleAfter, Now: func() time.Time { return testNow }, Logger: logger, Title: "Example Corp fleet"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return f
}

// hostileReport is a real report (an active Kaspersky Endpoint Security)
// with a payload in every string an agent controls.
func hostileReport(t testing.TB, at time.Time) *report.Report {
	r := fleettest.Report(t, "windows-kes-active", hostileID, xssScript+xssImg, at)
	r.Host.OSVersion = xssIframe
	r.Host.Arch = xssSVG
	r.Host.Root = xssJSURL
	r.Agent.CatalogVersion = xssImg
	r.Tags = map[string]string{
		"<b>site</b>": xssSVG,
		"link":        xssJSURL,
		xssScript:     "x",
	}
	p := &r.Products[0]
	p.Name = xssSVG + " Endpoint"
	p.Vendor = xssJSURL
	p.ID = "javascript:alert(1)"
	p.Version = xssImg
	p.Technology = xssScript
	p.WhiteLabel = true
	p.Policy = &report.Policy{Rule: xssSVG, Reason: xssCloseTD}
	p.Evidence = append(p.Evidence,
		report.Evidence{Source: xssImg, Kind: xssSVG, Value: xssScript, Location: xssJSURL},
		report.Evidence{Source: "paths", Kind: "path", Value: xssCloseTD, Location: xssIframe},
	)
	second := r.Products[0]
	second.Name = xssScript + " Removed Later"
	second.ID = "hostile-second"
	second.Evidence = []report.Evidence{{Source: "paths", Kind: "path", Value: "C:\\x", Location: "C:\\x"}}
	r.Products = append(r.Products, second)
	r.Sources = append(r.Sources, report.Source{Name: xssSVG, Status: xssScript, Items: 1, Error: xssCloseTD})
	return r
}

// host returns the test host with the id.
func (f *testFleet) host(t *testing.T, id string) testHost {
	t.Helper()
	for _, h := range f.Hosts {
		if h.ID == id {
			return h
		}
	}
	t.Fatalf("no test host %q", id)
	return testHost{}
}

// ids returns the ids of the hosts for which keep is true, sorted.
func (f *testFleet) ids(keep func(testHost) bool) []string {
	var ids []string
	for _, h := range f.Hosts {
		if keep(h) {
			ids = append(ids, h.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// get requests path from the dashboard and returns the response and its
// body.
func get(t *testing.T, h http.Handler, path string) (*http.Response, string) {
	t.Helper()
	return do(t, h, http.MethodGet, path, nil)
}

func do(t *testing.T, h http.Handler, method, path string, header http.Header) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

// wantSummary is the summary the test expects, computed from the
// reports as DESIGN.md defines compliance and the store defines states.
type wantSummary struct {
	Hosts, Compliant, Restricted, Incomplete, Unprotected, Stale, WhiteLabel int
	DefsStopped                                                              int
	Products                                                                 map[string]map[string]bool // restricted product in use -> host ids
	Names                                                                    map[string]string          // product id -> name
}

func (f *testFleet) summary() wantSummary {
	w := wantSummary{Hosts: len(f.Hosts), Products: map[string]map[string]bool{}, Names: map[string]string{}}
	for _, h := range f.Hosts {
		if h.compliant() {
			w.Compliant++
		}
		switch h.state() {
		case store.HostRestricted:
			w.Restricted++
		case store.HostIncomplete:
			w.Incomplete++
		case store.HostUnprotected:
			w.Unprotected++
		}
		if h.stale() {
			w.Stale++
		}
		if h.whiteLabel() {
			w.WhiteLabel++
		}
		if h.defsStopped() {
			w.DefsStopped++
		}
		for _, p := range h.Latest.Products {
			if p.Restricted && (p.State == report.StateActive || p.State == report.StateInstalled) {
				if w.Products[p.ID] == nil {
					w.Products[p.ID] = map[string]bool{}
				}
				w.Products[p.ID][h.ID] = true
				w.Names[p.ID] = p.Name
			}
		}
	}
	return w
}

// figures maps the ids of the summary's numbers to their expected text.
func (w wantSummary) figures() map[string]string {
	return map[string]string{
		"n-hosts":           strconv.Itoa(w.Hosts),
		"n-compliant":       percent(w.Compliant, w.Hosts),
		"n-compliant-hosts": strconv.Itoa(w.Compliant),
		"n-restricted":      strconv.Itoa(w.Restricted),
		"n-incomplete":      strconv.Itoa(w.Incomplete),
		"n-unprotected":     strconv.Itoa(w.Unprotected),
		"n-stale":           strconv.Itoa(w.Stale),
		"n-whitelabel":      strconv.Itoa(w.WhiteLabel),
		"n-defs-stopped":    strconv.Itoa(w.DefsStopped),
	}
}
