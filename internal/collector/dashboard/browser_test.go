package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/avscout/avscout/internal/collector/store"
	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/syncbuf"
)

// chromiumPath is the browser the tests drive: Debian's chromium package.
const chromiumPath = "/usr/bin/chromium"

// browserTimeout bounds the whole browser session so that a hung browser
// fails the test instead of blocking it; it is no performance threshold.
const browserTimeout = 6 * time.Minute

// TestBrowser drives the dashboard, served by a real HTTP server on
// loopback, with a real headless Chromium: one browser for the whole
// test, a new tab for each scenario.
func TestBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("headless Chromium is needed at %s (%v): install Debian package chromium", chromiumPath, err)
	}
	f := newFleet(t)
	mux := http.NewServeMux() // mounted at "/" as the collector does
	mux.Handle("/", f.Handler)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	var out syncbuf.Buffer
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests run as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(&out),
	)...)
	defer cancelAlloc()
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("starting %s: %v\n%s", chromiumPath, err, out.String())
	}
	defer func() {
		if t.Failed() {
			o := out.String()
			t.Logf("Chromium output (the end):\n%s", o[max(len(o)-4000, 0):])
		}
	}()

	b := &browser{ctx: browserCtx, base: srv.URL, shots: t.TempDir()}
	t.Run("summary_numbers", func(t *testing.T) { b.summaryNumbers(t, f) })
	t.Run("filter_form", func(t *testing.T) { b.filterForm(t, f) })
	t.Run("host_page_by_click", func(t *testing.T) { b.hostPageByClick(t, f) })
	t.Run("incomplete_hosts", func(t *testing.T) { b.incompleteHosts(t, f) })
	t.Run("hostile_report_inert", func(t *testing.T) { b.hostileInert(t, f) })
	t.Run("charts", func(t *testing.T) { b.charts(t, f) })
	t.Run("hostile_tags_in_charts", func(t *testing.T) { b.hostileTagCharts(t, f) })
	t.Run("without_javascript", func(t *testing.T) { b.withoutJavaScript(t, f) })
	t.Run("narrow_screen", func(t *testing.T) { b.narrowScreen(t) })
}

// browser is the shared browser and the server under test.
type browser struct {
	ctx   context.Context // the browser's first tab; scenarios open their own
	base  string          // the server's URL
	shots string          // screenshots, also copied to /tmp/dashboard-*.png
}

// tab opens a new tab for one scenario.
func (b *browser) tab(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	return ctx
}

// run runs one action and fails the test on error.
func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}

// open navigates to the dashboard path and checks the response status.
func (b *browser) open(t *testing.T, ctx context.Context, path string, status int64) {
	t.Helper()
	res := run(t, ctx, chromedp.NavigateResponse(b.base+path))
	if res == nil || res.Status != status {
		t.Fatalf("GET %s: response %+v, want status %d", path, res, status)
	}
}

// follow clicks the element and waits for the page it leads to.
func follow[S chromedp.Selectable](t *testing.T, ctx context.Context, sel S) {
	t.Helper()
	res, err := chromedp.RunResponse(ctx, chromedp.Click(sel))
	if err != nil {
		t.Fatalf("clicking %v: %v", sel, err)
	}
	if res == nil || res.Status != http.StatusOK {
		t.Fatalf("clicking %v led to %+v, want status 200", sel, res)
	}
}

// eval evaluates a JavaScript expression in the page (as the test
// driver: the dashboard itself has no script).
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	return run(t, ctx, chromedp.Evaluate[T](expr))
}

// texts returns the trimmed text of every element matching the CSS
// selector, in document order.
func texts(t *testing.T, ctx context.Context, css string) []string {
	t.Helper()
	sel, _ := json.Marshal(css)
	return eval[[]string](t, ctx, fmt.Sprintf(`Array.from(document.querySelectorAll(%s), e => e.innerText.trim())`, sel))
}

