package dashboard

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/collector/internal/fleettest"
	"github.com/avscout/avscout/internal/collector/store"
	"github.com/avscout/avscout/internal/report"
)

var (
	tagRE     = regexp.MustCompile(`<[^>]*>`)
	tagNameRE = regexp.MustCompile(`^</?([a-zA-Z0-9]+)`)
	attrRE    = regexp.MustCompile(`\s([a-zA-Z][a-zA-Z0-9-]*)(?:="([^"]*)")?`)
)

// unsafeMarkup returns the first tag of the page that could run script,
// load something or style itself inline, or "". Agent strings are
// escaped text or quoted attribute values, so only the markup itself is
// looked at.
// chartSVG is the opening tag of a chart.
var chartSVG = regexp.MustCompile(`^<svg id="chart-[a-z]+" class="chart" viewBox="0 0 [0-9]+ [0-9]+" aria-labelledby="chart-[a-z]+-title" role="group">$`)

func unsafeMarkup(body string) string {
	for _, tag := range tagRE.FindAllString(body, -1) {
		if strings.HasPrefix(tag, "<!DOCTYPE") {
			continue
		}
		m := tagNameRE.FindStringSubmatch(tag)
		if m == nil {
			return tag
		}
		switch strings.ToLower(m[1]) {
		case "svg":
			// The charts, the only SVG there is: their opening tag has
			// one form, without anything from an agent.
			if tag != "</svg>" && !chartSVG.MatchString(tag) {
				return tag
			}
		case "script", "img", "iframe", "object", "embed", "base", "style", "frame", "math", "foreignobject", "use", "image", "animate", "set":
			return tag
		}
		rest := strings.TrimSuffix(tag[len(m[0]):], ">")
		for _, a := range attrRE.FindAllStringSubmatch(rest, -1) {
			name, value := strings.ToLower(a[1]), strings.ToLower(strings.TrimSpace(html.UnescapeString(a[2])))
			if strings.HasPrefix(name, "on") || name == "style" || name == "src" || name == "srcdoc" ||
				(name == "href" || name == "action") && !localRef(value) {
				return tag
			}
		}
		if strings.TrimSpace(attrRE.ReplaceAllString(rest, "")) != "" {
			return tag // something that is not a quoted attribute
		}
	}
	return ""
}

// localRef reports whether an address stays on the dashboard's origin.
func localRef(v string) bool {
	return strings.HasPrefix(v, "#") || strings.HasPrefix(v, "/") && !strings.HasPrefix(v, "//") && !strings.HasPrefix(v, "/\\")
}

// text returns the body with markup entities decoded, to look for agent
// strings as a reader sees them.
func text(body string) string { return html.UnescapeString(body) }

var (
	hostLinkRE = regexp.MustCompile(`<a class="host" href="([^"]+)"`)
	nextRE     = regexp.MustCompile(`<a href="([^"]+)" rel="next"`)
)

// listedIDs returns the ids of the hosts the list page links to, in
// order.
func listedIDs(t *testing.T, body string) []string {
	t.Helper()
	var ids []string
	for _, m := range hostLinkRE.FindAllStringSubmatch(body, -1) {
		u, err := url.Parse(html.UnescapeString(m[1]))
		if err != nil {
			t.Fatalf("host link %q: %v", m[1], err)
		}
		seg, ok := strings.CutPrefix(u.Path, "/hosts/")
		if !ok {
			t.Fatalf("host link %q is not under /hosts/", m[1])
		}
		id, ok := hostIDFromPath(seg)
		if !ok {
			t.Fatalf("host link %q has no host id", m[1])
		}
		ids = append(ids, id)
	}
	return ids
}

// byID returns the text of the element with the id, which must hold
// only text.
func byID(t *testing.T, body, id string) string {
	t.Helper()
	m := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `"[^>]*>([^<]*)<`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no element with id %q in the page", id)
	}
	return html.UnescapeString(m[1])
}

func wantStatus(t *testing.T, res *http.Response, body string, want int) {
	t.Helper()
	if res.StatusCode != want {
		t.Fatalf("status %d, want %d; body:\n%s", res.StatusCode, want, body)
	}
}

