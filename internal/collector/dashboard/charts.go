package dashboard

import (
	"strconv"
	"strings"
	"time"

	"github.com/avscout/avscout/internal/collector/store"
)

// The charts are SVG written into the page by the templates, shaped
// here: every position is a number computed on the server, every label
// is text escaped by html/template, colours come from CSS classes in the
// stylesheet (the Content-Security-Policy allows no inline style), and
// each bar and number is a plain link to the host list filtered to
// exactly the hosts it counts.

// Sizes of the charts, in SVG user units (the SVG scales to its box).
const (
	trendWidth   = 760
	trendHeight  = 250
	trendLeft    = 44 // the y axis' labels
	trendTop     = 10
	trendBottom  = 206 // the plot's bottom edge; day labels below
	barsWidth    = 760
	barsLabel    = 230 // the value's label, left of the bars
	barsNumber   = 70  // the count, right of the bars
	barsRow      = 26
	maxLabelRune = 28
)

// segment is one coloured rectangle of a bar: a state's hosts.
type segment struct {
	X, Y, W, H float64
	Class      string // a fixed CSS class: bad, warn, unprot, good, stale
	Title      string // for the tooltip and screen readers
	URL        string // "" when no host list shows these hosts (a past day)
}

// cell is a number of a chart's table and the hosts it counts ("" when
// no host list shows them).
type cell struct {
	N   int
	URL string
}

// trendCol is one day of the trend chart.
type trendCol struct {
	Day      store.TrendDay
	Segments []segment
	Stale    segment
	Label    string // the day under the axis, every few days; else ""
	LabelX   float64
	Today    bool
	Links    trendLinks // for today only
	Cells    []cell     // hosts, compliant, restricted, incomplete, unprotected, clean, stale
}

// trendLinks are the host lists of today's numbers.
type trendLinks struct {
	Hosts, Compliant, Restricted, Incomplete, Unprotected, Clean, Stale string
}

// tick is a labelled value on an axis.
type tick struct {
	Y     float64
	Label string
}

// trendChart is the compliance-over-time chart and its table.
type trendChart struct {
	Width, Height, Left, Right, Bottom int
	Cols                               []trendCol
	Ticks                              []tick
	StaleAfter                         string
}

// statePart is a state of a stacked bar, with its CSS class and label.
type statePart struct{ state, class, label string }

// stateParts are the states of a stacked bar, worst first.
func stateParts() [4]statePart {
	return [4]statePart{
		{store.HostRestricted, "bad", "restricted"},
		{store.HostIncomplete, "warn", "incomplete"},
		{store.HostUnprotected, "unprot", "unprotected"},
		{store.HostClean, "good", "clean"},
	}
}

// stateCount is a trend day's or group's count of a state.
func stateCount(state string, restricted, incomplete, unprotected, clean int) int {
	switch state {
	case store.HostRestricted:
		return restricted
	case store.HostIncomplete:
		return incomplete
	case store.HostUnprotected:
		return unprotected
	}
	return clean
}