// screenshot saves a full-page PNG into the test's directory and a copy to
// /tmp/dashboard-<name>.png for people to look at.
// The whole page is taken unless another screenshot action is given.
func (b *browser) screenshot(t *testing.T, ctx context.Context, name string, shot ...chromedp.Action[[]byte]) {
	t.Helper()
	shot = append(shot, chromedp.FullScreenshot(100))
	png := run(t, ctx, shot[0])
	if len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Fatalf("screenshot %s is not a PNG", name)
	}
	for _, p := range []string{filepath.Join(b.shots, name+".png"), filepath.Join(os.TempDir(), "dashboard-"+name+".png")} {
		if err := os.WriteFile(p, png, 0o600); err != nil {
			t.Fatalf("saving screenshot: %v", err)
		}
	}
	t.Logf("screenshot: /tmp/dashboard-%s.png (%d bytes)", name, len(png))
}

// checkStyled checks that the stylesheet loaded under the
// Content-Security-Policy: the header bar has its colour.
func checkStyled(t *testing.T, ctx context.Context) {
	t.Helper()
	if bg := eval[string](t, ctx, `getComputedStyle(document.querySelector('header.top')).backgroundColor`); bg != "rgb(20, 33, 61)" {
		t.Errorf("header background %q: the stylesheet did not apply", bg)
	}
}

func (b *browser) summaryNumbers(t *testing.T, f *testFleet) {
	ctx := b.tab(t)
	b.open(t, ctx, "/", http.StatusOK)
	want := f.summary()
	for id, w := range want.figures() {
		if got := run(t, ctx, chromedp.Text(chromedp.ID(id))); strings.TrimSpace(got) != w {
			t.Errorf("#%s shows %q, want %q", id, got, w)
		}
	}
	rows := texts(t, ctx, "#restricted-products tbody tr")
	if len(rows) != len(want.Products) {
		t.Errorf("%d restricted product rows, want %d: %q", len(rows), len(want.Products), rows)
	}
	if top := want.Names["kaspersky-network-agent"]; len(rows) > 0 && !strings.HasPrefix(rows[0], top+"\t") {
		t.Errorf("first row %q, want the product on most hosts (%s) first", rows[0], top)
	}
	checkStyled(t, ctx)
	if title := run(t, ctx, chromedp.Title()); title != "Fleet summary · Example Corp fleet" {
		t.Errorf("title %q", title)
	}
	b.screenshot(t, ctx, "summary")

	// The restricted figure leads to exactly the restricted hosts.
	follow(t, ctx, chromedp.ID("card-restricted"))
	got := texts(t, ctx, "a.host")
	if len(got) != want.Restricted {
		t.Errorf("the restricted figure leads to %d hosts, want %d", len(got), want.Restricted)
	}
}

func (b *browser) filterForm(t *testing.T, f *testFleet) {
	ctx := b.tab(t)
	b.open(t, ctx, "/hosts", http.StatusOK)
	if n := len(texts(t, ctx, "a.host")); n != len(f.Hosts) {
		t.Fatalf("unfiltered list shows %d hosts, want %d", n, len(f.Hosts))
	}
	run(t, ctx, chromedp.SetValue(chromedp.ID("f-state"), store.HostRestricted))
	follow(t, ctx, chromedp.ID("f-submit"))

	loc := run(t, ctx, chromedp.Location())
	u, err := url.Parse(loc)
	if err != nil || u.Path != "/hosts" || u.Query().Get("state") != store.HostRestricted {
		t.Fatalf("the form went to %q, want /hosts?state=restricted…", loc)
	}
	var want []string
	for _, h := range f.Hosts {
		if h.state() == store.HostRestricted {
			want = append(want, h.Hostname)
		}
	}
	got := texts(t, ctx, "a.host")
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("restricted hosts listed:\n%q\nwant\n%q", got, want)
	}
	for _, badge := range texts(t, ctx, "#hosts td.state .badge:first-child") {
		if badge != "Restricted" {
			t.Errorf("a row of the restricted list has the state %q", badge)
		}
	}
	if v := run(t, ctx, chromedp.Value(chromedp.ID("f-state"))); v != store.HostRestricted {
		t.Errorf("the form forgot the filter: state select is %q", v)
	}
	if link := eval[string](t, ctx, `document.querySelector('#count a').getAttribute('href')`); link != "/v1/export?format=csv&state=restricted" {
		t.Errorf("CSV link %q, want the same filter", link)
	}
	b.screenshot(t, ctx, "hosts")
}

