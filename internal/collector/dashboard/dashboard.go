// Package dashboard serves the collector's web pages for people: the fleet
// at a glance with its charts (compliance over the last 30 days, the
// restricted hosts by vendor and product, the hosts by OS and by tag), a
// filterable list of hosts and one page per host with the products found
// and the evidence for each. Every figure and bar of the fleet as it is
// now links to the host list filtered to exactly the hosts it counts (the
// trend's past days have no such list: the list shows hosts as they are).
//
// It exists so that an admin or an auditor can answer "is Kaspersky gone,
// and is every host still protected?" with a browser and nothing else.
// The pages are rendered on the server and need no JavaScript, no build
// step and nothing from outside the collector: the stylesheet is embedded
// and served by the handler itself, and the charts are SVG written into
// the page (charts.go), coloured by the stylesheet's classes.
//
// Every string in a report was written by an agent and is hostile. Pages
// are made with html/template only, never mark agent data as safe HTML,
// and go out under a Content-Security-Policy that allows no script at
// all, so a hostname like "<script>…" shows as text and runs nowhere.
//
// The package only reads the fleet, through the small [Fleet] interface;
// it does not authenticate requests (the collector server puts it behind
// admin authentication) and it does not serve the JSON API or the CSV
// export, to which it links (/v1/…).
package dashboard

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/avscout/avscout/internal/collector/store"
	"github.com/avscout/avscout/internal/report"
)

// Fleet is what the dashboard reads: the collector's store, or anything
// that answers the same questions. Implementations must be safe for
// concurrent use; the dashboard calls them from many requests at once,
// with each request's context.
type Fleet interface {
	// Summary counts the fleet; hosts not seen within staleAfter are
	// stale.
	Summary(ctx context.Context, staleAfter time.Duration) (store.Summary, error)
	// Hosts returns one page of the hosts matching f. A filter the
	// implementation rejects gives an error wrapping [store.ErrInvalid].
	Hosts(ctx context.Context, f store.HostFilter) (store.HostPage, error)
	// Host returns one host with its latest report and history, or an
	// error wrapping [store.ErrNotFound].
	Host(ctx context.Context, id string, staleAfter time.Duration) (store.HostDetail, error)
	// SummaryTrend is Summary and the fleet at the end of each of the
	// last days days, the last being today as of now.
	SummaryTrend(ctx context.Context, days int, staleAfter time.Duration) (store.Summary, []store.TrendDay, error)
	// Breakdown splits the fleet by store.ByOS, store.ByVendor or
	// store.ByTag and a key.
	Breakdown(ctx context.Context, by string, staleAfter time.Duration) (store.Breakdown, error)
	// TagKeys lists the tag keys of the fleet, most hosts first.
	TagKeys(ctx context.Context) ([]store.TagKey, error)
}

// Options configure the dashboard. The zero value is usable.
type Options struct {
	// StaleAfter is how long a host may go unseen before it counts as
	// stale; zero means [store.DefaultStaleAfter]. It should be the value
	// the collector's API uses, so that both show the same numbers.
	StaleAfter time.Duration
	// Now is the clock for "3 hours ago"; nil means time.Now.
	Now func() time.Time
	// Logger receives errors reading the fleet; nil discards them.
	Logger *slog.Logger
	// Title names the site in headings and window titles; empty means
	// "avscout".
	Title string
}

// contentSecurityPolicy allows the page its own stylesheet and images and
// nothing else: no script of any origin, no frames, no foreign form
// targets.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// cssPath is where the stylesheet is served.
const cssPath = "/static/dashboard.css"

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/dashboard.css
var stylesheet []byte

// dashboard is the handler [New] returns.
type dashboard struct {
	fleet      Fleet
	staleAfter time.Duration
	now        func() time.Time
	log        *slog.Logger
	title      string
	pages      map[string]*template.Template // by page name: summary, hosts, host, error
	cssVersion string                        // hash of the stylesheet, for its address
	mux        *http.ServeMux
}

