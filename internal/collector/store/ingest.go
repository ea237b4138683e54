package store

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/text"
)

// Outcome says what [Store.Ingest] did with a report.
type Outcome int

const (
	// Stored: the report is new and now stored.
	Stored Outcome = iota + 1
	// Duplicate: the same report (id and content) was already stored;
	// nothing changed.
	Duplicate
)

func (o Outcome) String() string {
	switch o {
	case Stored:
		return "stored"
	case Duplicate:
		return "duplicate"
	default:
		return fmt.Sprintf("Outcome(%d)", int(o))
	}
}

// Limits on what the store accepts from a report, in bytes. PostgreSQL
// cannot index a value much over 2.7 KB, and nothing legitimate comes
// near these.
const (
	MaxIDLen       = 256  // host id, report id, tag key
	MaxTextLen     = 1024 // every other stored string
	MaxTags        = 100
	MaxProducts    = 1000
	insertRowBatch = 200 // rows per multi-row INSERT
)

// checkReport rejects what the store cannot hold or index.
func checkReport(r *report.Report) error {
	if r == nil {
		return fmt.Errorf("%w report: nil", ErrInvalid)
	}
	var errs []error
	field := func(name, v string, limit int, required bool) {
		switch {
		case required && v == "":
			errs = append(errs, fmt.Errorf("%s: must not be empty", name))
		case len(v) > limit:
			errs = append(errs, fmt.Errorf("%s: longer than %d bytes", name, limit))
		}
	}
	field("report_id", r.ReportID, MaxIDLen, true)
	field("host.id", r.Host.ID, MaxIDLen, true)
	field("host.hostname", r.Host.Hostname, MaxTextLen, false)
	field("host.os", r.Host.OS, MaxTextLen, false)
	field("host.os_version", r.Host.OSVersion, MaxTextLen, false)
	field("host.arch", r.Host.Arch, MaxTextLen, false)
	field("agent.version", r.Agent.Version, MaxTextLen, false)
	field("agent.catalog_version", r.Agent.CatalogVersion, MaxTextLen, false)
	if r.GeneratedAt.IsZero() {
		errs = append(errs, errors.New("generated_at: missing"))
	}
	if len(r.Products) > MaxProducts {
		errs = append(errs, fmt.Errorf("products: more than %d", MaxProducts))
	} else {
		for i, p := range r.Products {
			pre := fmt.Sprintf("products[%d].", i)
			field(pre+"id", p.ID, MaxTextLen, true)
			field(pre+"vendor", p.Vendor, MaxTextLen, false)
			field(pre+"name", p.Name, MaxTextLen, false)
			field(pre+"version", p.Version, MaxTextLen, false)
			field(pre+"category", p.Category, MaxTextLen, false)
			field(pre+"state", p.State, MaxTextLen, false)
			field(pre+"technology", p.Technology, MaxTextLen, false)
			field(pre+"confidence", p.Confidence, MaxTextLen, false)
		}
	}
	if len(r.Tags) > MaxTags {
		errs = append(errs, fmt.Errorf("tags: more than %d", MaxTags))
	} else {
		for _, k := range sortedKeys(r.Tags) {
			field(fmt.Sprintf("tags[%q]", text.Clip(k, 40)), k, MaxIDLen, true)
			field(fmt.Sprintf("tags[%q]", text.Clip(k, 40)), r.Tags[k], MaxTextLen, false)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w report: %w", ErrInvalid, errors.Join(errs...))
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// clean makes an agent's string storable everywhere: PostgreSQL text
// cannot hold NUL. (JSON decoding already replaced invalid UTF-8.) The
// report as received keeps the original.
func clean(s string) string {
	if strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// hostRow is a host's row as written for its newest report.
type hostRow struct {
	id, hostname, os, osVersion, arch string
	agentVersion, catalogVersion      string
	tags, search                      string
	firstSeen, lastSeen               int64
	lastReportID                      string
	generatedAt                       int64
	verdict                           string
	state                             string
	whiteLabel                        bool
	restricted, protection            string
	products                          int
}

const hostRowColumns = `id, hostname, os, os_version, arch, agent_version, catalog_version, tags, search,
	first_seen, last_seen, last_report_id, last_generated_at, compliant, verdict, state, state_rank, white_label,
	restricted, protection, product_count`

func (h *hostRow) args() []any {
	return []any{h.id, h.hostname, h.os, h.osVersion, h.arch, h.agentVersion, h.catalogVersion, h.tags, h.search,
		h.firstSeen, h.lastSeen, h.lastReportID, h.generatedAt, boolInt(h.verdict == report.VerdictCompliant), h.verdict,
		h.state, stateRank(h.state), boolInt(h.whiteLabel), h.restricted, h.protection, int64(h.products)}
}

func newHostRow(r *report.Report, receivedAt time.Time) *hostRow {
	h := &hostRow{
		id:             clean(r.Host.ID),
		hostname:       clean(r.Host.Hostname),
		os:             clean(r.Host.OS),
		osVersion:      clean(r.Host.OSVersion),
		arch:           clean(r.Host.Arch),
		agentVersion:   clean(r.Agent.Version),
		catalogVersion: clean(r.Agent.CatalogVersion),
		firstSeen:      micros(receivedAt),
		lastSeen:       micros(receivedAt),
		lastReportID:   r.ReportID,
		generatedAt:    micros(r.GeneratedAt),
		// Derived, not taken from the agent: the same rule for reports of
		// agents older than the verdict, and no trust in what one claims.
		verdict:  report.ComputeVerdict(r.Products, r.Sources),
		products: len(r.Products),
	}
	h.search = strings.ToLower(h.hostname) + "\n" + strings.ToLower(h.id)
	tags := make(map[string]string, len(r.Tags))
	for k, v := range r.Tags {
		tags[clean(k)] = clean(v)
	}
	h.tags = mustJSON(tags)
	restricted, protection := []string{}, []string{}
	for _, p := range r.Products {
		inUse := p.State == report.StateActive || p.State == report.StateInstalled
		if p.Restricted && inUse {
			restricted = appendUnique(restricted, clean(p.Name))
			h.whiteLabel = h.whiteLabel || p.WhiteLabel
		}
		if p.State == report.StateActive && report.Protects(p.Category) {
			protection = appendUnique(protection, clean(p.Name))
		}
	}
	h.restricted, h.protection = mustJSON(restricted), mustJSON(protection)
	h.state = hostState(h.verdict, len(protection) > 0)
	return h
}

// hostState is the fleet state of a host whose latest report has this
// verdict and does or does not show an active security product.
func hostState(verdict string, protected bool) string {
	switch {
	case verdict == report.VerdictNonCompliant:
		return HostRestricted
	case verdict == report.VerdictIncomplete:
		return HostIncomplete
	case !protected:
		return HostUnprotected
	}
	return HostClean
}

func appendUnique(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

// mustJSON encodes maps and slices of strings, which cannot fail.
func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("store: encoding %T: %v", v, err))
	}
	return string(b)
}

// stateRank orders hosts in lists: the worst first (restricted, then
// incomplete, unprotected and clean).
func stateRank(state string) int64 {
	switch state {
	case HostRestricted:
		return 0
	case HostIncomplete:
		return 1
	case HostUnprotected:
		return 2
	default:
		return 3
	}
}

// placeholders returns "$from, $from+1, …" for n parameters.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", from+i)
	}
	return b.String()
}