// newTrendChart lays out the days (oldest first, the last being today).
func newTrendChart(days []store.TrendDay, staleAfter time.Duration) trendChart {
	c := trendChart{Width: trendWidth, Height: trendHeight, Left: trendLeft, Right: trendWidth - 6, Bottom: trendBottom,
		StaleAfter: humanDuration(staleAfter)}
	top := 1
	for _, d := range days {
		top = max(top, d.Hosts)
	}
	top = niceCeil(top)
	scale := float64(trendBottom-trendTop) / float64(top)
	for _, v := range []int{0, top / 2, top} {
		c.Ticks = append(c.Ticks, tick{Y: float64(trendBottom) - float64(v)*scale, Label: strconv.Itoa(v)})
	}
	if len(days) == 0 {
		return c
	}
	colW := float64(c.Right-trendLeft) / float64(len(days))
	barW := colW * 0.62
	for i, d := range days {
		x := float64(trendLeft) + float64(i)*colW + colW*0.08
		col := trendCol{Day: d, Today: i == len(days)-1, LabelX: x + colW*0.4}
		if col.Today {
			col.Links = trendLinks{
				Hosts:       filterForm{}.listURL(0),
				Compliant:   filterForm{Compliant: "true"}.listURL(0),
				Restricted:  filterForm{State: store.HostRestricted}.listURL(0),
				Incomplete:  filterForm{State: store.HostIncomplete}.listURL(0),
				Unprotected: filterForm{State: store.HostUnprotected}.listURL(0),
				Clean:       filterForm{State: store.HostClean}.listURL(0),
				Stale:       filterForm{Stale: "true"}.listURL(0),
			}
		}
		when := "at the end of " + d.Day
		if col.Today {
			when = "now (today, " + d.Day + ")"
		}
		y := float64(trendBottom)
		for _, p := range stateParts() {
			n := stateCount(p.state, d.Restricted, d.Incomplete, d.Unprotected, d.Clean)
			if n == 0 {
				continue
			}
			h := float64(n) * scale
			y -= h
			s := segment{X: x, Y: y, W: barW, H: h, Class: p.class, Title: plural(int64(n), "host") + " " + p.label + " " + when}
			if col.Today {
				s.URL = filterForm{State: p.state}.listURL(0)
			}
			col.Segments = append(col.Segments, s)
		}
		if d.Stale > 0 {
			h := float64(d.Stale) * scale
			col.Stale = segment{X: x + barW + colW*0.04, Y: float64(trendBottom) - h, W: colW * 0.18, H: h, Class: "stale",
				Title: plural(int64(d.Stale), "host") + " stale " + when}
			if col.Today {
				col.Stale.URL = col.Links.Stale
			}
		}
		l := col.Links
		col.Cells = []cell{{d.Hosts, l.Hosts}, {d.Compliant, l.Compliant}, {d.Restricted, l.Restricted}, {d.Incomplete, l.Incomplete},
			{d.Unprotected, l.Unprotected}, {d.Clean, l.Clean}, {d.Stale, l.Stale}}
		if (len(days)-1-i)%7 == 0 {
			col.Label = d.Day[5:] // MM-DD
		}
		c.Cols = append(c.Cols, col)
	}
	return c
}

// niceCeil rounds n up to 1, 2 or 5 times a power of ten, for the axis.
func niceCeil(n int) int {
	for p := 1; ; p *= 10 {
		for _, m := range []int{1, 2, 5} {
			if n <= m*p {
				return m * p
			}
		}
	}
}

// barRow is one value of a breakdown: a label, a bar of stacked states
// (or one bar) and the count, each linked to its host list.
type barRow struct {
	Y, TextY     float64
	Label, Full  string // the label as shown (shortened) and in full
	Indent       bool   // a product under its vendor
	Hosts        int
	URL          string // the hosts counted; "" when no filter selects them
	Segments     []segment
	Stale        int
	StaleURL     string
	NumX         float64
	Restricted   int
	Incomplete   int
	Unprotected  int
	Clean        int
	Compliant    int
	StateURLs    [4]string
	CompliantURL string
	Cells        []cell // hosts, then by state: compliant, restricted, incomplete, unprotected, clean, stale
}

// barChart is a breakdown chart and its table.
type barChart struct {
	ID            string // the element id, from a fixed set
	Title         string // the chart's name, may hold agent text (a tag key)
	Width, Height int
	LabelW        int
	Rows          []barRow
	Other         int    // hosts of values not shown
	Without       int    // hosts without the tag
	States        bool   // rows are split by state (not the vendor chart)
	Caption       string // for the table
}