// New returns the dashboard's handler, to be mounted at "/". It serves
// GET (and HEAD) requests for "/" (the summary), "/hosts" (the list),
// "/hosts/{id}" (a host) and the stylesheet, and a 404 page for anything
// else.
func New(f Fleet, opts Options) (http.Handler, error) {
	if f == nil {
		return nil, errors.New("dashboard: nil Fleet")
	}
	if opts.StaleAfter < 0 {
		return nil, fmt.Errorf("dashboard: negative StaleAfter %v", opts.StaleAfter)
	}
	d := &dashboard{
		fleet:      f,
		staleAfter: cmp.Or(opts.StaleAfter, store.DefaultStaleAfter),
		now:        opts.Now,
		log:        opts.Logger,
		title:      cmp.Or(strings.TrimSpace(opts.Title), "avscout"),
		pages:      map[string]*template.Template{},
		mux:        http.NewServeMux(),
	}
	if d.now == nil {
		d.now = time.Now
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	sum := sha256.Sum256(stylesheet)
	d.cssVersion = hex.EncodeToString(sum[:8])
	for _, name := range []string{"summary", "hosts", "host", "error"} {
		t, err := template.ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("dashboard: parsing template %s: %w", name, err)
		}
		d.pages[name] = t
	}
	d.mux.HandleFunc("GET /{$}", d.summary)
	d.mux.HandleFunc("GET /hosts", d.hosts)
	d.mux.HandleFunc("GET /hosts/{id}", d.host)
	d.mux.HandleFunc("GET "+cssPath, d.css)
	d.mux.HandleFunc("/", d.notFound)
	return d, nil
}

// ServeHTTP sets the security headers every response carries, then routes.
func (d *dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	setSecurityHeaders(h)
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	d.mux.ServeHTTP(w, r)
}

// setSecurityHeaders sets the headers that every page served, the login
// page included, carries: the Content-Security-Policy, no MIME sniffing,
// no referrer and no framing.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}

// page is what the layout template needs; Body is the page's own data.
type page struct {
	Title   string // the site
	Heading string // the page, also first in the window title
	Nav     string // the current section: "summary", "hosts" or ""
	CSS     string // the stylesheet's address
	Body    any
}

// render executes a page template into a buffer first, so that a template
// error becomes a clean 500 instead of half a page.
func (d *dashboard) render(w http.ResponseWriter, r *http.Request, status int, name, heading, nav string, body any) {
	var buf bytes.Buffer
	p := page{Title: d.title, Heading: heading, Nav: nav, CSS: cssPath + "?v=" + d.cssVersion, Body: body}
	if err := d.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		d.log.Error("dashboard: rendering page", "page", name, "path", r.URL.Path, "err", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintln(w, "500 internal server error: the page could not be rendered; details are in the collector's log.")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Fleet data is private and changes with every report.
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes()) // the client went away: nothing to do
}

// errorView is the error page's body.
type errorView struct {
	Status  int
	Reason  string // "Not found"
	Message string // for the person, never internals
}

// fail shows the error page.
func (d *dashboard) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	reason := http.StatusText(status)
	d.render(w, r, status, "error", reason, "", errorView{Status: status, Reason: reason, Message: msg})
}

// serverError logs err and shows a 500 page that does not repeat it: the
// error may name files, SQL or database addresses.
func (d *dashboard) serverError(w http.ResponseWriter, r *http.Request, err error) {
	level := slog.LevelError
	if errors.Is(err, context.Canceled) {
		level = slog.LevelDebug // the browser went away
	}
	d.log.Log(r.Context(), level, "dashboard: reading the fleet", "path", r.URL.Path, "err", err)
	d.fail(w, r, http.StatusInternalServerError, "The collector could not read its database. The details are in the collector's log.")
}

// notFound answers every address the dashboard does not serve.
func (d *dashboard) notFound(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		d.fail(w, r, http.StatusMethodNotAllowed, "The dashboard only shows pages; it changes nothing.")
		return
	}
	d.fail(w, r, http.StatusNotFound, "There is no page at this address.")
}

