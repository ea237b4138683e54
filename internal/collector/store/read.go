package store

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/avscout/avscout/internal/report"
)

// Defaults and bounds of the read methods.
const (
	DefaultStaleAfter = 48 * time.Hour
	DefaultLimit      = 100
	MaxLimit          = 1000
	// MaxHistory bounds the changes [Store.Host] returns, newest first.
	MaxHistory = 1000
)

// hostSelect are the columns scanHost reads, from hosts aliased h.
const hostSelect = `h.id, h.hostname, h.os, h.os_version, h.arch, h.agent_version, h.tags, h.first_seen, h.last_seen,
	h.last_report_id, h.last_generated_at, h.compliant, h.verdict, h.state, h.restricted, h.protection, h.product_count`

// hostOrder lists the worst hosts first, then by name, case-insensitively.
const hostOrder = ` ORDER BY h.state_rank, h.search, h.id`

// hostCols receives hostSelect's columns.
type hostCols struct {
	id, hostname, os, osVersion, arch, agentVersion, tags string
	firstSeen, lastSeen                                   int64
	lastReportID                                          string
	lastGenerated                                         int64
	compliant                                             int64
	verdict, state, restricted, protection                string
	products                                              int64
}

func (c *hostCols) dest() []any {
	return []any{&c.id, &c.hostname, &c.os, &c.osVersion, &c.arch, &c.agentVersion, &c.tags, &c.firstSeen, &c.lastSeen,
		&c.lastReportID, &c.lastGenerated, &c.compliant, &c.verdict, &c.state, &c.restricted, &c.protection, &c.products}
}

func (c *hostCols) summary(staleBefore time.Time) (HostSummary, error) {
	h := HostSummary{
		ID: c.id, Hostname: c.hostname, OS: c.os, OSVersion: c.osVersion, Arch: c.arch, AgentVersion: c.agentVersion,
		FirstSeen: fromMicros(c.firstSeen), LastSeen: fromMicros(c.lastSeen), LastReportID: c.lastReportID,
		LastScan: fromMicros(c.lastGenerated),
		Verdict:  c.verdict, Compliant: c.compliant == 1, State: c.state, Products: int(c.products),
		Stale: c.lastGenerated < micros(staleBefore),
	}
	if h.Verdict == "" {
		// A host whose latest report could not be read when the verdict
		// was backfilled: what its compliant flag said before.
		h.Verdict = report.VerdictNonCompliant
		if h.Compliant {
			h.Verdict = report.VerdictCompliant
		}
	}
	if err := json.Unmarshal([]byte(c.tags), &h.Tags); err != nil {
		return HostSummary{}, fmt.Errorf("host %q: decoding tags: %w", c.id, err)
	}
	if len(h.Tags) == 0 {
		h.Tags = nil
	}
	if err := json.Unmarshal([]byte(c.restricted), &h.Restricted); err != nil {
		return HostSummary{}, fmt.Errorf("host %q: decoding restricted products: %w", c.id, err)
	}
	if err := json.Unmarshal([]byte(c.protection), &h.Protection); err != nil {
		return HostSummary{}, fmt.Errorf("host %q: decoding protection: %w", c.id, err)
	}
	return h, nil
}

// staleBefore returns the scan time before which a host is stale: what
// its latest report says it saw is older than the fleet accepts, however
// recently the report arrived (an agent that queued it for days while
// offline, or a report replayed).
func (s *Store) staleBefore(staleAfter time.Duration) time.Time {
	if staleAfter <= 0 {
		staleAfter = DefaultStaleAfter
	}
	return s.now().Add(-staleAfter)
}