func TestSummaryPage(t *testing.T) {
	f := newFleet(t)
	res, body := get(t, f.Handler, "/")
	wantStatus(t, res, body, http.StatusOK)

	want := f.summary()
	if want.Hosts != 22 || want.Restricted != 11 || want.Incomplete != 1 || want.Stale != 3 || want.WhiteLabel != 3 {
		t.Fatalf("test fleet changed: %+v", want)
	}
	for id, want := range want.figures() {
		if got := byID(t, body, id); got != want {
			t.Errorf("#%s = %q, want %q", id, got, want)
		}
	}
	products, names := want.Products, want.Names
	if got := byID(t, body, "n-compliant"); got != "45.5 %" {
		t.Errorf("compliant share = %q, want 45.5 %% (10 of 22: the incomplete host is not compliant)", got)
	}
	for _, link := range []string{`href="/hosts?state=restricted"`, `href="/hosts?verdict=incomplete"`, `href="/hosts?state=unprotected"`, `href="/hosts?stale=true"`, `href="/hosts"`, `href="/v1/export?format=csv"`} {
		if !strings.Contains(body, link) {
			t.Errorf("summary has no link %s", link)
		}
	}
	if !strings.Contains(text(body), "not reported for 2 days") {
		t.Errorf("summary does not state the stale window")
	}

	// The restricted products table: every product in use, with its host
	// count linking to exactly those hosts.
	for id, hosts := range products {
		link := filterForm{State: store.HostRestricted, Product: id}.listURL(0)
		row := regexp.MustCompile(`<a href="` + regexp.QuoteMeta(html.EscapeString(link)) + `"[^>]*>(\d+)</a>`).FindStringSubmatch(body)
		if row == nil {
			t.Errorf("no row for restricted product %s (%s) linking to %s", id, names[id], link)
			continue
		}
		if row[1] != strconv.Itoa(len(hosts)) {
			t.Errorf("product %s: %s hosts, want %d", id, row[1], len(hosts))
		}
		if !strings.Contains(text(body), names[id]) {
			t.Errorf("product name %q missing", names[id])
		}
		_, list := get(t, f.Handler, link+"&limit=1000")
		var want []string
		for h := range hosts {
			want = append(want, h)
		}
		slices.Sort(want)
		got := listedIDs(t, list)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s lists %q, want %q", link, got, want)
		}
	}
	if n := len(products["kaspersky-network-agent"]); n != 3 {
		t.Errorf("kaspersky-network-agent on %d hosts, want 3 (darwin, debian, windows)", n)
	}
}

func TestSummaryEmptyFleet(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "empty.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := New(st, Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, body := get(t, h, "/")
	wantStatus(t, res, body, http.StatusOK)
	if got := byID(t, body, "n-hosts"); got != "0" {
		t.Errorf("hosts = %q, want 0", got)
	}
	if got := byID(t, body, "n-compliant"); got != "–" {
		t.Errorf("compliant share of no hosts = %q, want –", got)
	}
	if !strings.Contains(body, `id="no-restricted"`) {
		t.Errorf("empty fleet: want the no-restricted-product note")
	}
	if !strings.Contains(body, "<title>Fleet summary · avscout</title>") {
		t.Errorf("default title missing")
	}
	_, body = get(t, h, "/hosts")
	if !strings.Contains(body, "No host has reported yet.") {
		t.Errorf("empty host list: want a note that no host reported")
	}
}