func (b *browser) hostPageByClick(t *testing.T, f *testFleet) {
	h := f.host(t, "host-debian-kaspersky")
	ctx := b.tab(t)
	b.open(t, ctx, "/hosts?search=debian-kaspersky", http.StatusOK)
	follow(t, ctx, chromedp.CSS("a.host"))

	if got := run(t, ctx, chromedp.Text(chromedp.ID("host-name"))); got != h.Hostname {
		t.Errorf("host page heading %q, want %q", got, h.Hostname)
	}
	var wantNames []string
	for _, p := range h.Latest.Products {
		wantNames = append(wantNames, p.Name)
	}
	names := texts(t, ctx, "article.product h3 .pname")
	if !slices.Equal(sorted(names), sorted(wantNames)) {
		t.Errorf("products shown %q, want %q", names, wantNames)
	}
	if len(names) > 0 && !strings.HasPrefix(names[0], "Kaspersky") {
		t.Errorf("first product %q: restricted products must come first", names[0])
	}
	for _, p := range h.Latest.Products {
		idx := slices.Index(names, p.Name)
		rows := texts(t, ctx, fmt.Sprintf("#p%d table.evidence tbody tr", idx))
		if len(rows) != len(p.Evidence) {
			t.Errorf("%s: %d evidence rows, want %d", p.Name, len(rows), len(p.Evidence))
		}
		all := strings.Join(rows, "\n")
		for _, e := range p.Evidence {
			for _, s := range []string{e.Source, e.Kind, e.Value, e.Location} {
				if !strings.Contains(all, s) {
					t.Errorf("%s: evidence %q not shown", p.Name, s)
				}
			}
		}
	}
	if n := len(texts(t, ctx, "#sources tbody tr")); n != len(h.Latest.Sources) {
		t.Errorf("%d source rows, want %d", n, len(h.Latest.Sources))
	}
	if hist := texts(t, ctx, "#history tbody tr"); len(hist) != 1 || !strings.Contains(hist[0], "First report") {
		t.Errorf("history %q, want one first report", hist)
	}
	checkStyled(t, ctx)
	b.screenshot(t, ctx, "host")
}