// snapshot is what the history compares between two reports of a host.
type snapshot struct {
	reportID    string
	generatedAt time.Time
	verdict     string
	products    []snapProduct
}

type snapProduct struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Version string `json:"version"`
	State   string `json:"state"`
}

func snapshotOf(r *report.Report) snapshot {
	s := snapshot{reportID: r.ReportID, generatedAt: r.GeneratedAt.UTC(), verdict: report.ComputeVerdict(r.Products, r.Sources)}
	for _, p := range r.Products {
		s.products = append(s.products, snapProduct{ID: clean(p.ID), Name: clean(p.Name), Version: clean(p.Version), State: clean(p.State)})
	}
	return s
}

// Change kinds; see [Change].
const (
	ChangeFirstReport = "first-report"
	ChangeCompliance  = "compliance-changed"
	ChangeAdded       = "product-added"
	ChangeRemoved     = "product-removed"
	ChangeState       = "state-changed"
	ChangeVersion     = "version-changed"
)

// diff lists what changed from prev (nil for a host's first report) to
// cur, attributed to cur.
func diff(prev *snapshot, cur snapshot) []Change {
	mk := func(kind, product, from, to string) Change {
		return Change{At: cur.generatedAt, ReportID: cur.reportID, Kind: kind, Product: product, From: from, To: to}
	}
	if prev == nil {
		return []Change{mk(ChangeFirstReport, "", "", complianceWord(cur.verdict))}
	}
	var out []Change
	if prev.verdict != cur.verdict {
		out = append(out, mk(ChangeCompliance, "", complianceWord(prev.verdict), complianceWord(cur.verdict)))
	}
	index := func(ps []snapProduct) map[string]snapProduct {
		m := make(map[string]snapProduct, len(ps))
		for _, p := range ps {
			if _, dup := m[p.ID]; !dup {
				m[p.ID] = p
			}
		}
		return m
	}
	before, after := index(prev.products), index(cur.products)
	seen := map[string]bool{}
	for _, p := range cur.products {
		if seen[p.ID] {
			continue
		}
		seen[p.ID] = true
		old, ok := before[p.ID]
		switch {
		case !ok:
			out = append(out, mk(ChangeAdded, productLabel(p), "", p.State))
		case old.State != p.State:
			out = append(out, mk(ChangeState, productLabel(p), old.State, p.State))
		}
		if ok && old.Version != p.Version {
			out = append(out, mk(ChangeVersion, productLabel(p), old.Version, p.Version))
		}
	}
	seen = map[string]bool{}
	for _, p := range prev.products {
		if _, ok := after[p.ID]; ok || seen[p.ID] {
			continue
		}
		seen[p.ID] = true
		out = append(out, mk(ChangeRemoved, productLabel(p), p.State, ""))
	}
	return out
}

