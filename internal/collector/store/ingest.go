package store

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/avscout/avscout/internal/report"
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

// Categories of products that protect a host when active.
var protective = []string{report.CategoryAntivirus, report.CategoryEDR, report.CategorySecuritySuite}

// Incoming is a report as the collector received it, for [Store.Ingest].
type Incoming struct {
	Report     *report.Report // decoded and validated
	Raw        []byte         // the JSON as received (uncompressed)
	TokenID    string         // the enrollment token that delivered it
	ReceivedAt time.Time
	// PublicKey and Signature are the agent's key and its Ed25519
	// signature over Raw, as sent (nil when unsigned).
	PublicKey ed25519.PublicKey
	Signature []byte
}

// Ingest stores in.Report, whose JSON as received is in.Raw, in one
// transaction: the report itself (compressed), the host's identity and
// current state when it is its newest report by generated_at (a report
// arriving late goes to history only), and the changes since the report
// before it.
//
// A report id already stored with the same content (SHA-256 of raw) gives
// [Duplicate] and stores nothing; with different content, [ErrConflict].
// A report the store cannot hold gives an error wrapping [ErrInvalid].
func (s *Store) Ingest(ctx context.Context, in Incoming) (Outcome, error) {
	r, raw, tokenID, receivedAt := in.Report, in.Raw, in.TokenID, in.ReceivedAt
	if err := checkReport(r); err != nil {
		return 0, err
	}
	sum := sha256.Sum256(raw)
	body, err := compress(raw)
	if err != nil {
		return 0, fmt.Errorf("compressing report %s: %w", r.ReportID, err)
	}
	h := newHostRow(r, receivedAt)
	cur := snapshotOf(r)

	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("ingesting report %s: %w", r.ReportID, err)
	}
	defer rollback(tx)

	// Lock the host (creating it if new), so that concurrent reports of
	// one host are applied one after the other on every replica.
	res, err := tx.ExecContext(ctx, `INSERT INTO hosts (`+hostRowColumns+`) VALUES (`+placeholders(1, len(h.args()))+`)
		ON CONFLICT (id) DO NOTHING`, h.args()...)
	if err != nil {
		return 0, fmt.Errorf("ingesting report %s: inserting host: %w", r.ReportID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("ingesting report %s: inserting host: %w", r.ReportID, err)
	}
	newHost := n == 1
	var prev struct {
		reportID            string
		generatedAt         int64
		firstSeen, lastSeen int64
		verdict             string
	}
	if !newHost {
		err := tx.QueryRowContext(ctx, `SELECT last_report_id, last_generated_at, first_seen, last_seen, verdict
			FROM hosts WHERE id = $1`+s.dialect.forUpdate, h.id).
			Scan(&prev.reportID, &prev.generatedAt, &prev.firstSeen, &prev.lastSeen, &prev.verdict)
		if err != nil {
			return 0, fmt.Errorf("ingesting report %s: locking host: %w", r.ReportID, err)
		}
	}

	res, err = tx.ExecContext(ctx, `INSERT INTO reports (id, host_id, generated_at, received_at, token_id, sha256, size, body)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`,
		r.ReportID, h.id, h.generatedAt, micros(receivedAt), tokenID, sum[:], int64(len(raw)), body)
	if err != nil {
		return 0, fmt.Errorf("ingesting report %s: inserting report: %w", r.ReportID, err)
	}
	if n, err = res.RowsAffected(); err != nil {
		return 0, fmt.Errorf("ingesting report %s: inserting report: %w", r.ReportID, err)
	}
	if n == 0 {
		var stored []byte
		if err := tx.QueryRowContext(ctx, "SELECT sha256 FROM reports WHERE id = $1", r.ReportID).Scan(&stored); err != nil {
			return 0, fmt.Errorf("ingesting report %s: reading stored report: %w", r.ReportID, err)
		}
		if bytes.Equal(stored, sum[:]) {
			return Duplicate, nil
		}
		return 0, fmt.Errorf("report %s: %w", r.ReportID, ErrConflict)
	}

	var changes []Change
	if newHost {
		changes = diff(nil, cur)
		if err := s.replaceHostDetails(ctx, tx, h, r, false); err != nil {
			return 0, err
		}
	} else if later(h.generatedAt, r.ReportID, prev.generatedAt, prev.reportID) {
		// The common case: the newest report. Its predecessor is the
		// current state, already in host_products.
		pred, err := currentSnapshot(ctx, tx, h.id, prev.verdict)
		if err != nil {
			return 0, fmt.Errorf("ingesting report %s: %w", r.ReportID, err)
		}
		changes = diff(&pred, cur)
		h.firstSeen = min(h.firstSeen, prev.firstSeen)
		h.lastSeen = max(h.lastSeen, prev.lastSeen)
		if _, err := tx.ExecContext(ctx, `UPDATE hosts SET (`+hostRowColumns+`) = (`+placeholders(1, len(h.args()))+`)
			WHERE id = $1`, h.args()...); err != nil {
			return 0, fmt.Errorf("ingesting report %s: updating host: %w", r.ReportID, err)
		}
		if err := s.replaceHostDetails(ctx, tx, h, r, true); err != nil {
			return 0, err
		}
	} else {
		// A late report: history only. Diff it against the report before
		// it, and re-diff the report after it against it.
		if _, err := tx.ExecContext(ctx, "UPDATE hosts SET first_seen = $2, last_seen = $3 WHERE id = $1",
			h.id, min(h.firstSeen, prev.firstSeen), max(h.lastSeen, prev.lastSeen)); err != nil {
			return 0, fmt.Errorf("ingesting report %s: updating host: %w", r.ReportID, err)
		}
		pred, err := neighbourSnapshot(ctx, tx, h.id, h.generatedAt, r.ReportID, false)
		if err != nil {
			return 0, fmt.Errorf("ingesting report %s: %w", r.ReportID, err)
		}
		changes = diff(pred, cur)
		succ, err := neighbourSnapshot(ctx, tx, h.id, h.generatedAt, r.ReportID, true)
		if err != nil {
			return 0, fmt.Errorf("ingesting report %s: %w", r.ReportID, err)
		}
		if succ != nil {
			if _, err := tx.ExecContext(ctx, "DELETE FROM changes WHERE report_id = $1", succ.reportID); err != nil {
				return 0, fmt.Errorf("ingesting report %s: rewriting changes of %s: %w", r.ReportID, succ.reportID, err)
			}
			if err := insertChanges(ctx, tx, h.id, diff(&cur, *succ)); err != nil {
				return 0, fmt.Errorf("ingesting report %s: %w", r.ReportID, err)
			}
		}
	}
	if err := insertChanges(ctx, tx, h.id, changes); err != nil {
		return 0, fmt.Errorf("ingesting report %s: %w", r.ReportID, err)
	}
	// Note the token's use, at most once a minute, so that a busy token
	// does not make every ingest wait on its row.
	recv := micros(receivedAt)
	if _, err := tx.ExecContext(ctx, `UPDATE tokens SET last_used_at = $2
		WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)`,
		tokenID, recv, recv-int64(time.Minute/time.Microsecond)); err != nil {
		return 0, fmt.Errorf("ingesting report %s: updating token: %w", r.ReportID, err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("ingesting report %s: committing: %w", r.ReportID, err)
	}
	return Stored, nil
}

// later reports whether an arriving report (genA, idA) supersedes the
// host's current one (genB, idB): by generated_at, which has second
// precision, so of two reports generated in the same second the one that
// arrives last is the newer (an agent queues and sends in order).
func later(genA int64, idA string, genB int64, idB string) bool {
	return genA > genB || genA == genB && idA != idB
}

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
			field(fmt.Sprintf("tags[%q]", truncate(k, 40)), k, MaxIDLen, true)
			field(fmt.Sprintf("tags[%q]", truncate(k, 40)), r.Tags[k], MaxTextLen, false)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w report: %w", ErrInvalid, errors.Join(errs...))
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
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
		if p.State == report.StateActive && slices.Contains(protective, p.Category) {
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

// replaceHostDetails writes the products and tags of the host's newest
// report r, replacing the previous ones when existed.
func (s *Store) replaceHostDetails(ctx context.Context, tx *sql.Tx, h *hostRow, r *report.Report, existed bool) error {
	if existed {
		for _, table := range []string{"host_products", "host_tags"} {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE host_id = $1", h.id); err != nil {
				return fmt.Errorf("ingesting report %s: clearing %s: %w", r.ReportID, table, err)
			}
		}
	}
	const productCols = 13
	err := insertRows(ctx, tx, "host_products (host_id, pos, product_id, vendor, vendor_lc, name, version, category, state, restricted, white_label, technology, confidence)",
		productCols, len(r.Products), func(i int, args []any) []any {
			p := r.Products[i]
			vendor := clean(p.Vendor)
			return append(args, h.id, int64(i), clean(p.ID), vendor, strings.ToLower(vendor), clean(p.Name), clean(p.Version),
				clean(p.Category), clean(p.State), boolInt(p.Restricted), boolInt(p.WhiteLabel), clean(p.Technology), clean(p.Confidence))
		})
	if err != nil {
		return fmt.Errorf("ingesting report %s: inserting products: %w", r.ReportID, err)
	}
	// Keys that differ only by a NUL would collide once cleaned: keep one.
	tags := make(map[string]string, len(r.Tags))
	for k, v := range r.Tags {
		tags[clean(k)] = clean(v)
	}
	keys := sortedKeys(tags)
	err = insertRows(ctx, tx, "host_tags (host_id, tag_key, tag_value)", 3, len(keys), func(i int, args []any) []any {
		return append(args, h.id, keys[i], tags[keys[i]])
	})
	if err != nil {
		return fmt.Errorf("ingesting report %s: inserting tags: %w", r.ReportID, err)
	}
	return nil
}

// insertRows inserts n rows of cols columns into table (with its column
// list) in multi-row statements; row appends row i's values to args.
func insertRows(ctx context.Context, tx *sql.Tx, table string, cols, n int, row func(i int, args []any) []any) error {
	for start := 0; start < n; start += insertRowBatch {
		end := min(n, start+insertRowBatch)
		var q strings.Builder
		q.WriteString("INSERT INTO " + table + " VALUES ")
		args := make([]any, 0, (end-start)*cols)
		for i := start; i < end; i++ {
			if i > start {
				q.WriteString(", ")
			}
			q.WriteString("(" + placeholders(len(args)+1, cols) + ")")
			args = row(i, args)
		}
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return err
		}
	}
	return nil
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

func insertChanges(ctx context.Context, tx *sql.Tx, hostID string, changes []Change) error {
	err := insertRows(ctx, tx, "changes (report_id, seq, host_id, at, kind, product, from_value, to_value)", 8, len(changes),
		func(i int, args []any) []any {
			c := changes[i]
			return append(args, c.ReportID, int64(i), hostID, micros(c.At), c.Kind, c.Product, c.From, c.To)
		})
	if err != nil {
		return fmt.Errorf("inserting changes: %w", err)
	}
	return nil
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

// currentSnapshot reads the host's current products, those of its newest
// report, whose verdict is given.
func currentSnapshot(ctx context.Context, tx *sql.Tx, hostID string, verdict string) (snapshot, error) {
	rows, err := tx.QueryContext(ctx, "SELECT product_id, name, version, state FROM host_products WHERE host_id = $1 ORDER BY pos", hostID)
	if err != nil {
		return snapshot{}, fmt.Errorf("reading current products of host: %w", err)
	}
	defer rows.Close()
	s := snapshot{verdict: verdict}
	for rows.Next() {
		var p snapProduct
		if err := rows.Scan(&p.ID, &p.Name, &p.Version, &p.State); err != nil {
			return snapshot{}, fmt.Errorf("reading current products of host: %w", err)
		}
		s.products = append(s.products, p)
	}
	if err := rows.Err(); err != nil {
		return snapshot{}, fmt.Errorf("reading current products of host: %w", err)
	}
	return s, nil
}

// neighbourSnapshot reads the host's report just before (or, when after,
// just after) the report (gen, id) from its stored body; nil when none.
func neighbourSnapshot(ctx context.Context, tx *sql.Tx, hostID string, gen int64, id string, after bool) (*snapshot, error) {
	q := `SELECT id, generated_at, body FROM reports WHERE host_id = $1 AND (generated_at < $2 OR generated_at = $2 AND id < $3)
		ORDER BY generated_at DESC, id DESC LIMIT 1`
	if after {
		q = `SELECT id, generated_at, body FROM reports WHERE host_id = $1 AND (generated_at > $2 OR generated_at = $2 AND id > $3)
		ORDER BY generated_at, id LIMIT 1`
	}
	var (
		rid  string
		at   int64
		body []byte
	)
	switch err := tx.QueryRowContext(ctx, q, hostID, gen, id).Scan(&rid, &at, &body); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading neighbouring report: %w", err)
	}
	var doc struct {
		Products []report.Product `json:"products"`
		Sources  []report.Source  `json:"sources"`
	}
	if err := decodeBody(body, &doc); err != nil {
		return nil, fmt.Errorf("reading report %s: %w", rid, err)
	}
	s := &snapshot{reportID: rid, generatedAt: fromMicros(at), verdict: report.ComputeVerdict(doc.Products, doc.Sources)}
	for _, p := range doc.Products {
		s.products = append(s.products, snapProduct{ID: clean(p.ID), Name: clean(p.Name), Version: clean(p.Version), State: clean(p.State)})
	}
	return s, nil
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

// rawBody decompresses a stored report body.
func rawBody(body []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("decompressing stored report: %w", err)
	}
	return io.ReadAll(zr)
}