func TestHostListFilters(t *testing.T) {
	f := newFleet(t)
	hasVendor := func(v string) func(testHost) bool {
		return func(h testHost) bool {
			return slices.ContainsFunc(h.Latest.Products, func(p report.Product) bool { return strings.EqualFold(p.Vendor, v) })
		}
	}
	tests := []struct {
		name  string
		query string
		want  func(testHost) bool
	}{
		{"all", "", func(testHost) bool { return true }},
		{"restricted", "state=restricted", func(h testHost) bool { return h.state() == store.HostRestricted }},
		{"incomplete", "state=incomplete", func(h testHost) bool { return h.state() == store.HostIncomplete }},
		{"verdict_incomplete", "verdict=incomplete", func(h testHost) bool { return h.verdict() == report.VerdictIncomplete }},
		{"verdict_non_compliant", "verdict=non_compliant", func(h testHost) bool { return h.verdict() == report.VerdictNonCompliant }},
		{"verdict_compliant", "verdict=compliant", func(h testHost) bool { return h.verdict() == report.VerdictCompliant }},
		{"unprotected", "state=unprotected", func(h testHost) bool { return h.state() == store.HostUnprotected }},
		{"clean", "state=clean", func(h testHost) bool { return h.state() == store.HostClean }},
		{"compliant", "compliant=true", testHost.compliant},
		{"not_compliant", "compliant=false", func(h testHost) bool { return !h.compliant() }},
		{"stale", "stale=true", testHost.stale},
		{"fresh", "stale=false", func(h testHost) bool { return !h.stale() }},
		{"vendor_any_case", "vendor=kaspersky", hasVendor("Kaspersky")},
		{"vendor_with_parens", "vendor=Cisco+Talos+%28ClamAV%29", hasVendor("Cisco Talos (ClamAV)")},
		{"product", "product=clamav", func(h testHost) bool {
			return slices.ContainsFunc(h.Latest.Products, func(p report.Product) bool { return p.ID == "clamav" })
		}},
		{"tag", "tag=site%3Dberlin", func(h testHost) bool { return h.Tags["site"] == "berlin" }},
		{"tag_key_only", "tag=owner", func(h testHost) bool { _, ok := h.Tags["owner"]; return ok }},
		{"search_any_case", "search=DARWIN", func(h testHost) bool { return strings.Contains(h.ID, "darwin") }},
		{"combined", "state=unprotected&tag=site%3Daustin&stale=false", func(h testHost) bool {
			return h.state() == store.HostUnprotected && h.Tags["site"] == "austin" && !h.stale()
		}},
		{"blank_form_fields", "state=&verdict=&compliant=&stale=&vendor=&product=&tag=&search=", func(testHost) bool { return true }},
		{"nothing", "search=no-such-host", func(testHost) bool { return false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := get(t, f.Handler, "/hosts?limit=1000&"+tt.query)
			wantStatus(t, res, body, http.StatusOK)
			want := f.ids(tt.want)
			got := listedIDs(t, body)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("listed %q\nwant   %q", got, want)
			}
			if tt.name != "all" && tt.name != "blank_form_fields" && len(want) == len(f.Hosts) {
				t.Errorf("filter %q selects every host: the test proves nothing", tt.query)
			}
			count := text(regexp.MustCompile(`(?s)<p class="count" id="count">(.*?)<a `).FindStringSubmatch(body)[1])
			if len(want) > 0 && !strings.Contains(count, fmt.Sprintf("of %d", len(want))) {
				t.Errorf("count %q does not say %d hosts", count, len(want))
			}
			if len(want) == 0 && !strings.Contains(body, "No host matches this filter.") {
				t.Errorf("empty result without a note")
			}
		})
	}

	// The form shows the filter it applied, and the CSV link carries it.
	_, body := get(t, f.Handler, "/hosts?state=restricted&vendor=Kaspersky&search=%22%3E%3Cb%3E")
	for _, want := range []string{
		`<option value="restricted" selected>Restricted</option>`,
		`id="f-vendor" name="vendor" type="text" value="Kaspersky"`,
		`value="&#34;&gt;&lt;b&gt;"`,
		`href="/v1/export?format=csv&amp;search=%22%3E%3Cb%3E&amp;state=restricted&amp;vendor=Kaspersky"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("filtered list lacks %s", want)
		}
	}
}

func TestHostListRows(t *testing.T) {
	f := newFleet(t)
	_, body := get(t, f.Handler, "/hosts?search=host-windows-kes-active")
	// The list shows when the scan ran; staleness counts from it.
	seen := newStamp(testNow, f.host(t, "host-windows-kes-active").Latest.GeneratedAt)
	for _, want := range []string{
		"windows-kes-active.corp.example",
		"host-windows-kes-active",
		`<span class="badge bad">Restricted</span>`,
		"Kaspersky Endpoint Security for Windows",
		`<time datetime="` + seen.ISO + `">` + seen.Rel + "</time>",
		seen.Abs,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("row lacks %q", want)
		}
	}
	_, body = get(t, f.Handler, "/hosts?search=host-darwin-other-vendors")
	for _, want := range []string{`<span class="badge good">Clean</span>`, "CrowdStrike Falcon", "SentinelOne"} {
		if !strings.Contains(body, want) {
			t.Errorf("clean row lacks %q", want)
		}
	}
	_, body = get(t, f.Handler, "/hosts?search=host-darwin-clean")
	for _, want := range []string{`<span class="badge warn">Unprotected</span>`, `<span class="badge warn">Stale</span>`, "3 days ago"} {
		if !strings.Contains(body, want) {
			t.Errorf("stale unprotected row lacks %q", want)
		}
	}
}

func TestHostListPaging(t *testing.T) {
	f := newFleet(t)
	var seen []string
	pages := 0
	for next := "/hosts?limit=4"; next != ""; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		res, body := get(t, f.Handler, next)
		wantStatus(t, res, body, http.StatusOK)
		ids := listedIDs(t, body)
		if len(ids) == 0 || len(ids) > 4 {
			t.Fatalf("page %s has %d hosts", next, len(ids))
		}
		from := pages*4 + 1
		if want := fmt.Sprintf("Hosts %d–%d of 22", from, from+len(ids)-1); !strings.Contains(body, want) {
			t.Errorf("page %s does not say %q", next, want)
		}
		if pages == 0 && strings.Contains(body, `rel="prev"`) {
			t.Errorf("first page has a previous link")
		}
		seen = append(seen, ids...)
		next = ""
		if m := nextRE.FindStringSubmatch(body); m != nil {
			next = html.UnescapeString(m[1])
		}
	}
	if pages != 6 {
		t.Errorf("%d pages of 4 for 21 hosts, want 6", pages)
	}
	sorted := slices.Clone(seen)
	slices.Sort(sorted)
	if want := f.ids(func(testHost) bool { return true }); !slices.Equal(sorted, want) {
		t.Errorf("pages listed %q, want every host once: %q", sorted, want)
	}
	// The worst hosts come first.
	if first := f.host(t, seen[0]); first.state() != store.HostRestricted {
		t.Errorf("first listed host %s is %s, want restricted first", first.ID, first.state())
	}
	if last := f.host(t, seen[len(seen)-1]); last.state() != store.HostClean {
		t.Errorf("last listed host %s is %s, want clean last", last.ID, last.state())
	}

	// Past the end: an empty page that says so and links back.
	res, body := get(t, f.Handler, "/hosts?limit=4&offset=100&state=restricted")
	wantStatus(t, res, body, http.StatusOK)
	if !strings.Contains(body, "This page is past the last host.") || !strings.Contains(body, `href="/hosts?limit=4&amp;offset=8&amp;state=restricted"`) {
		t.Errorf("page past the end lacks its note or a link to the last page (offset 8 of 11 restricted):\n%s", body)
	}
}

func TestHostListBadFilter(t *testing.T) {
	f := newFleet(t)
	tests := []struct {
		name, query, msg string
	}{
		{"state", "state=banned", `state: "banned" is not one of restricted, incomplete, unprotected, clean`},
		{"verdict", "verdict=fine", `verdict: "fine" is not one of compliant, non_compliant, incomplete`},
		{"compliant", "compliant=maybe", `compliant: "maybe" is not one of true, false`},
		{"limit", "limit=5000", `limit: "5000" is not a whole number from 1 to 1000`},
		{"offset", "offset=-4", `offset: "-4" is not a whole number`},
		{"tag", "tag=%3Dx", `tag: "=x" has no key`},
		{"twice", "stale=true&stale=false", "stale: given more than once"},
		{"hostile", "state=" + url.QueryEscape(xssScript), `state: "<script>window.__pwned=1</script>" is not one of`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := get(t, f.Handler, "/hosts?"+tt.query)
			wantStatus(t, res, body, http.StatusBadRequest)
			if msg := byID(t, body, "message"); !strings.Contains(msg, tt.msg) {
				t.Errorf("400 page says %q, want %q in it", msg, tt.msg)
			}
			if strings.Contains(body, "<script>") {
				t.Errorf("the bad value is echoed as markup")
			}
		})
	}
}

// TestHostPages opens every host's page and checks it against the
// report the host sent.
func TestHostPages(t *testing.T) {
	f := newFleet(t)
	for _, h := range f.Hosts {
		t.Run(h.ID, func(t *testing.T) {
			res, body := get(t, f.Handler, hostPath(h.ID))
			wantStatus(t, res, body, http.StatusOK)
			txt := text(body)
			if got := byID(t, body, "host-name"); got != h.Hostname {
				t.Errorf("heading %q, want the hostname %q", got, h.Hostname)
			}
			want := []string{h.Hostname, h.ID, h.Latest.Host.OSVersion, h.Latest.ReportID, h.Latest.Agent.CatalogVersion}
			for k, v := range h.Tags {
				want = append(want, k+"="+v)
			}
			for _, p := range h.Latest.Products {
				want = append(want, p.Name, p.Vendor, p.ID, p.Category, p.Confidence, "Evidence for "+p.Name)
				if p.Version != "" {
					want = append(want, p.Version)
				}
				if p.Policy != nil {
					want = append(want, p.Policy.Rule, p.Policy.Reason)
				}
				for _, e := range p.Evidence {
					want = append(want, e.Source, e.Kind, e.Value, e.Location)
				}
			}
			for _, s := range h.Latest.Sources {
				want = append(want, s.Name, s.Error)
			}
			for _, w := range want {
				if !strings.Contains(txt, w) {
					t.Errorf("host page lacks %q", w)
				}
			}
			if got, want := strings.Count(body, `<article class="product`), len(h.Latest.Products); got != want {
				t.Errorf("%d products shown, want %d", got, want)
			}
			if got, want := strings.Count(body, "<tr>")-strings.Count(body, "<thead><tr>"), countRows(h); got < want {
				t.Errorf("%d table rows, want at least %d (evidence, sources)", got, want)
			}
			if len(h.Latest.Products) == 0 && !strings.Contains(body, `id="no-products"`) {
				t.Errorf("a host without products needs a note saying so")
			}
		})
	}
}

