package dashboard

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/avscout/avscout/internal/collector/store"
	"github.com/avscout/avscout/internal/report"
)

// Paging limits of the host list.
const (
	defaultPageSize = 50
	maxPageSize     = 1000 // the store's maximum
	maxOffset       = 1_000_000_000
	maxFilterText   = 256 // bytes in a text filter field
	// maxDefinitionsDays bounds "definitions older than N days", as the API does.
	maxDefinitionsDays = 36500
)

// filterForm is the host list's filter as it travels in a query string:
// the fields of the filter form, then the paging. Values are canonical
// (trimmed, validated); the zero value lists every host.
type filterForm struct {
	State      string // "", store.HostRestricted, store.HostIncomplete, store.HostUnprotected or store.HostClean
	Verdict    string // "", report.VerdictCompliant, report.VerdictNonCompliant or report.VerdictIncomplete
	Compliant  string // "", "true" or "false"; not in the form (Verdict says more), kept for links and the API's parity
	Stale      string // "", "true" or "false"
	Vendor     string
	Product    string
	Tag        string // "key=value", or "key" for any value
	OS         string // the OS name, exactly
	WhiteLabel string // "", "true" or "false"; not in the form, for the white-label figure's link
	// DefsOlderThan keeps hosts with a product in use whose definitions
	// are older than that many days; 0 filters nothing.
	DefsOlderThan int
	// DefsStopped is "true" for hosts whose restricted product's
	// definitions stopped when its policy barred updates; not in the form,
	// for the summary figure's link.
	DefsStopped string
	Search      string
	Limit       int // 0: defaultPageSize
	Offset      int
}

// filterError is a filter value the dashboard cannot use; its message is
// for the person who typed it.
type filterError struct {
	Param string
	Msg   string
}

func (e *filterError) Error() string { return e.Param + ": " + e.Msg }

// parseFilter reads the host list filter from a query string. Empty
// values filter nothing, so a submitted form with blank fields lists
// everything; unknown parameters are ignored. A value the list cannot
// use, or a parameter given twice, is a *filterError.
func parseFilter(q url.Values) (filterForm, error) {
	var f filterForm
	get := func(name string) (string, error) {
		vs := q[name]
		switch len(vs) {
		case 0:
			return "", nil
		case 1:
			return strings.TrimSpace(vs[0]), nil
		default:
			return "", &filterError{name, "given more than once"}
		}
	}
	choice := func(name string, dst *string, allowed ...string) error {
		v, err := get(name)
		if err != nil || v == "" {
			return err
		}
		for _, a := range allowed {
			if v == a {
				*dst = v
				return nil
			}
		}
		return &filterError{name, fmt.Sprintf("%s is not one of %s", quote(v), strings.Join(allowed, ", "))}
	}
	text := func(name string, dst *string) error {
		v, err := get(name)
		if err != nil {
			return err
		}
		if err := checkText(name, v); err != nil {
			return err
		}
		*dst = v
		return nil
	}
	number := func(name string, dst *int, lo, hi int) error {
		v, err := get(name)
		if err != nil || v == "" {
			return err
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return &filterError{name, fmt.Sprintf("%s is not a whole number from %d to %d", quote(v), lo, hi)}
		}
		*dst = n
		return nil
	}
	errs := []error{
		choice("state", &f.State, store.HostRestricted, store.HostIncomplete, store.HostUnprotected, store.HostClean),
		choice("verdict", &f.Verdict, report.VerdictCompliant, report.VerdictNonCompliant, report.VerdictIncomplete),
		choice("compliant", &f.Compliant, "true", "false"),
		choice("stale", &f.Stale, "true", "false"),
		choice("white_label", &f.WhiteLabel, "true", "false"),
		number("definitions_older_than", &f.DefsOlderThan, 0, maxDefinitionsDays),
		choice("definitions_stopped", &f.DefsStopped, "true"),
		text("os", &f.OS),
		text("vendor", &f.Vendor),
		text("product", &f.Product),
		text("tag", &f.Tag),
		text("search", &f.Search),
		number("limit", &f.Limit, 1, maxPageSize),
		number("offset", &f.Offset, 0, maxOffset),
	}
	for _, err := range errs {
		if err != nil {
			return filterForm{}, err
		}
	}
	if f.Tag != "" {
		if k, _, _ := strings.Cut(f.Tag, "="); strings.TrimSpace(k) == "" {
			return filterForm{}, &filterError{"tag", fmt.Sprintf("%s has no key: write key=value (e.g. site=berlin) or just key", quote(f.Tag))}
		}
	}
	return f, nil
}

