package collector

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/avscout/avscout/internal/collector/store"
	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/text"
)

// maxFilterValue bounds a filter's text, in bytes.
const maxFilterValue = 1024

// filterParams are the query parameters of /v1/hosts and /v1/export.
//
//	compliant=true|false  verdict=compliant|non_compliant|incomplete
//	state=restricted|incomplete|unprotected|clean  stale=true|false
//	product=<catalog id>  vendor=<name, any case>  tag=<key>[=<value>]
//	os=<OS name, exactly>  white_label=true|false
//	q=<part of hostname or id>  seen_since=<RFC 3339 time, or a duration like 24h meaning that long ago>
//	definitions_before=<YYYY-MM-DD>  definitions_older_than=<days>  (a product's definitions date is earlier)
//	definitions_stopped=true  (a restricted product's definitions stopped when its policy barred updates)
//	limit=1…1000  offset=0…  (/v1/hosts only)
var filterParams = []string{"compliant", "verdict", "state", "stale", "product", "vendor", "tag", "search", "seen_since", "os", "white_label",
	"definitions_before", "definitions_older_than", "definitions_stopped"}

// parseFilter reads a store.HostFilter from q; paged says whether limit
// and offset are allowed. Unknown parameters are refused, so that a typo
// does not silently widen an audit.
func (s *Server) parseFilter(q url.Values, paged bool) (store.HostFilter, error) {
	f := store.HostFilter{StaleAfter: s.staleAfter}
	for name, vals := range q {
		known := slices.Contains(filterParams, name) || paged && (name == "limit" || name == "offset") || !paged && name == "format"
		if !known {
			return f, fmt.Errorf("unknown query parameter %q", text.Clip(name, 40))
		}
		if len(vals) > 1 {
			return f, fmt.Errorf("%s: given more than once", name)
		}
		if len(vals[0]) > maxFilterValue {
			return f, fmt.Errorf("%s: longer than %d bytes", name, maxFilterValue)
		}
	}
	boolParam := func(name string) (*bool, error) {
		v := q.Get(name)
		if v == "" {
			return nil, nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("%s: want true or false", name)
		}
		return &b, nil
	}
	var err error
	if f.Compliant, err = boolParam("compliant"); err != nil {
		return f, err
	}
	if f.Stale, err = boolParam("stale"); err != nil {
		return f, err
	}
	if f.WhiteLabel, err = boolParam("white_label"); err != nil {
		return f, err
	}
	switch f.State = q.Get("state"); f.State {
	case "", store.HostRestricted, store.HostIncomplete, store.HostUnprotected, store.HostClean:
	default:
		return f, fmt.Errorf("state: want %s, %s, %s or %s", store.HostRestricted, store.HostIncomplete, store.HostUnprotected, store.HostClean)
	}
	switch f.Verdict = q.Get("verdict"); f.Verdict {
	case "", report.VerdictCompliant, report.VerdictNonCompliant, report.VerdictIncomplete:
	default:
		return f, fmt.Errorf("verdict: want %s, %s or %s", report.VerdictCompliant, report.VerdictNonCompliant, report.VerdictIncomplete)
	}
	f.Product, f.Vendor, f.Tag, f.Search, f.OS = q.Get("product"), q.Get("vendor"), q.Get("tag"), q.Get("search"), q.Get("os")
	if v := q.Get("seen_since"); v != "" {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			f.SeenSince = t
		} else if d, err := time.ParseDuration(v); err == nil && d > 0 {
			f.SeenSince = s.now().Add(-d)
		} else {
			return f, errors.New("seen_since: want an RFC 3339 time or a positive duration such as 24h")
		}
	}
	intParam := func(name string, lo, hi int) (int, error) {
		v := q.Get(name)
		if v == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return 0, fmt.Errorf("%s: want a whole number from %d to %d", name, lo, hi)
		}
		return n, nil
	}
	if f.DefinitionsBefore, err = definitionsBefore(q, s.now(), intParam); err != nil {
		return f, err
	}
	if stopped, err := boolParam("definitions_stopped"); err != nil {
		return f, err
	} else if stopped != nil {
		if !*stopped {
			return f, errors.New("definitions_stopped: only true filters")
		}
		f.DefinitionsStopped = true
	}
	if f.Limit, err = intParam("limit", 1, store.MaxLimit); err != nil {
		return f, err
	}
	if f.Offset, err = intParam("offset", 0, 1<<31-1); err != nil {
		return f, err
	}
	return f, nil
}