// css serves the embedded stylesheet. Pages link to it with its hash in
// the query, so a browser may keep that version for good; any other
// request must revalidate.
func (d *dashboard) css(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/css; charset=utf-8")
	h.Set("ETag", `"`+d.cssVersion+`"`)
	if r.URL.Query().Get("v") == d.cssVersion {
		h.Set("Cache-Control", "private, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "private, no-cache")
	}
	http.ServeContent(w, r, "dashboard.css", time.Time{}, bytes.NewReader(stylesheet))
}

// summaryView is the summary page's body.
type summaryView struct {
	Hosts, Compliant, Restricted, Incomplete, Unprotected, Stale, WhiteLabel int
	DefsStopped                                                              int // hosts whose restricted product's definitions stopped at the ban
	DefsStoppedURL                                                           string
	CompliantPct                                                             string
	StaleAfter                                                               string
	GeneratedAt                                                              stamp
	Products                                                                 []productCount
	ExportURL                                                                string
	WhiteLabelURL                                                            string
	Trend                                                                    trendChart
	Vendors, OS                                                              barChart
	Tags                                                                     []tagKeyView // the keys to break down by
	TagChart                                                                 *barChart    // the chosen key's; nil without tags
}

// tagKeyView is a tag key the summary can break the fleet down by.
type tagKeyView struct {
	Key     string
	Hosts   int
	URL     string
	Current bool
}

// trendDays is how many days the summary's trend chart shows.
const trendDays = 30

// productCount is one row of the restricted products table.
type productCount struct {
	ID, Vendor, Name string
	Hosts            int
	URL              string // the restricted hosts with this product
}

func (d *dashboard) summary(w http.ResponseWriter, r *http.Request) {
	tagKey := strings.TrimSpace(r.URL.Query().Get("tag"))
	if err := checkText("tag", tagKey); err != nil || len(r.URL.Query()["tag"]) > 1 {
		d.fail(w, r, http.StatusBadRequest, "This tag key cannot be used: give one key of valid text.")
		return
	}
	fd, err := d.readSummary(r.Context(), tagKey)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	s := fd.sum
	now := d.now()
	v := summaryView{
		Hosts:          s.Hosts,
		Compliant:      s.Compliant,
		Restricted:     s.Restricted,
		Incomplete:     s.Incomplete,
		Unprotected:    s.Unprotected,
		Stale:          s.Stale,
		WhiteLabel:     s.WhiteLabel,
		CompliantPct:   percent(s.Compliant, s.Hosts),
		StaleAfter:     humanDuration(cmp.Or(s.StaleAfter, d.staleAfter)),
		GeneratedAt:    newStamp(now, cmp.Or(s.GeneratedAt, now)),
		ExportURL:      filterForm{}.exportURL(),
		WhiteLabelURL:  filterForm{WhiteLabel: "true"}.listURL(0),
		DefsStopped:    s.DefinitionsStopped,
		DefsStoppedURL: filterForm{DefsStopped: "true"}.listURL(0),
		Trend:          newTrendChart(fd.trend, cmp.Or(s.StaleAfter, d.staleAfter)),
		Vendors:        newVendorBars(fd.vendors),
		OS:             newStateBars("chart-os", "Hosts by operating system", fd.os, osFilter),
	}
	for _, k := range fd.keys {
		v.Tags = append(v.Tags, tagKeyView{Key: k.Key, Hosts: k.Hosts, URL: "/?" + url.Values{"tag": {k.Key}}.Encode() + "#tags-h",
			Current: k.Key == fd.tagKey})
	}
	if fd.tagKey != "" {
		key := fd.tagKey
		c := newStateBars("chart-tag", "Hosts by tag "+key, fd.tag, func(value string) (filterForm, bool) { return tagFilter(key, value) })
		v.TagChart = &c
	}
	for _, p := range s.RestrictedProducts {
		v.Products = append(v.Products, productCount{
			ID: p.ID, Vendor: p.Vendor, Name: cmp.Or(p.Name, p.ID), Hosts: p.Hosts,
			URL: filterForm{State: store.HostRestricted, Product: p.ID}.listURL(0),
		})
	}
	d.render(w, r, http.StatusOK, "summary", "Fleet summary", "summary", v)
}

// hostsView is the host list's body.
type hostsView struct {
	Form                     filterForm
	States, Verdicts, Stales []option
	Filtered                 bool
	Rows                     []hostRow
	Pager                    pager
	ExportURL                string
	ClearURL                 string
}

// option is one choice of a select field.
type option struct {
	Value, Label string
	Selected     bool
}

// options lists the choices of a select field, the current one selected.
func options(current string, pairs ...string) []option {
	var o []option
	for i := 0; i+1 < len(pairs); i += 2 {
		o = append(o, option{Value: pairs[i], Label: pairs[i+1], Selected: pairs[i] == current})
	}
	return o
}

// hostRow is one row of the host list.
type hostRow struct {
	URL, Name, ID         string
	OS, OSVersion         string
	Badge                 badge
	Stale                 bool
	Restricted, Protected []string
	// LastScan is when the latest report's scan ran, which staleness
	// counts from; Arrived, when the report came much later (queued while
	// the host was offline), says when.
	LastScan stamp
	Arrived  string
	Tags     []tagView
}

func (d *dashboard) hosts(w http.ResponseWriter, r *http.Request) {
	f, err := parseFilter(r.URL.Query())
	if err != nil {
		d.fail(w, r, http.StatusBadRequest, "This filter cannot be used: "+err.Error()+".")
		return
	}
	pg, err := d.fleet.Hosts(r.Context(), f.hostFilter(d.staleAfter, d.now()))
	if errors.Is(err, store.ErrInvalid) {
		d.fail(w, r, http.StatusBadRequest, "This filter cannot be used: "+err.Error()+".")
		return
	}
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	now := d.now()
	v := hostsView{
		Form: f,
		States: options(f.State, "", "Any", store.HostRestricted, "Restricted", store.HostIncomplete, "Incomplete",
			store.HostUnprotected, "Unprotected", store.HostClean, "Clean"),
		Verdicts: options(f.Verdict, "", "Any", report.VerdictCompliant, "Compliant", report.VerdictNonCompliant, "Not compliant",
			report.VerdictIncomplete, "Incomplete"),
		Stales:    options(f.Stale, "", "Any", "true", "Stale", "false", "Seen recently"),
		Filtered:  f.filtered(),
		Pager:     newPager(f, pg.Total, len(pg.Hosts)),
		ExportURL: f.exportURL(),
		ClearURL:  filterForm{Limit: f.Limit}.listURL(0),
	}
	for _, h := range pg.Hosts {
		v.Rows = append(v.Rows, hostRow{
			URL:        hostPath(h.ID),
			Name:       cmp.Or(h.Hostname, h.ID),
			ID:         h.ID,
			OS:         h.OS,
			OSVersion:  h.OSVersion,
			Badge:      hostBadge(h.State),
			Stale:      h.Stale,
			Restricted: h.Restricted,
			Protected:  h.Protection,
			LastScan:   newStamp(now, h.LastScan),
			Arrived:    arrived(now, h.LastScan, h.LastSeen),
			Tags:       tagViews(h.Tags),
		})
	}
	d.render(w, r, http.StatusOK, "hosts", "Hosts", "hosts", v)
}

// arrivalNote is how much later than its scan a report must arrive for
// the host list to say when it arrived.
const arrivalNote = time.Hour

// arrived says when a report scanned at scan arrived, when that was more
// than arrivalNote later; "" otherwise.
func arrived(now, scan, seen time.Time) string {
	if scan.IsZero() || seen.Sub(scan) <= arrivalNote {
		return ""
	}
	return "arrived " + relTime(now, seen)
}

// hostView is the host page's body.
type hostView struct {
	Name, Hostname, ID                  string
	Badge                               badge
	Verdict                             string // the store's: compliant, non_compliant or incomplete
	FailedSources                       []string
	Compliant, Unprotected, Stale       bool
	System                              []string // OS, version and architecture, those reported
	Root                                string
	AgentVersion, CatalogVersion        string
	FirstSeen, LastSeen, Generated      stamp
	ReportID                            string
	ReportURL                           string // the latest report as received, and its signature beside it
	ScanDuration                        string
	Tags                                []tagView
	Restricted, Protected               []string
	Products                            []productView
	Sources                             []sourceView
	History                             []changeView
	FleetStaleAfter                     string
	RestrictedInUse, RestrictedLeftover int
}

// tagView is one fleet tag of a host.
type tagView struct {
	Key, Value string
	URL        string // the hosts with the same tag; empty if it cannot be filtered on
}

// productView is one product of the latest report.
type productView struct {
	ID, Name, Vendor, Version, Category string
	Badge                               badge
	Restricted, InUse, WhiteLabel       bool
	Technology, Confidence              string
	PolicyRule, PolicyReason            string
	// Definitions is the product's last definitions update (YYYY-MM-DD);
	// DefsStopped says it stopped when its policy barred updates.
	Definitions, UpdatesEnded string
	DefsStopped               bool
	Evidence                  []report.Evidence
	ProductURL, VendorURL     string
}

// sourceView is one detection source of the latest report.
type sourceView struct {
	Name     string
	Badge    badge
	Items    int
	Duration string
	Error    string
	Warnings []string // items it could not read although it saw the rest
}

// changeView is one entry of the host's history.
type changeView struct {
	At                          stamp
	Kind                        string
	Product, From, To, ReportID string
	ReportURL                   string // the report as received; empty for an id that is not a report id
}

func (d *dashboard) host(w http.ResponseWriter, r *http.Request) {
	id, ok := hostIDFromPath(r.PathValue("id"))
	if !ok || len(id) > store.MaxIDLen {
		d.fail(w, r, http.StatusNotFound, "There is no host at this address.")
		return
	}
	h, err := d.fleet.Host(r.Context(), id, d.staleAfter)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
		d.fail(w, r, http.StatusNotFound, "No host with the id "+quote(id)+" has reported to this collector.")
		return
	}
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	d.render(w, r, http.StatusOK, "host", cmp.Or(h.Hostname, h.ID), "hosts", newHostView(h, d.now(), d.staleAfter))
}

