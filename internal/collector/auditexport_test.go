package collector

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/agentkey"
	"github.com/avscout/avscout/internal/auditbundle"
	"github.com/avscout/avscout/internal/collector/internal/fleettest"
	"github.com/avscout/avscout/internal/collector/store"
)

// GET /v1/audit/export streams a bundle that verifies against the
// collector's key, holding the window's reports and its own access-log
// entry; it needs an admin credential, checks its window, and is off
// without a key.
func TestAuditExportAPI(t *testing.T) {
	seed := sha256.Sum256([]byte("collector"))
	key := benchKey{ed25519.NewKeyFromSeed(seed[:])}
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d, func(o *Options) { o.AuditKey = key })
			for i, golden := range []string{"debian-kaspersky", "debian-clean", "windows-kes-active"} {
				e.clock.Set(t0.Add(time.Duration(i) * time.Hour))
				e.mustSend(t, fleettest.Report(t, golden, "h"+golden[:3], golden, t0.Add(time.Duration(i)*time.Hour-time.Minute)))
			}
			e.clock.Set(t0.Add(5 * time.Hour))
			// The first report is before the window.
			resp := e.get(t, "/v1/audit/export?since="+t0.Add(30*time.Minute).Format(time.RFC3339)+"&until="+t0.Add(6*time.Hour).Format(time.RFC3339))
			if resp.status != http.StatusOK || resp.header.Get("Content-Type") != "application/x-tar" ||
				!strings.Contains(resp.header.Get("Content-Disposition"), "avscout-audit-") {
				t.Fatalf("export: %d %v %s", resp.status, resp.header, resp.body)
			}
			res, err := auditbundle.Verify(bytes.NewReader(resp.body), auditbundle.Options{CollectorKeys: []string{agentkey.Fingerprint(key.PublicKey())}})
			if err != nil || !res.OK() {
				t.Fatalf("bundle: %v %v", err, res.Faults)
			}
			if h := res.Header; h.Reports != 2 || h.FirstSeq != 2 || h.LastSeq != 3 || h.HeadSeq != 3 || h.Access != 1 || res.Unsigned != 2 {
				t.Errorf("bundle header %+v, unsigned %d; want entries 2-3, its own access entry", h, res.Unsigned)
			}
			for _, tt := range []struct {
				query, auth string
				want        int
			}{
				{"", "", http.StatusUnauthorized},
				{"?since=yesterday", "Bearer " + adminToken, http.StatusBadRequest},
				{"?since=2026-11-02&until=2026-11-01", "Bearer " + adminToken, http.StatusBadRequest},
			} {
				if r := e.getAs(t, "/v1/audit/export"+tt.query, tt.auth); r.status != tt.want {
					t.Errorf("export%s: %d, want %d: %s", tt.query, r.status, tt.want, r.body)
				}
			}
			off := newEnv(t, d, nil)
			if r := off.get(t, "/v1/audit/export"); r.status != http.StatusNotImplemented {
				t.Errorf("export without a key: %d %s", r.status, r.body)
			}
		})
	}
}

// An export of a store whose report was changed in the database after
// it was received carries the changed bytes, and verification names the
// report: the export does not hide what the database holds.
func TestAuditExportShowsChangedDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "avscout.db")
	st, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := fleettest.Report(t, "debian-clean", "h1", "web", t0.Add(-time.Minute))
	if _, err := st.Ingest(ctx, store.Incoming{Report: r, Raw: fleettest.JSON(t, r), TokenID: "tok", ReceivedAt: t0}); err != nil {
		t.Fatal(err)
	}
	// Forge the stored body as an intruder with database access would:
	// a valid gzip of other bytes.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	changed := *r
	changed.Host.Hostname = "forged"
	forged := fleettest.JSON(t, &changed)
	if _, err := db.ExecContext(ctx, "UPDATE reports SET body = $1 WHERE id = $2", fleettest.Gzip(t, forged), r.ReportID); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	seed := sha256.Sum256([]byte("collector"))
	if _, err := ExportAudit(ctx, st, AuditExport{Since: t0.Add(-time.Hour), Until: t0.Add(time.Hour), Key: benchKey{ed25519.NewKeyFromSeed(seed[:])}, TempDir: t.TempDir()}, &buf); err != nil {
		t.Fatal(err)
	}
	res, err := auditbundle.Verify(&buf, auditbundle.Options{})
	if err != nil || res.OK() || !strings.Contains(strings.Join(res.Faults, "\n"), "report "+r.ReportID+" (entry 1, host h1) changed") {
		t.Errorf("verify: %v, faults %v", err, res.Faults)
	}
}