// incompleteHosts: a host whose scan could not see everything is its own
// state, never "Compliant": the summary counts it, its figure and the
// verdict filter list exactly such hosts, and its page says which source
// failed.
func (b *browser) incompleteHosts(t *testing.T, f *testFleet) {
	var want []string
	for _, h := range f.Hosts {
		if h.verdict() == report.VerdictIncomplete {
			want = append(want, h.Hostname)
		}
	}
	slices.Sort(want)
	if len(want) == 0 {
		t.Fatal("the test fleet has no incomplete host: this scenario proves nothing")
	}
	ctx := b.tab(t)
	b.open(t, ctx, "/", http.StatusOK)
	if got := run(t, ctx, chromedp.Text(chromedp.ID("n-incomplete"))); strings.TrimSpace(got) != strconv.Itoa(len(want)) {
		t.Errorf("incomplete figure %q, want %d", got, len(want))
	}
	follow(t, ctx, chromedp.ID("card-incomplete"))
	if got := sorted(texts(t, ctx, "a.host")); !slices.Equal(got, want) {
		t.Errorf("the incomplete figure leads to %q, want %q", got, want)
	}

	// The same hosts through the form's verdict filter, from the full list.
	b.open(t, ctx, "/hosts", http.StatusOK)
	run(t, ctx, chromedp.SetValue(chromedp.ID("f-verdict"), report.VerdictIncomplete))
	follow(t, ctx, chromedp.ID("f-submit"))
	loc := run(t, ctx, chromedp.Location())
	if u, err := url.Parse(loc); err != nil || u.Query().Get("verdict") != report.VerdictIncomplete {
		t.Fatalf("the form went to %q, want /hosts?…verdict=incomplete", loc)
	}
	if got := sorted(texts(t, ctx, "a.host")); !slices.Equal(got, want) {
		t.Errorf("verdict=incomplete lists %q, want %q", got, want)
	}
	for _, badge := range texts(t, ctx, "#hosts td.state .badge:first-child") {
		if badge != "Incomplete" {
			t.Errorf("a row of the incomplete list has the state %q", badge)
		}
	}
	if v := run(t, ctx, chromedp.Value(chromedp.ID("f-verdict"))); v != report.VerdictIncomplete {
		t.Errorf("the form forgot the verdict filter: %q", v)
	}
	b.screenshot(t, ctx, "incomplete-hosts")

	follow(t, ctx, chromedp.CSS("a.host"))
	verdict := run(t, ctx, chromedp.Text(chromedp.CSS("p.verdict")))
	if !strings.Contains(verdict, "Incomplete") || !strings.Contains(verdict, "dpkg") || strings.Contains(verdict, "Compliant") {
		t.Errorf("incomplete host page says %q, want Incomplete naming dpkg and never Compliant", verdict)
	}
	if rows := texts(t, ctx, "#sources tbody tr"); !slices.ContainsFunc(rows, func(r string) bool {
		return strings.HasPrefix(r, "dpkg") && strings.Contains(r, "Error") && strings.Contains(r, "not a regular file (a directory)")
	}) {
		t.Errorf("sources table does not show dpkg's error: %q", rows)
	}
	b.screenshot(t, ctx, "incomplete-host")
}

func (b *browser) hostileInert(t *testing.T, f *testFleet) {
	ctx := b.tab(t)
	h := f.host(t, hostileID)
	inert := func(where string) {
		t.Helper()
		if typ := eval[string](t, ctx, `typeof window.__pwned`); typ != "undefined" {
			t.Errorf("%s: a payload ran: window.__pwned is %s", where, typ)
		}
		if n := eval[int](t, ctx, `document.querySelectorAll('script,img,svg:not(svg.chart[id^="chart-"]),iframe,object,embed,b,foreignObject,use,image,animate,set').length`); n != 0 {
			t.Errorf("%s: %d elements made from payloads", where, n)
		}
		if n := eval[int](t, ctx, `document.querySelectorAll('[href^="javascript:" i],[src],[onload],[onerror]').length`); n != 0 {
			t.Errorf("%s: %d script addresses or handlers", where, n)
		}
	}
	visible := func(where string, want ...string) {
		t.Helper()
		body := eval[string](t, ctx, `document.body.innerText`)
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: the literal text %q is not visible", where, w)
			}
		}
	}

	b.open(t, ctx, "/", http.StatusOK)
	inert("summary")
	visible("summary", h.Latest.Products[0].Name)

	b.open(t, ctx, "/hosts?search="+url.QueryEscape("<script>"), http.StatusOK)
	inert("host list")
	visible("host list", h.Hostname, hostileID, xssIframe)
	if got := texts(t, ctx, "a.host"); !slices.Equal(got, []string{h.Hostname}) {
		t.Fatalf("search for <script> lists %q, want only the hostile host", got)
	}

	follow(t, ctx, chromedp.CSS("a.host"))
	inert("host page")
	if got := run(t, ctx, chromedp.Text(chromedp.ID("host-name"))); got != h.Hostname {
		t.Errorf("host page heading %q, want the hostile hostname as text %q", got, h.Hostname)
	}
	visible("host page", hostileID, xssIframe, xssSVG, xssJSURL, xssScript, xssImg, xssCloseTD,
		"<b>site</b>="+xssSVG, "link="+xssJSURL, "javascript:alert(1)", xssScript+" Removed Later")
	if title := run(t, ctx, chromedp.Title()); !strings.HasPrefix(title, xssScript) {
		t.Errorf("window title %q, want the hostname as text", title)
	}
	// The payload closing a table cell stays inside its cell.
	if cells := texts(t, ctx, "table.evidence td.val"); !slices.Contains(cells, xssCloseTD) {
		t.Errorf("evidence cells %q: the payload did not stay in one cell", cells)
	}
	b.screenshot(t, ctx, "hostile")

	b.open(t, ctx, "/hosts?state="+url.QueryEscape(xssScript), http.StatusBadRequest)
	inert("400 page")
	visible("400 page", xssScript)
	b.open(t, ctx, "/hosts/"+url.PathEscape(xssImg), http.StatusNotFound)
	inert("404 page")
	visible("404 page", `<img src=x onerror=\"window.__pwned=1\">`)
}