// checkText accepts a free-text filter value: valid UTF-8, no control
// characters, at most maxFilterText bytes.
func checkText(name, v string) error {
	switch {
	case !utf8.ValidString(v):
		return &filterError{name, "is not valid UTF-8"}
	case len(v) > maxFilterText:
		return &filterError{name, fmt.Sprintf("is longer than %d bytes", maxFilterText)}
	case strings.ContainsFunc(v, unicode.IsControl):
		return &filterError{name, "contains control characters"}
	}
	return nil
}

// quote quotes a value for an error message, shortened so that a huge
// value does not make a huge page.
func quote(v string) string {
	const limit = 64
	if len(v) > limit {
		v = strings.ToValidUTF8(v[:limit], "") + "…"
	}
	return strconv.Quote(v)
}

// hostFilter is the store query for the form; now dates "definitions
// older than N days".
func (f filterForm) hostFilter(staleAfter time.Duration, now time.Time) store.HostFilter {
	hf := store.HostFilter{
		State:      f.State,
		Verdict:    f.Verdict,
		Vendor:     f.Vendor,
		Product:    f.Product,
		Tag:        f.Tag,
		OS:         f.OS,
		Search:     f.Search,
		StaleAfter: staleAfter,
		Limit:      f.pageSize(),
		Offset:     f.Offset,
	}
	if f.Compliant != "" {
		b := f.Compliant == "true"
		hf.Compliant = &b
	}
	if f.Stale != "" {
		b := f.Stale == "true"
		hf.Stale = &b
	}
	if f.WhiteLabel != "" {
		b := f.WhiteLabel == "true"
		hf.WhiteLabel = &b
	}
	if f.DefsOlderThan > 0 {
		hf.DefinitionsBefore = now.UTC().AddDate(0, 0, -f.DefsOlderThan).Format(time.DateOnly)
	}
	hf.DefinitionsStopped = f.DefsStopped == "true"
	return hf
}

// pageSize is the number of hosts per page.
func (f filterForm) pageSize() int {
	if f.Limit <= 0 {
		return defaultPageSize
	}
	return f.Limit
}

// filtered reports whether any filter field is set.
func (f filterForm) filtered() bool {
	f.Limit, f.Offset = 0, 0
	return f != filterForm{}
}

// values encodes the filter fields that are set, without paging; the
// same parameters select hosts in the JSON API and the CSV export.
func (f filterForm) values() url.Values {
	v := url.Values{}
	set := func(name, value string) {
		if value != "" {
			v.Set(name, value)
		}
	}
	set("state", f.State)
	set("verdict", f.Verdict)
	set("compliant", f.Compliant)
	set("stale", f.Stale)
	set("vendor", f.Vendor)
	set("product", f.Product)
	set("tag", f.Tag)
	set("os", f.OS)
	set("white_label", f.WhiteLabel)
	if f.DefsOlderThan > 0 {
		set("definitions_older_than", strconv.Itoa(f.DefsOlderThan))
	}
	set("definitions_stopped", f.DefsStopped)
	set("search", f.Search)
	return v
}

// listURL is the host list address for the filter at the given offset,
// keeping a non-default page size.
func (f filterForm) listURL(offset int) string {
	v := f.values()
	if f.Limit > 0 && f.Limit != defaultPageSize {
		v.Set("limit", strconv.Itoa(f.Limit))
	}
	if offset > 0 {
		v.Set("offset", strconv.Itoa(offset))
	}
	if len(v) == 0 {
		return "/hosts"
	}
	return "/hosts?" + v.Encode()
}

// exportURL is the CSV export of every host the filter selects.
func (f filterForm) exportURL() string {
	v := f.values()
	v.Set("format", "csv")
	return "/v1/export?" + v.Encode()
}

// pager is the position of one page in the host list.
type pager struct {
	From, To, Total int    // 1-based rows shown, of Total; From is 0 on an empty page
	First, Prev     string // addresses; empty when on the first page
	Next, Last      string // addresses; empty when on the last page
	Beyond          bool   // the offset is past the last host
}

// newPager places the page at f's offset in a list of total hosts, of
// which shown are on the page.
func newPager(f filterForm, total, shown int) pager {
	size := f.pageSize()
	p := pager{Total: total}
	if shown > 0 {
		p.From, p.To = f.Offset+1, f.Offset+shown
	}
	p.Beyond = shown == 0 && f.Offset > 0 && f.Offset >= total
	if f.Offset > 0 {
		p.First = f.listURL(0)
		prev := max(f.Offset-size, 0)
		if p.Beyond {
			prev = lastOffset(total, size)
		}
		p.Prev = f.listURL(prev)
	}
	if next := f.Offset + size; next < total {
		p.Next = f.listURL(next)
		p.Last = f.listURL(lastOffset(total, size))
	}
	return p
}

// lastOffset is the offset of the last page of total hosts.
func lastOffset(total, size int) int {
	if total <= 0 {
		return 0
	}
	return (total - 1) / size * size
}