// where builds the WHERE clause (empty or starting with " WHERE") and its
// arguments for f.
func (s *Store) where(f HostFilter) (string, []any, error) {
	var conds []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.Compliant != nil {
		conds = append(conds, "h.compliant = "+arg(boolInt(*f.Compliant)))
	}
	switch f.Verdict {
	case "":
	case report.VerdictCompliant, report.VerdictNonCompliant, report.VerdictIncomplete:
		conds = append(conds, "h.verdict = "+arg(f.Verdict))
	default:
		return "", nil, fmt.Errorf("%w filter: unknown verdict %q (want %s, %s or %s)", ErrInvalid, f.Verdict,
			report.VerdictCompliant, report.VerdictNonCompliant, report.VerdictIncomplete)
	}
	if f.Product != "" {
		conds = append(conds, "EXISTS (SELECT 1 FROM host_products p WHERE p.host_id = h.id AND p.product_id = "+arg(clean(f.Product))+")")
	}
	if f.Vendor != "" {
		conds = append(conds, "EXISTS (SELECT 1 FROM host_products p WHERE p.host_id = h.id AND p.vendor_lc = "+arg(strings.ToLower(clean(f.Vendor)))+")")
	}
	if f.DefinitionsBefore != "" {
		if !isDate(f.DefinitionsBefore) {
			return "", nil, fmt.Errorf("%w filter: definitions date %q is not YYYY-MM-DD", ErrInvalid, f.DefinitionsBefore)
		}
		conds = append(conds, "h.id IN (SELECT p.host_id FROM host_products p WHERE "+inUse+" AND p.definitions_date <> '' AND p.definitions_date < "+arg(f.DefinitionsBefore)+")")
	}
	if f.DefinitionsStopped {
		conds = append(conds, "h.id IN (SELECT p.host_id FROM host_products p WHERE "+definitionsStopped+")")
	}
	switch f.State {
	case "":
	case HostRestricted, HostIncomplete, HostUnprotected, HostClean:
		conds = append(conds, "h.state = "+arg(f.State))
	default:
		return "", nil, fmt.Errorf("%w filter: unknown state %q (want %s, %s, %s or %s)", ErrInvalid, f.State,
			HostRestricted, HostIncomplete, HostUnprotected, HostClean)
	}
	if f.Stale != nil {
		op := ">="
		if *f.Stale {
			op = "<"
		}
		conds = append(conds, "h.last_generated_at "+op+" "+arg(micros(s.staleBefore(f.StaleAfter))))
	}
	// Products and vendors tend to be common (EXISTS walks the hosts in
	// list order and stops after a page); tags tend to be selective (IN
	// starts from the few hosts that have one). Both are correct either way.
	if f.Tag != "" {
		k, v, hasValue := strings.Cut(clean(f.Tag), "=")
		c := "h.id IN (SELECT t.host_id FROM host_tags t WHERE t.tag_key = " + arg(k)
		if hasValue {
			c += " AND t.tag_value = " + arg(v)
		}
		conds = append(conds, c+")")
	}
	if f.OS != "" {
		conds = append(conds, "h.os = "+arg(clean(f.OS)))
	}
	if f.WhiteLabel != nil {
		conds = append(conds, "h.white_label = "+arg(boolInt(*f.WhiteLabel)))
	}
	if f.Search != "" {
		conds = append(conds, `h.search LIKE `+arg("%"+escapeLike(strings.ToLower(clean(f.Search)))+"%")+` ESCAPE '\'`)
	}
	if !f.SeenSince.IsZero() {
		conds = append(conds, "h.last_seen >= "+arg(micros(f.SeenSince)))
	}
	if len(conds) == 0 {
		return "", nil, nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args, nil
}

// escapeLike escapes LIKE's wildcards in s, with \ as the escape.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Hosts returns one page of the hosts matching f, the worst first
// (restricted, incomplete, unprotected, clean), then by hostname
// (case-insensitive).
func (s *Store) Hosts(ctx context.Context, f HostFilter) (HostPage, error) {
	where, args, err := s.where(f)
	if err != nil {
		return HostPage{}, err
	}
	page := HostPage{Hosts: []HostSummary{}, Limit: f.Limit, Offset: max(f.Offset, 0)}
	switch {
	case page.Limit <= 0:
		page.Limit = DefaultLimit
	case page.Limit > MaxLimit:
		page.Limit = MaxLimit
	}
	if err := s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM hosts h"+where, args...).Scan(&page.Total); err != nil {
		return HostPage{}, fmt.Errorf("counting hosts: %w", err)
	}
	n := len(args)
	rows, err := s.r.QueryContext(ctx, "SELECT "+hostSelect+" FROM hosts h"+where+hostOrder+
		fmt.Sprintf(" LIMIT $%d OFFSET $%d", n+1, n+2), append(args, int64(page.Limit), int64(page.Offset))...)
	if err != nil {
		return HostPage{}, fmt.Errorf("listing hosts: %w", err)
	}
	defer rows.Close()
	staleBefore := s.staleBefore(f.StaleAfter)
	for rows.Next() {
		var c hostCols
		if err := rows.Scan(c.dest()...); err != nil {
			return HostPage{}, fmt.Errorf("listing hosts: %w", err)
		}
		h, err := c.summary(staleBefore)
		if err != nil {
			return HostPage{}, err
		}
		page.Hosts = append(page.Hosts, h)
	}
	if err := rows.Err(); err != nil {
		return HostPage{}, fmt.Errorf("listing hosts: %w", err)
	}
	return page, nil
}