func productLabel(p snapProduct) string { return cmp.Or(p.Name, p.ID) }

// complianceWord names a verdict in the history: "compliant",
// "non-compliant" (as it was written before the verdict existed) or
// "incomplete".
func complianceWord(verdict string) string {
	switch verdict {
	case report.VerdictCompliant:
		return "compliant"
	case report.VerdictIncomplete:
		return "incomplete"
	}
	return "non-compliant"
}

var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}}

// compress gzips a report for storage.
func compress(raw []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(raw)/4 + 64)
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(&buf)
	if _, err := zw.Write(raw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decodeBody decodes a stored (gzip) report body into v.
func decodeBody(body []byte, v any) error {
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("decompressing stored report: %w", err)
	}
	if err := json.NewDecoder(zr).Decode(v); err != nil {
		return fmt.Errorf("decoding stored report: %w", err)
	}
	return nil
}

// maxRawBody bounds a stored report once decompressed: far above any
// report the collector accepts (--max-body), so that a body changed in
// the database into a decompression bomb cannot exhaust memory.
const maxRawBody = 256 << 20

// rawBody decompresses a stored report body.
func rawBody(body []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("decompressing stored report: %w", err)
	}
	raw, err := io.ReadAll(io.LimitReader(zr, maxRawBody+1))
	if err != nil {
		return nil, fmt.Errorf("decompressing stored report: %w", err)
	}
	if len(raw) > maxRawBody {
		return nil, fmt.Errorf("stored report larger than %d MiB decompressed: the database was changed", maxRawBody>>20)
	}
	return raw, nil
}
