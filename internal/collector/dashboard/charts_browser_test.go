package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/avscout/avscout/internal/collector/store"
)

// chartLink is a link of a chart as the browser sees it: its address and
// the number it stands for.
type chartLink struct {
	Chart string `json:"chart"`
	Href  string `json:"href"`
	Label string `json:"label"` // aria-label: "N hosts …" for a bar, "value: N hosts" for a number
	Text  string `json:"text"`  // a number's text
}

// count is the number of hosts the link claims.
func (l chartLink) count(t *testing.T) int {
	t.Helper()
	s := l.Text
	if s == "" {
		s, _, _ = strings.Cut(l.Label, " ")
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		t.Fatalf("link %+v carries no number", l)
	}
	return n
}

// listed returns the hostnames the host list at path shows (all of them:
// the test fleet fits one page).
func (b *browser) listed(t *testing.T, ctx context.Context, path string) []string {
	t.Helper()
	b.open(t, ctx, path, http.StatusOK)
	if next := eval[int](t, ctx, `document.querySelectorAll('#next').length`); next != 0 {
		t.Fatalf("%s has more than one page", path)
	}
	return sorted(texts(t, ctx, "a.host"))
}

// charts: every number the charts and their tables show is the store's
// (the API's), and every link of a chart lists exactly the hosts counted.
func (b *browser) charts(t *testing.T, f *testFleet) {
	ctx := b.tab(t)
	b.open(t, ctx, "/", http.StatusOK)
	bg := context.Background()
	sum, trend, err := f.Store.SummaryTrend(bg, trendDays, testStaleAfter)
	if err != nil {
		t.Fatal(err)
	}
	byOS, err := f.Store.Breakdown(bg, store.ByOS, testStaleAfter)
	if err != nil {
		t.Fatal(err)
	}
	byVendor, err := f.Store.Breakdown(bg, store.ByVendor, testStaleAfter)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := f.Store.TagKeys(bg)
	if err != nil {
		t.Fatal(err)
	}
	byTag, err := f.Store.Breakdown(bg, store.ByTag+keys[0].Key, testStaleAfter)
	if err != nil {
		t.Fatal(err)
	}

	// The trend's table: one row a day, the numbers of the store.
	rows := cellTexts(t, ctx, "#trend-table tbody tr")
	if len(rows) != trendDays || len(trend) != trendDays {
		t.Fatalf("%d trend rows, %d days, want %d", len(rows), len(trend), trendDays)
	}
	for i, d := range trend {
		want := fmt.Sprintf("%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d", d.Day, d.Hosts, d.Compliant, d.Restricted, d.Incomplete, d.Unprotected, d.Clean, d.Stale)
		if i == len(trend)-1 {
			want = strings.Replace(want, d.Day, d.Day+" (now)", 1)
		}
		if rows[i] != want {
			t.Errorf("trend row %d: %q, want %q", i, rows[i], want)
		}
	}
	if today := trend[len(trend)-1]; today.Hosts != sum.Hosts || today.Hosts != len(f.Hosts) || today.Stale != sum.Stale {
		t.Errorf("today %+v, summary %+v", today, sum)
	}
	// Each chart table's rows: value, then hosts (and by state).
	for id, b := range map[string]store.Breakdown{"chart-os": byOS, "chart-tag": byTag} {
		rows := cellTexts(t, ctx, "#"+id+"-table tbody tr")
		var want []string
		for _, g := range b.Groups {
			want = append(want, fmt.Sprintf("%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d", g.Value, g.Hosts, g.Compliant, g.Restricted, g.Incomplete, g.Unprotected, g.Clean, g.Stale))
		}
		if !slices.Equal(rows, want) || len(rows) == 0 {
			t.Errorf("%s table %q, want %q", id, rows, want)
		}
	}
	var want []string
	for _, g := range byVendor.Groups {
		want = append(want, fmt.Sprintf("%s\t%d", g.Value, g.Hosts))
		for _, p := range g.Products {
			want = append(want, fmt.Sprintf("%s (%s)\t%d", p.Name, p.Value, p.Hosts))
		}
	}
	if rows := cellTexts(t, ctx, "#chart-vendors-table tbody tr"); !slices.Equal(rows, want) {
		t.Errorf("vendor table %q, want %q", rows, want)
	}

	// Every link of every chart, followed.
	links := eval[[]chartLink](t, ctx, `Array.from(document.querySelectorAll('svg.chart a'), a => ({
		chart: a.closest('svg').id, href: a.getAttribute('href'), label: a.getAttribute('aria-label') || '',
		text: a.querySelector('text') ? a.querySelector('text').textContent : ''}))`)
	perChart := map[string]int{}
	for _, l := range links {
		perChart[l.Chart]++
	}
	if perChart["chart-trend"] < 3 || perChart["chart-os"] < 6 || perChart["chart-tag"] < 2 || perChart["chart-vendors"] < 4 {
		t.Errorf("links per chart %v: too few to test", perChart)
	}
	b.screenshot(t, ctx, "charts")
	seen := map[string]int{}
	for _, l := range links {
		// A link seen before must claim the same number; it is not
		// followed again.
		if n, ok := seen[l.Href]; ok {
			if n != l.count(t) {
				t.Errorf("%q claims %d and %d hosts", l.Href, n, l.count(t))
			}
			continue
		}
		seen[l.Href] = l.count(t)
		u, err := url.Parse(l.Href)
		if err != nil || u.Path != "/hosts" || u.Host != "" {
			t.Errorf("%s links to %q, want the host list", l.Chart, l.Href)
			continue
		}
		got := b.listed(t, ctx, l.Href)
		if n := l.count(t); len(got) != n || n == 0 {
			t.Errorf("%s: %q says %d hosts, the list shows %d: %q", l.Chart, l.Href, n, len(got), got)
		}
		// The OS and tag links: exactly the hosts with that value.
		q := u.Query()
		if os, tag := q.Get("os"), q.Get("tag"); os != "" || tag != "" {
			k, v, _ := strings.Cut(tag, "=")
			var want []string
			for _, h := range f.Hosts {
				if (os == "" || h.Latest.Host.OS == os) && (tag == "" || h.Tags[k] == v && h.Tags != nil) &&
					(q.Get("state") == "" || h.state() == q.Get("state")) && (q.Get("stale") == "" || h.stale()) {
					want = append(want, h.Hostname)
				}
			}
			if !slices.Equal(got, sorted(want)) {
				t.Errorf("%s: %q lists %q, want %q", l.Chart, l.Href, got, sorted(want))
			}
		}
	}

	// The white-label figure leads to the white-label hosts.
	b.open(t, ctx, "/", http.StatusOK)
	follow(t, ctx, chromedp.ID("card-whitelabel"))
	var wl []string
	for _, h := range f.Hosts {
		if h.whiteLabel() {
			wl = append(wl, h.Hostname)
		}
	}
	if got := sorted(texts(t, ctx, "a.host")); !slices.Equal(got, sorted(wl)) || len(wl) == 0 {
		t.Errorf("the white-label figure leads to %q, want %q", got, sorted(wl))
	}

	// The definitions figure leads to the hosts whose restricted
	// product's definitions stopped when updates were barred.
	b.open(t, ctx, "/", http.StatusOK)
	follow(t, ctx, chromedp.ID("card-defs-stopped"))
	var stopped []string
	for _, h := range f.Hosts {
		if h.defsStopped() {
			stopped = append(stopped, h.Hostname)
		}
	}
	if got := sorted(texts(t, ctx, "a.host")); !slices.Equal(got, sorted(stopped)) || len(stopped) == 0 {
		t.Errorf("the definitions figure leads to %q, want %q", got, sorted(stopped))
	}

	// The host list shows tags, each a link to its hosts.
	b.open(t, ctx, "/hosts?search=debian-kaspersky", http.StatusOK)
	if tags := texts(t, ctx, "#hosts td.tags li"); !slices.Equal(tags, []string{"owner=it", "site=frankfurt"}) {
		t.Errorf("tags in the list %q", tags)
	}
	follow(t, ctx, chromedp.CSS(`#hosts td.tags a[href*="frankfurt"]`))
	var frankfurt []string
	for _, h := range f.Hosts {
		if h.Tags["site"] == "frankfurt" {
			frankfurt = append(frankfurt, h.Hostname)
		}
	}
	if got := sorted(texts(t, ctx, "a.host")); !slices.Equal(got, sorted(frankfurt)) {
		t.Errorf("the tag link lists %q, want %q", got, sorted(frankfurt))
	}
}