// definitionsBefore reads definitions_before (a date) or
// definitions_older_than (days before now's UTC date), not both, as the
// date a product's definitions must be earlier than.
func definitionsBefore(q url.Values, now time.Time, intParam func(string, int, int) (int, error)) (string, error) {
	date, days := q.Get("definitions_before"), q.Get("definitions_older_than")
	switch {
	case date != "" && days != "":
		return "", errors.New("definitions_before and definitions_older_than: give one")
	case date != "":
		if _, err := time.Parse(time.DateOnly, date); err != nil || len(date) != len(time.DateOnly) {
			return "", errors.New("definitions_before: want a date YYYY-MM-DD")
		}
		return date, nil
	case days != "":
		n, err := intParam("definitions_older_than", 0, 36500)
		if err != nil {
			return "", err
		}
		return now.UTC().AddDate(0, 0, -n).Format(time.DateOnly), nil
	}
	return "", nil
}

// storeError answers a failed read: 400 for a bad filter, 404 for
// nothing there, 503 otherwise (logged, not shown).
func (s *Server) storeError(w http.ResponseWriter, what string, err error) {
	switch {
	case errors.Is(err, store.ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, what+" not found")
	default:
		s.log.Error("reading "+what, "err", err)
		w.Header().Set("Retry-After", retryAfterStore)
		writeError(w, http.StatusServiceUnavailable, "database unavailable")
	}
}