// newHostView shapes a host for its page as seen at now.
func newHostView(h store.HostDetail, now time.Time, staleAfter time.Duration) hostView {
	// Sort a copy: the canonical order puts restricted products first.
	rep := h.Latest
	rep.Products = slices.Clone(rep.Products)
	for i := range rep.Products {
		rep.Products[i].Evidence = slices.Clone(rep.Products[i].Evidence)
	}
	rep.Sources = slices.Clone(rep.Sources)
	rep.Sort()
	v := hostView{
		Name:            cmp.Or(h.Hostname, h.ID),
		Hostname:        h.Hostname,
		ID:              h.ID,
		Badge:           hostBadge(h.State),
		Verdict:         h.Verdict,
		FailedSources:   report.FailedSources(rep.Sources),
		Compliant:       h.Compliant,
		Unprotected:     h.State == store.HostUnprotected,
		Stale:           h.Stale,
		System:          nonEmpty(h.OS, h.OSVersion, h.Arch),
		Root:            rep.Host.Root,
		AgentVersion:    cmp.Or(h.AgentVersion, rep.Agent.Version),
		CatalogVersion:  rep.Agent.CatalogVersion,
		FirstSeen:       newStamp(now, h.FirstSeen),
		LastSeen:        newStamp(now, h.LastSeen),
		Generated:       newStamp(now, h.LastScan), // what staleness counts from, even when the report cannot be decoded
		ReportID:        cmp.Or(rep.ReportID, h.LastReportID),
		ScanDuration:    strconv.FormatInt(rep.DurationMS, 10) + " ms",
		Restricted:      h.Restricted,
		Protected:       h.Protection,
		FleetStaleAfter: humanDuration(staleAfter),
	}
	if h.LastReportID != "" {
		v.ReportURL = reportPath(h.LastReportID)
	}
	v.Tags = tagViews(h.Tags)
	for _, p := range rep.Products {
		inUse := p.State == report.StateActive || p.State == report.StateInstalled
		pv := productView{
			ID: p.ID, Name: cmp.Or(p.Name, p.ID), Vendor: p.Vendor, Version: p.Version, Category: p.Category,
			Badge:      productBadge(p.State, p.Restricted),
			Restricted: p.Restricted, InUse: inUse, WhiteLabel: p.WhiteLabel,
			Technology: p.Technology, Confidence: p.Confidence,
			Evidence: p.Evidence,
		}
		if p.Policy != nil {
			pv.PolicyRule, pv.PolicyReason = p.Policy.Rule, p.Policy.Reason
			pv.UpdatesEnded = p.Policy.UpdatesEnded
		}
		pv.Definitions = p.DefinitionsDate
		pv.DefsStopped = p.Restricted && inUse && store.StoppedAtBan(p.DefinitionsDate, pv.UpdatesEnded)
		if p.ID != "" && checkText("product", p.ID) == nil {
			pv.ProductURL = filterForm{Product: p.ID}.listURL(0)
		}
		if p.Vendor != "" && checkText("vendor", p.Vendor) == nil {
			pv.VendorURL = filterForm{Vendor: p.Vendor}.listURL(0)
		}
		if p.Restricted {
			if inUse {
				v.RestrictedInUse++
			} else {
				v.RestrictedLeftover++
			}
		}
		v.Products = append(v.Products, pv)
	}
	for _, s := range rep.Sources {
		v.Sources = append(v.Sources, sourceView{
			Name: s.Name, Badge: sourceBadge(s.Status), Items: s.Items,
			Duration: strconv.FormatInt(s.DurationMS, 10) + " ms", Error: s.Error, Warnings: s.Warnings,
		})
	}
	for _, c := range h.History {
		v.History = append(v.History, changeView{
			At: newStamp(now, c.At), Kind: changeLabel(c.Kind),
			Product: c.Product, From: c.From, To: c.To, ReportID: c.ReportID,
			ReportURL: rawReportURL(c.ReportID),
		})
	}
	return v
}