// countRows is the number of evidence and source rows of h's page.
func countRows(h testHost) int {
	n := len(h.Latest.Sources)
	for _, p := range h.Latest.Products {
		n += max(len(p.Evidence), 1)
	}
	return n
}

func TestHostPageHistoryAndVerdict(t *testing.T) {
	f := newFleet(t)
	_, body := get(t, f.Handler, hostPath("host-"+migratedGolden))
	txt := text(body)
	history := regexp.MustCompile(`(?s)<table id="history">.*?</table>`).FindString(txt)
	for _, want := range []string{
		"First report",
		"Product removed", "Kaspersky Endpoint Security for Windows",
		"Product added", "UltraAV",
		"Compliance changed",
	} {
		if !strings.Contains(history, want) {
			t.Errorf("history lacks %q:\n%s", want, history)
		}
	}
	// Each entry links to the report that made it, as received.
	if n := strings.Count(history, `<a href="/v1/reports/`); n == 0 || !regexp.MustCompile(`<a href="/v1/reports/[0-9a-f-]{36}/raw"><code class="rid">`).MatchString(history) {
		t.Errorf("history entries do not link their reports (%d links):\n%s", n, history)
	}
	if strings.Index(history, "Product added") > strings.Index(history, "First report") {
		t.Errorf("history is not newest first")
	}
	for _, want := range []string{
		// UltraAV runs in the golden scan (its process is seen since the
		// matcher rewrite), so the host is clean.
		`<span class="badge good">Clean</span>`,
		"Compliant and protected.",
		"1 restricted leftover remains.",
		`href="/hosts?tag=site%3Dberlin"`,
		`href="/hosts?vendor=Pango&#43;Group"`,
		`href="/hosts?product=ultraav"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("migrated host page lacks %s", want)
		}
	}

	_, body = get(t, f.Handler, hostPath("host-windows-white-label"))
	for _, want := range []string{
		"Not compliant: 1 restricted product active or installed.",
		`<span class="badge bad">White-label</span>`,
		"yes, built on Kaspersky technology",
		"bis-icts-2021-002",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("white-label host page lacks %s", want)
		}
	}

	// KES's bases, dated the day before updates were barred.
	_, body = get(t, f.Handler, hostPath("host-windows-kes-active"))
	if !strings.Contains(body, `<span class="defs bad">2024-09-28</span> <span class="reason">stopped by 2024-09-29, when its policy barred updates</span>`) {
		t.Errorf("KES host page does not show its definitions stopped at the ban")
	}

	_, body = get(t, f.Handler, hostPath("host-windows-leftovers"))
	if !strings.Contains(body, `<span class="defs">2024-09-18</span>`) || strings.Contains(body, "defs bad") {
		t.Errorf("leftover host page: its old bases date is shown, not as stopped at the ban")
	}
	if !strings.Contains(body, `<span class="badge warn">Stale</span>`) || !strings.Contains(body, "Not scanned for more than 2 days.") {
		t.Errorf("stale host page does not say it is stale")
	}

	// The host whose dpkg database could not be read: incomplete, never
	// compliant, and the page says which source failed.
	_, body = get(t, f.Handler, hostPath("host-debian-incomplete"))
	for _, want := range []string{
		`<span class="badge warn">Incomplete</span>`,
		"Incomplete: no restricted product was found, but dpkg (error) could not look, so the scan cannot vouch for this host.",
		`<span class="badge bad">Error</span>`,
		"not a regular file (a directory)",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("incomplete host page lacks %s", want)
		}
	}
	if strings.Contains(body, "Compliant, but") || strings.Contains(body, "Compliant and protected") {
		t.Errorf("incomplete host page says it is compliant")
	}
}

func TestHostNotFound(t *testing.T) {
	f := newFleet(t)
	for _, path := range []string{
		"/hosts/no-such-host",
		"/hosts/~!!!",
		"/hosts/~",
		hostPath("host-windows-clean/x"),
		"/hosts/" + strings.Repeat("a", 300),
		"/hosts/",
		"/hosts/a/b",
		"/nowhere",
		"/static/other.css",
	} {
		t.Run(path[:min(len(path), 30)], func(t *testing.T) {
			res, body := get(t, f.Handler, path)
			wantStatus(t, res, body, http.StatusNotFound)
			if !strings.Contains(body, "<h1>404 · Not Found</h1>") {
				t.Errorf("404 page lacks its heading:\n%s", body)
			}
		})
	}
	_, body := get(t, f.Handler, "/hosts/"+url.PathEscape(xssImg))
	if msg := byID(t, body, "message"); !strings.Contains(msg, `No host with the id "<img src=x onerror=\"window.__pwned=1\">"`) {
		t.Errorf("404 page does not name the id, escaped:\n%s", body)
	}
}

// TestHostileReport checks, without a browser, that every payload is
// escaped on every page, and that the hostile host id opens its own page
// through a real server and router, not another host's.
func TestHostileReport(t *testing.T) {
	f := newFleet(t)
	payloads := []string{xssScript, xssImg, xssSVG, xssIframe, xssCloseTD}
	mux := http.NewServeMux() // as the collector mounts the dashboard
	mux.Handle("/", f.Handler)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	for _, path := range []string{"/", "/hosts", "/hosts?search=" + url.QueryEscape("<script>"), hostPath(hostileID)} {
		t.Run(path, func(t *testing.T) {
			res, err := client.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			_, err = buf.ReadFrom(res.Body)
			res.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			body := buf.String()
			wantStatus(t, res, body, http.StatusOK)
			if bad := unsafeMarkup(body); bad != "" {
				t.Errorf("page has unsafe markup: %s", bad)
			}
			if path == "/" {
				return
			}
			txt := text(body)
			for _, p := range payloads[:2] {
				if !strings.Contains(txt, p) {
					t.Errorf("page does not show the payload %q as text", p)
				}
			}
		})
	}

	res, body := get(t, f.Handler, hostPath(hostileID))
	wantStatus(t, res, body, http.StatusOK)
	txt := text(body)
	for _, p := range append(payloads, xssJSURL, "javascript:alert(1)", `<b>site</b>=`+xssSVG, xssScript+" Removed Later") {
		if !strings.Contains(txt, p) {
			t.Errorf("hostile host page does not show %q as text", p)
		}
	}
	if strings.Contains(body, "windows-clean.corp.example") {
		t.Errorf("the hostile id opened another host's page")
	}
	if !strings.Contains(text(regexp.MustCompile(`(?s)<table id="history">.*?</table>`).FindString(body)), xssScript+" Removed Later") {
		t.Errorf("the hostile product name is not in the history")
	}
}

func TestHeaders(t *testing.T) {
	f := newFleet(t)
	for _, tt := range []struct {
		path   string
		status int
		html   bool
	}{
		{"/", 200, true},
		{"/hosts", 200, true},
		{hostPath("host-debian-kaspersky"), 200, true},
		{"/hosts/nope", 404, true},
		{"/hosts?state=nope", 400, true},
		{"/nope", 404, true},
		{cssPath, 200, false},
	} {
		t.Run(tt.path, func(t *testing.T) {
			res, body := get(t, f.Handler, tt.path)
			wantStatus(t, res, body, tt.status)
			want := map[string]string{
				"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "no-referrer",
				"X-Frame-Options":         "DENY",
			}
			if tt.html {
				want["Content-Type"] = "text/html; charset=utf-8"
				want["Cache-Control"] = "no-store"
				want["Content-Length"] = strconv.Itoa(len(body))
			}
			for k, v := range want {
				if got := res.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestMarkup(t *testing.T) {
	f := newFleet(t)
	for _, path := range []string{"/", "/hosts", hostPath("host-debian-kaspersky"), hostPath("host-" + migratedGolden), "/hosts?limit=2", "/nope"} {
		t.Run(path, func(t *testing.T) {
			_, body := get(t, f.Handler, path)
			if !strings.HasPrefix(body, "<!DOCTYPE html>\n<html lang=\"en\">") {
				t.Errorf("page does not start with a doctype and a language")
			}
			if !strings.Contains(body, `<meta name="viewport" content="width=device-width, initial-scale=1">`) {
				t.Errorf("no viewport: unreadable on a phone")
			}
			if n, c := strings.Count(body, "<table"), strings.Count(body, "<caption"); n != c {
				t.Errorf("%d tables, %d captions", n, c)
			}
			for _, th := range regexp.MustCompile(`<th[ >][^>]*>?`).FindAllString(body, -1) {
				if !strings.Contains(th, "scope=") {
					t.Errorf("header cell without scope: %s", th)
				}
			}
			for _, m := range regexp.MustCompile(`<(?:input|select)[^>]*\bid="([^"]+)"`).FindAllStringSubmatch(body, -1) {
				if !strings.Contains(body, `<label for="`+m[1]+`">`) {
					t.Errorf("field #%s has no label", m[1])
				}
			}
			if bad := unsafeMarkup(body); bad != "" {
				t.Errorf("page has unsafe markup: %s", bad)
			}
			if !strings.Contains(body, `<main id="main"`) || !strings.Contains(body, `<nav aria-label="Main">`) {
				t.Errorf("landmarks missing")
			}
		})
	}
}