func (b *browser) withoutJavaScript(t *testing.T, f *testFleet) {
	ctx := b.tab(t)
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatalf("disabling JavaScript: %v", err)
	}
	// Prove that scripts are off in this tab: a page of its own that sets
	// its title from a script keeps the title it was written with.
	if err := chromedp.Do(ctx, chromedp.Navigate(`data:text/html,<title>static</title><script>document.title="ran"</script>`)); err != nil {
		t.Fatal(err)
	}
	if title := run(t, ctx, chromedp.Title()); title != "static" {
		t.Fatalf("scripts still run in the tab: title %q", title)
	}

	b.open(t, ctx, "/", http.StatusOK)
	// Follow the restricted figure, narrow by typing into the search field
	// and pressing the button: plain links and a plain GET form.
	follow(t, ctx, chromedp.ID("card-restricted"))
	run(t, ctx, chromedp.SendKeys(chromedp.ID("f-search"), "debian"))
	follow(t, ctx, chromedp.ID("f-submit"))
	loc := run(t, ctx, chromedp.Location())
	u, err := url.Parse(loc)
	if err != nil || u.Query().Get("state") != store.HostRestricted || u.Query().Get("search") != "debian" {
		t.Fatalf("without JavaScript the form went to %q, want state=restricted and search=debian", loc)
	}
	if got := texts(t, ctx, "a.host"); !slices.Equal(got, []string{f.host(t, "host-debian-kaspersky").Hostname}) {
		t.Errorf("without JavaScript the filtered list shows %q", got)
	}
	follow(t, ctx, chromedp.CSS("a.host"))
	if got := run(t, ctx, chromedp.Text(chromedp.ID("host-name"))); got != "debian-kaspersky.corp.example" {
		t.Errorf("without JavaScript the host link led to %q", got)
	}
	if n := len(texts(t, ctx, "article.product")); n != 4 {
		t.Errorf("without JavaScript the host page shows %d products, want 4", n)
	}
	checkStyled(t, ctx)
}

func (b *browser) narrowScreen(t *testing.T) {
	ctx := b.tab(t)
	run(t, ctx, chromedp.EmulateViewport(360, 740, chromedp.EmulateMobile))
	for _, path := range []string{"/", "/hosts", hostPath("host-debian-kaspersky"), hostPath(hostileID)} {
		b.open(t, ctx, path, http.StatusOK)
		// The page itself must not scroll sideways; wide tables scroll
		// inside their own box.
		over := eval[int](t, ctx, `document.documentElement.scrollWidth - document.documentElement.clientWidth`)
		if over > 0 {
			t.Errorf("%s on a 360 px screen is %d px too wide", path, over)
		}
	}
	b.open(t, ctx, "/hosts", http.StatusOK)
	run(t, ctx, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, document.getElementById('count').offsetTop)`))
	b.screenshot(t, ctx, "hosts-narrow", chromedp.CaptureScreenshot())
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
