package collector

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/collector/internal/fleettest"
	"github.com/avscout/avscout/internal/collector/store"
)

// TestAccessLog: every admin read and export is in the audit log with the
// credential, the path and the query, before it is answered; requests
// without a credential and stylesheets are not; GET /v1/audit shows it.
func TestAccessLog(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d, nil)
			r := fleettest.Report(t, "debian-kaspersky", "h-1", "one", t0)
			e.mustSend(t, r)
			for _, path := range []string{
				"/v1/hosts?state=restricted&tag=site%3Dberlin",
				"/v1/export?format=csv",
				"/v1/reports/" + r.ReportID + "/raw",
			} {
				e.clock.Set(e.clock.Now().Add(time.Second)) // the log lists newest first, by time
				if resp := e.get(t, path); resp.status != http.StatusOK {
					t.Fatalf("%s: %d %s", path, resp.status, resp.body)
				}
			}
			if resp := e.getAs(t, "/v1/hosts?unlogged=1", ""); resp.status != http.StatusUnauthorized {
				t.Fatalf("no credential: %d", resp.status)
			}
			if resp := e.getAs(t, "/v1/hosts?unlogged=2", "Bearer "+e.token); resp.status != http.StatusUnauthorized {
				t.Fatalf("enrollment token: %d", resp.status)
			}

			e.clock.Set(e.clock.Now().Add(time.Second))
			var doc struct{ Entries []store.AuditEntry }
			resp := e.get(t, "/v1/audit?limit=10")
			if resp.status != http.StatusOK {
				t.Fatalf("audit: %d %s", resp.status, resp.body)
			}
			resp.json(t, &doc)
			type entry struct{ action, target, detail string }
			var got []entry
			for _, en := range doc.Entries {
				if en.Credential == "" || en.Remote == "" || en.At.IsZero() {
					t.Errorf("entry without credential, address or time: %+v", en)
				}
				got = append(got, entry{en.Action, en.Target, en.Detail})
			}
			want := []entry{ // newest first; the audit read itself is logged before it is answered
				{store.AuditRead, "/v1/audit", "limit=10"},
				{store.AuditExport, "/v1/reports/" + r.ReportID + "/raw", ""},
				{store.AuditExport, "/v1/export", "format=csv"},
				{store.AuditRead, "/v1/hosts", "state=restricted&tag=site%3Dberlin"},
			}
			if len(got) != len(want) {
				t.Fatalf("audit log %+v, want %+v", got, want)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("entry %d = %+v, want %+v", i, got[i], want[i])
				}
			}
			var exports struct{ Entries []store.AuditEntry }
			e.get(t, "/v1/audit?action=export").json(t, &exports)
			if len(exports.Entries) != 2 || exports.Entries[0].Target != "/v1/reports/"+r.ReportID+"/raw" {
				t.Errorf("action=export: %+v", exports.Entries)
			}
			var next struct{ Entries []store.AuditEntry }
			e.get(t, "/v1/audit?action=export&before="+exports.Entries[0].ID).json(t, &next)
			if len(next.Entries) != 1 || next.Entries[0].Target != "/v1/export" {
				t.Errorf("the page after the newest export: %+v", next.Entries)
			}
			if resp := e.get(t, "/v1/audit?limit=0"); resp.status != http.StatusBadRequest {
				t.Errorf("limit=0: %d", resp.status)
			}

		})
	}
}

// auditFails is a store whose audit log cannot be written while
// everything else works.
type auditFails struct{ Store }

func (auditFails) Audit(context.Context, store.AuditEntry) error {
	return errors.New("disk full")
}

// TestAccessLogFailClosed: a read that cannot be logged is refused;
// /metrics, which is not logged, is served.
func TestAccessLogFailClosed(t *testing.T) {
	e := newEnv(t, "sqlite", func(o *Options) { o.Store = auditFails{o.Store} })
	e.mustSend(t, fleettest.Report(t, "debian-kaspersky", "h-1", "one", t0))
	for _, path := range []string{"/v1/hosts", "/v1/export", "/v1/audit"} {
		if resp := e.get(t, path); resp.status != http.StatusServiceUnavailable || !strings.Contains(resp.errorMessage(t), "access log") {
			t.Errorf("%s with the access log failing: %d %s", path, resp.status, resp.body)
		}
	}
	if resp := e.get(t, "/metrics"); resp.status != http.StatusOK {
		t.Errorf("/metrics with the access log failing: %d", resp.status)
	}
}

func TestAccessAction(t *testing.T) {
	for path, want := range map[string]string{
		"/":                       store.AuditRead,
		"/hosts":                  store.AuditRead,
		"/v1/hosts/x":             store.AuditRead,
		"/v1/export":              store.AuditExport,
		"/v1/reports/x/raw":       store.AuditExport,
		"/v1/reports/x/signature": store.AuditExport,
		"/static/dashboard.css":   "",
	} {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, path, nil)
		got, ok := accessAction(req)
		if got != want || ok != (want != "") {
			t.Errorf("accessAction(%s) = %q, %v; want %q", path, got, ok, want)
		}
	}
}