func TestStylesheet(t *testing.T) {
	f := newFleet(t)
	_, page := get(t, f.Handler, "/")
	m := regexp.MustCompile(`<link rel="stylesheet" href="([^"]+)">`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("page links no stylesheet")
	}
	href := html.UnescapeString(m[1])
	if !strings.HasPrefix(href, cssPath+"?v=") {
		t.Fatalf("stylesheet at %q, want %s?v=…", href, cssPath)
	}
	res, body := get(t, f.Handler, href)
	wantStatus(t, res, body, http.StatusOK)
	if body != string(stylesheet) || !strings.Contains(body, ".badge") {
		t.Errorf("served stylesheet differs from the embedded one")
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/css; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "private, max-age=31536000, immutable" {
		t.Errorf("versioned stylesheet Cache-Control %q, want it kept for good", cc)
	}
	etag := res.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	res, _ = do(t, f.Handler, http.MethodGet, cssPath, http.Header{"If-None-Match": {etag}})
	if res.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation: status %d, want 304", res.StatusCode)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "private, no-cache" {
		t.Errorf("unversioned stylesheet Cache-Control %q, want revalidation", cc)
	}
	if regexp.MustCompile(`(?i)@import|url\(|https?:`).MatchString(body) {
		t.Errorf("the stylesheet loads something from elsewhere")
	}
}