// newStateBars lays out a breakdown by OS or tag. url gives the host
// list filter of a value ("" when none can select it).
func newStateBars(id, title string, b store.Breakdown, url func(value string) (filterForm, bool)) barChart {
	c := barChart{ID: id, Title: title, Width: barsWidth, LabelW: barsLabel, Other: b.Other, Without: b.Without, States: true}
	top := 1
	for _, g := range b.Groups {
		top = max(top, g.Hosts)
	}
	scale := float64(barsWidth-barsLabel-barsNumber) / float64(top)
	for i, g := range b.Groups {
		y := float64(i*barsRow) + 4
		r := barRow{Y: y, TextY: y + 15, Label: shorten(g.Value), Full: g.Value, Hosts: g.Hosts, Stale: g.Stale,
			Restricted: g.Restricted, Incomplete: g.Incomplete, Unprotected: g.Unprotected, Clean: g.Clean, Compliant: g.Compliant}
		if g.Value == "" {
			r.Label, r.Full = "(empty)", "(empty)"
		}
		f, ok := url(g.Value)
		if ok {
			r.URL = f.listURL(0)
			sf := f
			sf.Stale = "true"
			r.StaleURL = sf.listURL(0)
			cf := f
			cf.Compliant = "true"
			r.CompliantURL = cf.listURL(0)
		}
		x := float64(barsLabel)
		for j, p := range stateParts() {
			n := stateCount(p.state, g.Restricted, g.Incomplete, g.Unprotected, g.Clean)
			if ok {
				sf := f
				sf.State = p.state
				r.StateURLs[j] = sf.listURL(0)
			}
			if n == 0 {
				continue
			}
			w := float64(n) * scale
			r.Segments = append(r.Segments, segment{X: x, Y: y, W: w, H: 18, Class: p.class,
				Title: plural(int64(n), "host") + " " + p.label + ": " + r.Full, URL: r.StateURLs[j]})
			x += w
		}
		r.NumX = x + 6
		r.Cells = []cell{{r.Hosts, r.URL}, {r.Compliant, r.CompliantURL}, {r.Restricted, r.StateURLs[0]}, {r.Incomplete, r.StateURLs[1]},
			{r.Unprotected, r.StateURLs[2]}, {r.Clean, r.StateURLs[3]}, {r.Stale, r.StaleURL}}
		c.Rows = append(c.Rows, r)
	}
	c.Height = max(len(c.Rows), 1)*barsRow + 6
	return c
}

// newVendorBars lays out the restricted hosts by vendor, each vendor's
// products beneath it.
func newVendorBars(b store.Breakdown) barChart {
	c := barChart{ID: "chart-vendors", Title: "Restricted hosts by vendor and product", Width: barsWidth, LabelW: barsLabel, Other: b.Other}
	top := 1
	for _, g := range b.Groups {
		top = max(top, g.Hosts)
	}
	scale := float64(barsWidth-barsLabel-barsNumber) / float64(top)
	add := func(label, full string, n int, f filterForm, ok, indent bool, class string) {
		y := float64(len(c.Rows)*barsRow) + 4
		r := barRow{Y: y, TextY: y + 15, Label: label, Full: full, Hosts: n, Indent: indent}
		if ok {
			r.URL = f.listURL(0)
		}
		w := float64(n) * scale
		r.Segments = []segment{{X: barsLabel, Y: y, W: w, H: 18, Class: class, Title: plural(int64(n), "restricted host") + ": " + full, URL: r.URL}}
		r.NumX = barsLabel + w + 6
		r.Cells = []cell{{n, r.URL}}
		c.Rows = append(c.Rows, r)
	}
	for _, g := range b.Groups {
		f := filterForm{State: store.HostRestricted, Vendor: g.Value}
		add(shorten(g.Value), g.Value, g.Hosts, f, exactFilterText("vendor", g.Value), false, "bad")
		for _, p := range g.Products {
			name := p.Name
			if name == "" {
				name = p.Value
			}
			f := filterForm{State: store.HostRestricted, Product: p.Value}
			add(shorten(name), name+" ("+p.Value+")", p.Hosts, f, exactFilterText("product", p.Value), true, "badlight")
		}
	}
	c.Height = max(len(c.Rows), 1)*barsRow + 6
	return c
}

// shorten cuts a label for the chart; the full text is in its title and
// the table.
func shorten(s string) string {
	r := []rune(s)
	if len(r) <= maxLabelRune {
		return s
	}
	return string(r[:maxLabelRune-1]) + "…"
}

// exactFilterText reports whether the host list's filter field param
// selects exactly the value v: the filter trims what it is given, so a
// value with spaces around it (an agent's " Kaspersky Lab") would select
// another one, and it takes only filter text.
func exactFilterText(param, v string) bool {
	return v != "" && strings.TrimSpace(v) == v && checkText(param, v) == nil
}

// osFilter is the host list of an OS value.
func osFilter(v string) (filterForm, bool) {
	if !exactFilterText("os", v) {
		return filterForm{}, false
	}
	return filterForm{OS: v}, true
}

// tagFilter returns the host list filter of a tag value: none when the
// key holds "=" (the filter splits at the first) or either is not
// filter text.
func tagFilter(key, value string) (filterForm, bool) {
	tag := key + "=" + value
	if strings.Contains(key, "=") || strings.TrimSpace(key) == "" || strings.TrimSpace(tag) != tag || checkText("tag", tag) != nil {
		return filterForm{}, false
	}
	return filterForm{Tag: tag}, true
}