// nonEmpty returns the strings that are not blank.
func nonEmpty(s ...string) []string {
	var out []string
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			out = append(out, v)
		}
	}
	return out
}

// Interface checks.
var (
	_ Fleet        = (*store.Store)(nil)
	_ http.Handler = (*dashboard)(nil)
)

// summaryData is what the summary page reads.
type summaryData struct {
	sum         store.Summary
	trend       []store.TrendDay
	vendors, os store.Breakdown
	keys        []store.TagKey
	tagKey      string // the key broken down: the one asked for, else the commonest
	tag         store.Breakdown
}

// readSummary reads the summary page's figures, the independent ones at
// once (each is one query; the database serves them in parallel).
func (d *dashboard) readSummary(ctx context.Context, tagKey string) (summaryData, error) {
	var fd summaryData
	errs := make([]error, 4)
	var wg sync.WaitGroup
	wg.Go(func() { fd.sum, fd.trend, errs[0] = d.fleet.SummaryTrend(ctx, trendDays, d.staleAfter) })
	wg.Go(func() { fd.vendors, errs[1] = d.fleet.Breakdown(ctx, store.ByVendor, d.staleAfter) })
	wg.Go(func() { fd.os, errs[2] = d.fleet.Breakdown(ctx, store.ByOS, d.staleAfter) })
	wg.Go(func() {
		if fd.keys, errs[3] = d.fleet.TagKeys(ctx); errs[3] != nil {
			return
		}
		fd.tagKey = tagKey
		if fd.tagKey == "" && len(fd.keys) > 0 {
			fd.tagKey = fd.keys[0].Key
		}
		if fd.tagKey != "" {
			fd.tag, errs[3] = d.fleet.Breakdown(ctx, store.ByTag+fd.tagKey, d.staleAfter)
		}
	})
	wg.Wait()
	return fd, errors.Join(errs...)
}

// tagViews lists tags by key, each linked to the hosts with the same tag
// when a filter can select them.
func tagViews(tags map[string]string) []tagView {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []tagView
	for _, k := range keys {
		t := tagView{Key: k, Value: tags[k]}
		if f, ok := tagFilter(k, t.Value); ok {
			t.URL = f.listURL(0)
		}
		out = append(out, t)
	}
	return out
}