func TestMethods(t *testing.T) {
	f := newFleet(t)
	res, body := do(t, f.Handler, http.MethodHead, "/hosts", nil)
	wantStatus(t, res, body, http.StatusOK)
	for _, path := range []string{"/", "/hosts", hostPath("host-debian-clean")} {
		res, body := do(t, f.Handler, http.MethodPost, path, nil)
		wantStatus(t, res, body, http.StatusMethodNotAllowed)
		if res.Header.Get("Allow") == "" {
			t.Errorf("POST %s: 405 without Allow", path)
		}
	}
}

// TestServerError reads from a closed store: a real failure, which must
// give a 500 page that names nothing internal, and a log entry that does.
func TestServerError(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "closed.db")
	st, err := store.Open(context.Background(), dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	var log bytes.Buffer
	h, err := New(st, Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/", "/hosts", "/hosts/some-host"} {
		log.Reset()
		res, body := get(t, h, path)
		wantStatus(t, res, body, http.StatusInternalServerError)
		if !strings.Contains(body, "The details are in the collector&#39;s log.") {
			t.Errorf("%s: 500 page lacks its explanation:\n%s", path, body)
		}
		for _, leak := range []string{"sql", "closed", dsn, "closed.db"} {
			if strings.Contains(strings.ToLower(body), leak) {
				t.Errorf("%s: 500 page leaks %q", path, leak)
			}
		}
		if !strings.Contains(log.String(), "level=ERROR") || !strings.Contains(log.String(), "closed") {
			t.Errorf("%s: error not logged: %q", path, log.String())
		}
	}
}