func (s *Server) handleHosts(w http.ResponseWriter, r *http.Request) {
	f, err := s.parseFilter(r.URL.Query(), true)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	page, err := s.store.Hosts(r.Context(), f)
	if err != nil {
		s.storeError(w, "hosts", err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) handleHost(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if id == "" || len(id) > store.MaxIDLen {
		writeError(w, http.StatusNotFound, "host not found")
		return
	}
	d, err := s.store.Host(r.Context(), id, s.staleAfter)
	if err != nil {
		s.storeError(w, "host", err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		store.HostDetail
		Key *keyInfo `json:"key,omitempty"` // the agent's pinned key
	}{d, s.hostKeyInfo(r.Context(), id)})
}

func (s *Server) handleSummary(w http.ResponseWriter, r *http.Request) {
	sum, err := s.store.Summary(r.Context(), s.staleAfter)
	if err != nil {
		s.storeError(w, "summary", err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		store.Summary
		StaleAfterSeconds int64   `json:"stale_after_seconds"`
		CompliantPercent  float64 `json:"compliant_percent"`
	}{sum, int64(sum.StaleAfter / time.Second), sum.CompliantPercent()})
}

// CSVColumns are the columns of the CSV export, one row per host and
// product (a host without products has one row, product columns empty).
// New columns come last, after the others, so that readers counting
// columns keep working: verdict, then last_scan (when the latest report's
// scan ran; last_seen is when it arrived), report_id and report_sha256
// (the latest report, as GET /v1/reports/{id}/raw serves it), then the
// product's definitions_date (its last definitions update, YYYY-MM-DD),
// updates_ended (the day its policy rule bars updates from) and
// evidence_summary (what it was found by).
var CSVColumns = []string{"host_id", "hostname", "os", "os_version", "last_seen", "compliant", "state", "stale",
	"product_id", "vendor", "product", "version", "product_state", "restricted", "white_label", "tags", "verdict",
	"last_scan", "report_id", "report_sha256", "definitions_date", "updates_ended", "evidence_summary"}

// exportHost is a host in the JSON export.
type exportHost struct {
	store.HostSummary
	ReportSHA256 string              `json:"last_report_sha256"` // of the latest report as received
	ProductList  []store.HostProduct `json:"products"`           // hides HostSummary.Products, the count
}

// handleExport streams the fleet's current state. A failure after the
// first byte aborts the response, so that a cut export never looks
// complete.
func (s *Server) handleExport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	format := q.Get("format")
	if format == "" {
		format = "csv"
	}
	if format != "csv" && format != "json" {
		writeError(w, http.StatusBadRequest, "format: want csv or json")
		return
	}
	f, err := s.parseFilter(q, false)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	now := s.now().UTC()
	name := "avscout-fleet-" + now.Format("20060102T150405Z") + "." + format
	started := false
	start := func(contentType string) {
		started = true
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		w.WriteHeader(http.StatusOK)
	}
	if format == "csv" {
		err = s.exportCSV(w, r, f, start)
	} else {
		err = s.exportJSON(w, r, f, now, start)
	}
	if err == nil {
		return
	}
	if !started {
		s.storeError(w, "export", err)
		return
	}
	s.log.Error("export cut short", "err", err)
	panic(http.ErrAbortHandler) // drop the connection: the client sees an error, not a short file
}

func (s *Server) exportCSV(w http.ResponseWriter, r *http.Request, f store.HostFilter, start func(string)) error {
	cw := csv.NewWriter(w)
	rows := 0
	err := s.store.Export(r.Context(), f, func(row store.ExportRow) error {
		if rows == 0 {
			start("text/csv; charset=utf-8")
			if err := cw.Write(CSVColumns); err != nil {
				return err
			}
		}
		rows++
		h, p := row.Host, row.Product
		rec := []string{h.ID, h.Hostname, h.OS, h.OSVersion, report.FormatTime(h.LastSeen), strconv.FormatBool(h.Compliant),
			h.State, strconv.FormatBool(h.Stale), "", "", "", "", "", "", "", formatTags(h.Tags), h.Verdict,
			report.FormatTime(h.LastScan), h.LastReportID, row.ReportSHA256, "", "", ""}
		if row.HasProduct {
			copy(rec[8:15], []string{p.ID, p.Vendor, p.Name, p.Version, p.State, strconv.FormatBool(p.Restricted), strconv.FormatBool(p.WhiteLabel)})
			rec[20], rec[21], rec[22] = p.DefinitionsDate, p.UpdatesEnded, p.Evidence
		}
		for i := range rec {
			rec[i] = CSVCell(rec[i])
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
		if rows%256 == 0 {
			cw.Flush()
		}
		return cw.Error()
	})
	if err != nil {
		return err
	}
	if rows == 0 {
		start("text/csv; charset=utf-8")
		if err := cw.Write(CSVColumns); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func (s *Server) exportJSON(w http.ResponseWriter, r *http.Request, f store.HostFilter, now time.Time, start func(string)) error {
	var cur *exportHost
	hosts := 0
	header := func() error {
		start("application/json; charset=utf-8")
		_, err := fmt.Fprintf(w, `{"generated_at":%q,"stale_after_seconds":%d,"hosts":[`, report.FormatTime(now), int64(s.staleAfter/time.Second))
		return err
	}
	flush := func() error {
		if cur == nil {
			return nil
		}
		b, err := json.Marshal(cur) // escapes <, > and & too
		if err != nil {
			return err
		}
		if hosts > 0 {
			b = append([]byte{','}, b...)
		}
		hosts++
		_, err = w.Write(append(b, '\n'))
		return err
	}
	err := s.store.Export(r.Context(), f, func(row store.ExportRow) error {
		if cur == nil && hosts == 0 {
			if err := header(); err != nil {
				return err
			}
		}
		if cur == nil || cur.ID != row.Host.ID {
			if err := flush(); err != nil {
				return err
			}
			cur = &exportHost{HostSummary: row.Host, ReportSHA256: row.ReportSHA256, ProductList: []store.HostProduct{}}
		}
		if row.HasProduct {
			cur.ProductList = append(cur.ProductList, row.Product)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if cur == nil {
		if err := header(); err != nil {
			return err
		}
	}
	if err := flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "],\"count\":%d}\n", hosts)
	return err
}

// CSVCell neutralises a cell that a spreadsheet would run as a formula
// (starting with = + - @, tab or carriage return) by prefixing a quote.
func CSVCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// formatTags writes tags as "key=value; …", sorted by key.
func formatTags(tags map[string]string) string {
	var b strings.Builder
	for i, k := range sortedKeys(tags) {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(k + "=" + tags[k])
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