// hostileTagCharts: tag keys and values with markup and script addresses
// show as text in the charts and stay inert; their links list the hostile
// host.
func (b *browser) hostileTagCharts(t *testing.T, f *testFleet) {
	ctx := b.tab(t)
	h := f.host(t, hostileID)
	for key, value := range h.Tags {
		b.open(t, ctx, "/?tag="+url.QueryEscape(key), http.StatusOK)
		if typ := eval[string](t, ctx, `typeof window.__pwned`); typ != "undefined" {
			t.Errorf("tag %q: a payload ran", key)
		}
		if n := eval[int](t, ctx, `document.querySelectorAll('script,img,iframe,b,svg:not(svg.chart[id^="chart-"]),[onload],[onerror],[href^="javascript:" i],foreignObject').length`); n != 0 {
			t.Errorf("tag %q: %d elements or handlers made from payloads", key, n)
		}
		if title := eval[string](t, ctx, `document.querySelector('#chart-tag title').textContent`); title != "Hosts by tag "+key {
			t.Errorf("chart title %q, want the key as text", title)
		}
		label := eval[string](t, ctx, `document.querySelector('#chart-tag text.label title').textContent`)
		if label != value {
			t.Errorf("tag %q: the chart's label is %q, want the value %q as text", key, label, value)
		}
		if cur := eval[string](t, ctx, `document.querySelector('.tagkeys a[aria-current]').textContent`); cur != key {
			t.Errorf("current key %q, want %q", cur, key)
		}
		if strings.Contains(key, "=") {
			// No filter selects it (the filter splits at the first "="):
			// the chart shows the number without a link.
			if n := eval[int](t, ctx, `document.querySelectorAll('#chart-tag a').length`); n != 0 {
				t.Errorf("tag %q: %d links, want none", key, n)
			}
			continue
		}
		// The browser's own view of the link (a click on SVG is not
		// what this tests): its address, resolved as the browser does.
		href := eval[string](t, ctx, `document.querySelector('#chart-tag a').href.baseVal || document.querySelector('#chart-tag a').getAttribute('href')`)
		u, err := url.Parse(href)
		if err != nil || u.IsAbs() || u.Path != "/hosts" {
			t.Fatalf("tag %q: the chart links to %q", key, href)
		}
		b.open(t, ctx, href, http.StatusOK)
		if got := texts(t, ctx, "a.host"); !slices.Equal(got, []string{h.Hostname}) {
			t.Errorf("tag %q=%q: the chart's link lists %q, want the hostile host", key, value, got)
		}
	}
	b.screenshot(t, ctx, "hostile-tag-chart")
}

// cellTexts returns each row's cells' text, tab-separated, whether or not
// the rows are shown (a closed <details> hides them from innerText).
func cellTexts(t *testing.T, ctx context.Context, css string) []string {
	t.Helper()
	return eval[[]string](t, ctx, fmt.Sprintf(`Array.from(document.querySelectorAll(%q), tr => Array.from(tr.cells, c => c.textContent.trim()).join('\t'))`, css))
}