func TestNewRejects(t *testing.T) {
	if _, err := New(nil, Options{}); err == nil {
		t.Error("New(nil) succeeded")
	}
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "x.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := New(st, Options{StaleAfter: -time.Hour}); err == nil {
		t.Error("New with a negative StaleAfter succeeded")
	}
}

// BenchmarkHostsPage renders the first page (50 hosts) of a fleet of
// 1,021 hosts from the real SQLite store.
func BenchmarkHostsPage(b *testing.B) {
	benchPage(b, 1000, "/hosts")
}

// BenchmarkHostsPageFiltered renders a filtered page of the same fleet.
func BenchmarkHostsPageFiltered(b *testing.B) {
	benchPage(b, 1000, "/hosts?vendor=kaspersky&stale=false&offset=100")
}

// BenchmarkHostPage renders the page of a host with three products and
// its history.
func BenchmarkHostPage(b *testing.B) {
	benchPage(b, 1000, hostPath("host-rocky-kaspersky"))
}

// BenchmarkSummaryPage renders the summary of the same fleet.
func BenchmarkSummaryPage(b *testing.B) {
	benchPage(b, 1000, "/")
}

// benchPage serves path from the test fleet grown by extra hosts.
func benchPage(b *testing.B, extra int, path string) {
	f := newFleet(b)
	names := fleettest.Names(b)
	for i := range extra {
		name := names[i%len(names)]
		id := fmt.Sprintf("bench-%04d-%s", i, name)
		r := fleettest.Report(b, name, id, id+".corp.example", testNow.Add(-time.Duration(i)*time.Minute))
		if _, err := f.Store.Ingest(context.Background(), store.Incoming{Report: r, Raw: fleettest.JSON(b, r), TokenID: "token-bench", ReceivedAt: r.GeneratedAt}); err != nil {
			b.Fatal(err)
		}
	}
	req := httptest.NewRequest(http.MethodGet, path, nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		f.Handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// TestUnsafeMarkup checks the checker the other tests rely on.
func TestUnsafeMarkup(t *testing.T) {
	safe := `<!DOCTYPE html><p class="x" id="y">a &lt;script&gt; onload=1 javascript:x</p><a href="/hosts?x=javascript:1" aria-label="&#34; onload=&#34;x">t</a><input type="search" value="&#34;&gt;&lt;svg onload=x&gt;" autocomplete="off">`
	if bad := unsafeMarkup(safe); bad != "" {
		t.Errorf("safe markup flagged: %s", bad)
	}
	for _, bad := range []string{
		`<script>x</script>`,
		`<SCRIPT src="/x.js">`,
		`<img src=x>`,
		`<svg onload=x>`,
		`<p onclick="x">`,
		`<a href="javascript:x">`,
		`<a href=" JavaScript:x">`,
		`<a href="https://evil.example/">`,
		`<p style="color:red">`,
		`<p x=unquoted>`,
		`<form action="//evil.example">`,
	} {
		if unsafeMarkup("<p>ok</p>"+bad) == "" {
			t.Errorf("unsafe markup not flagged: %s", bad)
		}
	}
}

// TestScanTimeAndArrival: a report an agent kept queued for three days
// arrives a minute ago; the host list shows when the scan ran and when
// it arrived, the host is stale, and its page links to the report as
// received and to its signature.
func TestScanTimeAndArrival(t *testing.T) {
	f := newFleet(t)
	late := fleettest.Report(t, "debian-clean", "host-late", "late.corp.example", testNow.Add(-72*time.Hour))
	if _, err := f.Store.Ingest(context.Background(), store.Incoming{Report: late, Raw: fleettest.JSON(t, late), TokenID: "token-test", ReceivedAt: testNow.Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	_, body := get(t, f.Handler, "/hosts?search=host-late")
	scan := newStamp(testNow, late.GeneratedAt)
	for _, want := range []string{
		`<time datetime="` + scan.ISO + `">3 days ago</time>`,
		`<span class="sub arrived">arrived 1 minute ago</span>`,
		`<span class="badge warn">Stale</span>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("host list lacks %s", want)
		}
	}
	_, body = get(t, f.Handler, hostPath("host-late"))
	for _, want := range []string{
		"Not scanned for more than 2 days.",
		`href="/v1/reports/` + late.ReportID + `/raw"`,
		`href="/v1/reports/` + late.ReportID + `/signature"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("host page lacks %s", want)
		}
	}
	// A report that arrived when it was made says nothing of its arrival.
	_, body = get(t, f.Handler, "/hosts?search=host-windows-kes-active")
	if strings.Contains(body, "arrived") {
		t.Error("a report received a minute after its scan is marked as arriving late")
	}
}