// Host returns the host id with its latest report and its history of
// changes (at most [MaxHistory], newest first), or [ErrNotFound].
func (s *Store) Host(ctx context.Context, id string, staleAfter time.Duration) (HostDetail, error) {
	var c hostCols
	err := s.r.QueryRowContext(ctx, "SELECT "+hostSelect+" FROM hosts h WHERE h.id = $1", clean(id)).Scan(c.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return HostDetail{}, fmt.Errorf("host %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return HostDetail{}, fmt.Errorf("reading host %q: %w", id, err)
	}
	sum, err := c.summary(s.staleBefore(staleAfter))
	if err != nil {
		return HostDetail{}, err
	}
	d := HostDetail{HostSummary: sum, History: []Change{}}
	var body []byte
	if err := s.r.QueryRowContext(ctx, "SELECT body FROM reports WHERE id = $1", c.lastReportID).Scan(&body); err != nil {
		return HostDetail{}, fmt.Errorf("reading report %s of host %q: %w", c.lastReportID, id, err)
	}
	if err := decodeBody(body, &d.Latest); err != nil {
		return HostDetail{}, fmt.Errorf("report %s of host %q: %w", c.lastReportID, id, err)
	}
	if d.Latest.Verdict == "" { // an agent older than the verdict
		d.Latest.Verdict = report.VerdictOf(&d.Latest)
		d.Latest.Compliant = d.Latest.Verdict == report.VerdictCompliant
	}
	// Newest first in the order the reports were received, which is the
	// order they were diffed in.
	rows, err := s.r.QueryContext(ctx, `SELECT c.report_id, c.at, c.kind, c.product, c.from_value, c.to_value
		FROM changes c JOIN reports r ON r.id = c.report_id
		WHERE c.host_id = $1 ORDER BY r.received_at DESC, c.report_id DESC, c.seq LIMIT $2`, c.id, int64(MaxHistory))
	if err != nil {
		return HostDetail{}, fmt.Errorf("reading history of host %q: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var ch Change
		var at int64
		if err := rows.Scan(&ch.ReportID, &at, &ch.Kind, &ch.Product, &ch.From, &ch.To); err != nil {
			return HostDetail{}, fmt.Errorf("reading history of host %q: %w", id, err)
		}
		ch.At = fromMicros(at)
		d.History = append(d.History, ch)
	}
	if err := rows.Err(); err != nil {
		return HostDetail{}, fmt.Errorf("reading history of host %q: %w", id, err)
	}
	return d, nil
}

// Report returns a stored report as received (uncompressed JSON), or
// [ErrNotFound].
func (s *Store) Report(ctx context.Context, id string) ([]byte, error) {
	var body []byte
	err := s.r.QueryRowContext(ctx, "SELECT body FROM reports WHERE id = $1", id).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("report %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading report %q: %w", id, err)
	}
	raw, err := rawBody(body)
	if err != nil {
		return nil, fmt.Errorf("report %q: %w", id, err)
	}
	return raw, nil
}

// Summary counts the fleet; hosts not seen within staleAfter (0: the
// default, 48h) are stale.
func (s *Store) Summary(ctx context.Context, staleAfter time.Duration) (Summary, error) {
	if staleAfter <= 0 {
		staleAfter = DefaultStaleAfter
	}
	now := s.now()
	sum := Summary{StaleAfter: staleAfter, GeneratedAt: now.UTC(), RestrictedProducts: []ProductCount{}}
	// The hosts by state are kept by ingest (fleet_counts, trend.go);
	// the stale and white-label hosts are counted by their indexes.
	rows, err := s.r.QueryContext(ctx, `SELECT state, hosts FROM fleet_counts WHERE dim = $1 AND value = $2`, dimFleet, "")
	if err != nil {
		return Summary{}, fmt.Errorf("summarising hosts: %w", err)
	}
	var counts StateCounts
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			rows.Close()
			return Summary{}, fmt.Errorf("summarising hosts: %w", err)
		}
		counts.add(state, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Summary{}, fmt.Errorf("summarising hosts: %w", err)
	}
	sum.Hosts, sum.Compliant, sum.Restricted = counts.Hosts, counts.Compliant, counts.Restricted
	sum.Incomplete, sum.Unprotected = counts.Incomplete, counts.Unprotected
	err = s.r.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM hosts WHERE last_generated_at < $1),
		(SELECT COUNT(*) FROM hosts WHERE white_label = 1)`, micros(now.Add(-staleAfter))).Scan(&sum.Stale, &sum.WhiteLabel)
	if err != nil {
		return Summary{}, fmt.Errorf("summarising hosts: %w", err)
	}
	if sum.DefinitionsStopped, err = s.countDefinitionsStopped(ctx); err != nil {
		return Summary{}, err
	}
	rows, err = s.r.QueryContext(ctx, `SELECT product_id, MIN(vendor), MIN(name), COUNT(DISTINCT host_id) AS n
		FROM host_products WHERE restricted = 1 AND state IN ($1, $2)
		GROUP BY product_id ORDER BY n DESC, product_id LIMIT 100`, report.StateActive, report.StateInstalled)
	if err != nil {
		return Summary{}, fmt.Errorf("counting restricted products: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var pc ProductCount
		if err := rows.Scan(&pc.ID, &pc.Vendor, &pc.Name, &pc.Hosts); err != nil {
			return Summary{}, fmt.Errorf("counting restricted products: %w", err)
		}
		sum.RestrictedProducts = append(sum.RestrictedProducts, pc)
	}
	if err := rows.Err(); err != nil {
		return Summary{}, fmt.Errorf("counting restricted products: %w", err)
	}
	return sum, nil
}

// Export calls fn for every current host matching f (Limit and Offset
// are ignored) and each of its products, in the order of [Store.Hosts],
// streaming from the database. fn must not call the store; an error from
// fn stops the export and is returned.
func (s *Store) Export(ctx context.Context, f HostFilter, fn func(ExportRow) error) error {
	where, args, err := s.where(f)
	if err != nil {
		return err
	}
	rows, err := s.r.QueryContext(ctx, "SELECT "+hostSelect+`, r.sha256, p.product_id, p.vendor, p.name, p.version, p.category,
		p.state, p.restricted, p.white_label, p.technology, p.confidence, p.definitions_date, p.updates_ended, p.evidence
		FROM hosts h LEFT JOIN reports r ON r.id = h.last_report_id
		LEFT JOIN host_products p ON p.host_id = h.id`+where+hostOrder+", p.pos", args...)
	if err != nil {
		return fmt.Errorf("exporting hosts: %w", err)
	}
	defer rows.Close()
	staleBefore := s.staleBefore(f.StaleAfter)
	var prev ExportRow
	for rows.Next() {
		var c hostCols
		var id, vendor, name, version, category, state, technology, confidence, defs, ended, evidence sql.NullString
		var restricted, whiteLabel sql.NullInt64
		var digest []byte
		dest := append(c.dest(), &digest, &id, &vendor, &name, &version, &category, &state, &restricted, &whiteLabel, &technology, &confidence, &defs, &ended, &evidence)
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("exporting hosts: %w", err)
		}
		row := ExportRow{Host: prev.Host}
		row.ReportSHA256 = prev.ReportSHA256
		if c.id != prev.Host.ID || prev.Host.ID == "" {
			if row.Host, err = c.summary(staleBefore); err != nil {
				return err
			}
			row.ReportSHA256 = hex.EncodeToString(digest)
		}
		if id.Valid {
			row.HasProduct = true
			row.Product = HostProduct{
				ID: id.String, Vendor: vendor.String, Name: name.String, Version: version.String, Category: category.String,
				State: state.String, Restricted: restricted.Int64 == 1, WhiteLabel: whiteLabel.Int64 == 1,
				Technology: technology.String, Confidence: confidence.String,
				DefinitionsDate: defs.String, UpdatesEnded: ended.String, Evidence: evidence.String,
			}
		}
		if err := fn(row); err != nil {
			return err
		}
		prev = row
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("exporting hosts: %w", err)
	}
	return nil
}

// Stats counts what the store holds.
type Stats struct {
	Hosts   int `json:"hosts"`
	Reports int `json:"reports"`
	Changes int `json:"changes"`
	Tokens  int `json:"tokens"`
}

// Stats counts the rows of the store's main tables. It reads whole
// tables: for operators and tests, not for every request.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	err := s.r.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM hosts), (SELECT COUNT(*) FROM reports),
		(SELECT COUNT(*) FROM changes), (SELECT COUNT(*) FROM tokens)`).Scan(&st.Hosts, &st.Reports, &st.Changes, &st.Tokens)
	if err != nil {
		return Stats{}, fmt.Errorf("counting rows: %w", err)
	}
	return st, nil
}
