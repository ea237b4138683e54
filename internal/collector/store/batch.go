package store

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/avscout/avscout/internal/report"
)

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

// Group commit: concurrent calls of [Store.Ingest] hand their reports to
// the store's writers, each of which stores whatever has queued up while
// it was busy in one transaction, up to maxBatch reports. A commit is the
// costly part of an ingest (on SQLite the WAL write, on PostgreSQL the
// round trips and the WAL flush), so that under load one commit serves
// many reports, and when idle a report is stored at once, alone.
const (
	maxBatch     = 64               // reports per transaction
	queueLen     = 256              // reports waiting for a writer
	batchTimeout = 30 * time.Second // one transaction
	batchRetries = 3                // attempts of a batch that lost a deadlock or serialization race
	// Writers per store: SQLite has one writer anyway; on PostgreSQL a
	// second one overlaps one batch's round trips with another's.
	sqliteWriters   = 1
	postgresWriters = 2
)

// errClosed: the store was closed before the report reached a writer.
var errClosed = errors.New("store is closed")

// pending is one report on its way to the database, with everything the
// writer needs worked out beforehand by the caller's goroutine.
type pending struct {
	ctx      context.Context
	in       Incoming
	sum      [sha256.Size]byte
	body     []byte // gzip of in.Raw
	host     *hostRow
	snap     snapshot
	products []productRow
	tags     map[string]string // cleaned
	done     chan result       // buffered: a writer never waits for the caller
}

type result struct {
	out Outcome
	err error
}

// productRow is a row of host_products but for host_id and pos (its
// index) and vendor_lc (derived from vendor).
type productRow struct {
	productID, vendor, name, version, category, state string
	restricted, whiteLabel                            bool
	technology, confidence                            string
	definitionsDate, updatesEnded                     string // YYYY-MM-DD or ""
	evidence                                          string // evidenceSummary
	definitionsStopped                                bool   // StoppedAtBan
}

// Ingest stores in.Report, whose JSON as received is in.Raw: the report
// itself (compressed), the host's identity and current state, and the
// changes since the host's report received before it. Every stored report
// becomes its host's current state: reports count in the order they are
// received, not by the generated_at their agent claims.
//
// A report id already stored with the same content (SHA-256 of Raw) gives
// [Duplicate] and stores nothing; with different content, [ErrConflict].
// A report the store cannot hold gives an error wrapping [ErrInvalid].
//
// Concurrent calls share transactions (group commit); one report that
// fails does not fail the others. When ctx ends before the report reaches
// the database, Ingest returns ctx's error and stores nothing; once it
// has, the report is stored even if ctx ends, and a retry is a duplicate.
func (s *Store) Ingest(ctx context.Context, in Incoming) (Outcome, error) {
	if err := checkReport(in.Report); err != nil {
		return 0, err
	}
	id := in.Report.ReportID
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("ingesting report %s: %w", id, err)
	}
	p, err := prepare(ctx, in)
	if err != nil {
		return 0, err
	}
	s.qmu.RLock()
	if s.qclosed {
		s.qmu.RUnlock()
		return 0, fmt.Errorf("ingesting report %s: %w", id, errClosed)
	}
	select {
	case s.queue <- p:
		s.qmu.RUnlock()
	case <-ctx.Done():
		s.qmu.RUnlock()
		return 0, fmt.Errorf("ingesting report %s: %w", id, ctx.Err())
	}
	select {
	case res := <-p.done:
		return res.out, res.err
	case <-ctx.Done():
		return 0, fmt.Errorf("ingesting report %s: %w", id, ctx.Err())
	}
}

// prepare does the work of an ingest that needs no database.
func prepare(ctx context.Context, in Incoming) (*pending, error) {
	r := in.Report
	body, err := compress(in.Raw)
	if err != nil {
		return nil, fmt.Errorf("compressing report %s: %w", r.ReportID, err)
	}
	p := &pending{ctx: ctx, in: in, sum: sha256.Sum256(in.Raw), body: body, host: newHostRow(r, in.ReceivedAt),
		snap: snapshotOf(r), done: make(chan result, 1)}
	p.products = make([]productRow, len(r.Products))
	for i, x := range r.Products {
		p.products[i] = productRow{productID: clean(x.ID), vendor: clean(x.Vendor), name: clean(x.Name), version: clean(x.Version),
			category: clean(x.Category), state: clean(x.State), restricted: x.Restricted, whiteLabel: x.WhiteLabel,
			technology: clean(x.Technology), confidence: clean(x.Confidence),
			definitionsDate: dateOrEmpty(x.DefinitionsDate), evidence: evidenceSummary(x.Evidence)}
		if x.Policy != nil {
			p.products[i].updatesEnded = dateOrEmpty(x.Policy.UpdatesEnded)
			p.products[i].definitionsStopped = StoppedAtBan(p.products[i].definitionsDate, p.products[i].updatesEnded)
		}
	}
	// Keys that differ only by a NUL would collide once cleaned: keep one.
	p.tags = make(map[string]string, len(r.Tags))
	for k, v := range r.Tags {
		p.tags[clean(k)] = clean(v)
	}
	return p, nil
}

// startWriters starts the store's writers; [Store.Close] stops them.
func (s *Store) startWriters(n int) {
	s.tokUsed = map[string]int64{}
	s.queue = make(chan *pending, queueLen)
	for range n {
		s.writers.Add(1)
		go s.writer()
	}
}

// stopWriters lets the writers store what is queued, and waits for them.
func (s *Store) stopWriters() {
	s.qmu.Lock()
	if !s.qclosed {
		s.qclosed = true
		close(s.queue)
	}
	s.qmu.Unlock()
	s.writers.Wait()
}

// writer stores queued reports in batches until the queue is closed and
// empty. A batch never holds one report id twice (the second waits for
// the next batch, to be a duplicate or a conflict of the first).
func (s *Store) writer() {
	defer s.writers.Done()
	var carry []*pending
	open := true
	for open || len(carry) > 0 {
		var batch []*pending
		ids := map[string]bool{}
		add := func(p *pending) {
			switch id := p.in.Report.ReportID; {
			case p.ctx.Err() != nil:
				p.done <- result{err: fmt.Errorf("ingesting report %s: %w", id, p.ctx.Err())}
			case ids[id] || len(batch) == maxBatch:
				carry = append(carry, p)
			default:
				ids[id] = true
				batch = append(batch, p)
			}
		}
		waiting := carry
		carry = nil
		for _, p := range waiting {
			add(p)
		}
		if len(batch) == 0 && len(carry) == 0 && open {
			p, ok := <-s.queue
			if !ok {
				return
			}
			add(p)
		}
	fill:
		for open && len(batch) < maxBatch {
			select {
			case p, ok := <-s.queue:
				if !ok {
					open = false
					break fill
				}
				add(p)
			default:
				break fill
			}
		}
		if len(batch) > 0 {
			s.commitBatch(batch)
		}
	}
}

// commitBatch stores batch in one transaction and answers each report.
// When the transaction fails, each report is tried alone, so that a
// report the database refuses fails by itself.
func (s *Store) commitBatch(batch []*pending) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	var (
		results []result
		err     error
	)
	for attempt := 1; ; attempt++ {
		results, err = s.applyBatch(ctx, batch)
		if err == nil || attempt == batchRetries || !retryable(err) {
			break
		}
		s.log.Debug("retrying a batch of reports", "reports", len(batch), "attempt", attempt, "err", err)
	}
	if err != nil && len(batch) > 1 {
		s.log.Warn("a batch of reports failed; storing them one by one", "reports", len(batch), "err", err)
		for _, p := range batch {
			s.commitBatch([]*pending{p})
		}
		return
	}
	for i, p := range batch {
		if err != nil {
			p.done <- result{err: fmt.Errorf("ingesting report %s: %w", p.in.Report.ReportID, err)}
			continue
		}
		p.done <- results[i]
	}
}

// retryable reports whether err is a transaction lost to another one
// (PostgreSQL's deadlock detection or serialization failure), which a
// retry may win.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// priorHost is what a batch reads of a host stored before it.
type priorHost struct {
	firstSeen, lastSeen int64
	verdict, tags       string
	products            []productRow
	state, os           string // for the alerts (outbox.go), the trend and counts (trend.go)
	generatedAt         int64
}

// changeRow is a row of changes.
type changeRow struct {
	hostID string
	seq    int
	Change
}

// applyBatch stores batch in one transaction and returns each report's
// outcome. Hosts are created and locked in id order, so that batches on
// several replicas of one PostgreSQL database do not deadlock each other
// (and when one does, PostgreSQL aborts it and commitBatch retries).
func (s *Store) applyBatch(ctx context.Context, batch []*pending) ([]result, error) {
	results := make([]result, len(batch))
	byHost := map[string][]int{} // the batch's reports of each host, in arrival order
	var hostIDs []string
	for i, p := range batch {
		if _, ok := byHost[p.host.id]; !ok {
			hostIDs = append(hostIDs, p.host.id)
		}
		byHost[p.host.id] = append(byHost[p.host.id], i)
	}
	slices.Sort(hostIDs)

	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("beginning a transaction: %w", err)
	}
	defer rollback(tx)

	// Lock and read the hosts stored before; create the others (which
	// locks them). A host another replica creates meanwhile is locked and
	// read after it commits.
	priors := map[string]*priorHost{}
	readHosts := func(ids []any) error {
		if len(ids) == 0 {
			return nil
		}
		return queryEach(ctx, tx, `SELECT id, first_seen, last_seen, verdict, tags, state, last_generated_at, os FROM hosts
			WHERE id IN (`+placeholders(1, len(ids))+`) ORDER BY id`+s.dialect.forUpdate, ids, func(rows *sql.Rows) error {
			var id string
			h := &priorHost{}
			if err := rows.Scan(&id, &h.firstSeen, &h.lastSeen, &h.verdict, &h.tags, &h.state, &h.generatedAt, &h.os); err != nil {
				return err
			}
			priors[id] = h
			return nil
		})
	}
	if err := readHosts(anys(hostIDs)); err != nil {
		return nil, fmt.Errorf("locking hosts: %w", err)
	}
	var missing []string
	for _, id := range hostIDs {
		if priors[id] == nil {
			missing = append(missing, id)
		}
	}
	created := map[string]bool{}
	err = insertReturning(ctx, tx, "hosts ("+hostRowColumns+")", hostColumnCount, len(missing),
		func(i int, args []any) []any { return append(args, batch[byHost[missing[i]][0]].host.args()...) },
		" ON CONFLICT (id) DO NOTHING RETURNING id", func(rows *sql.Rows) error {
			var id string
			err := rows.Scan(&id)
			created[id] = true
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("inserting hosts: %w", err)
	}
	var raced []any
	for _, id := range missing {
		if !created[id] {
			raced = append(raced, id)
		}
	}
	if err := readHosts(raced); err != nil {
		return nil, fmt.Errorf("locking hosts: %w", err)
	}

	// The time each report was received, moved forward by microseconds
	// where needed so that a host's reports' received_at follow the order
	// they are stored in, even when replicas' clocks differ: the history
	// is listed in that order.
	recv := make([]int64, len(batch))
	for _, id := range hostIDs {
		prev := int64(math.MinInt64)
		if h := priors[id]; h != nil {
			prev = h.lastSeen
		}
		for _, i := range byHost[id] {
			recv[i] = max(micros(batch[i].in.ReceivedAt), prev+1)
			prev = recv[i]
		}
	}

	// The reports; those whose id is taken are duplicates or conflicts.
	stored := map[string]bool{}
	err = insertReturning(ctx, tx, "reports (id, host_id, generated_at, received_at, token_id, sha256, size, body, public_key, signature)", 10, len(batch),
		func(i int, args []any) []any {
			p := batch[i]
			return append(args, p.in.Report.ReportID, p.host.id, p.host.generatedAt, recv[i], p.in.TokenID,
				p.sum[:], int64(len(p.in.Raw)), p.body, nullBytes(p.in.PublicKey), nullBytes(p.in.Signature))
		},
		" ON CONFLICT (id) DO NOTHING RETURNING id", func(rows *sql.Rows) error {
			var id string
			err := rows.Scan(&id)
			stored[id] = true
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("inserting reports: %w", err)
	}
	var taken []any
	for i, p := range batch {
		if stored[p.in.Report.ReportID] {
			results[i] = result{out: Stored}
		} else {
			taken = append(taken, p.in.Report.ReportID)
		}
	}
	if len(taken) > 0 {
		sums := map[string][]byte{}
		err := queryEach(ctx, tx, "SELECT id, sha256 FROM reports WHERE id IN ("+placeholders(1, len(taken))+")", taken,
			func(rows *sql.Rows) error {
				var id string
				var sum []byte
				err := rows.Scan(&id, &sum)
				sums[id] = sum
				return err
			})
		if err != nil {
			return nil, fmt.Errorf("reading stored reports: %w", err)
		}
		for i, p := range batch {
			switch id := p.in.Report.ReportID; {
			case stored[id]:
			case sums[id] == nil:
				return nil, fmt.Errorf("report %s: neither inserted nor found", id)
			case string(sums[id]) == string(p.sum[:]):
				results[i] = result{out: Duplicate}
			default:
				results[i] = result{err: fmt.Errorf("report %s: %w", id, ErrConflict)}
			}
		}
	}

	// The current products of the hosts that have a new report.
	var readProducts []any
	for _, id := range hostIDs {
		if priors[id] != nil && slices.ContainsFunc(byHost[id], func(i int) bool { return results[i].out == Stored }) {
			readProducts = append(readProducts, id)
		}
	}
	if len(readProducts) > 0 {
		err := queryEach(ctx, tx, `SELECT host_id, product_id, vendor, name, version, category, state, restricted, white_label,
			technology, confidence FROM host_products WHERE host_id IN (`+placeholders(1, len(readProducts))+`) ORDER BY host_id, pos`,
			readProducts, func(rows *sql.Rows) error {
				var id string
				var p productRow
				var restricted, whiteLabel int64
				if err := rows.Scan(&id, &p.productID, &p.vendor, &p.name, &p.version, &p.category, &p.state, &restricted,
					&whiteLabel, &p.technology, &p.confidence); err != nil {
					return err
				}
				p.restricted, p.whiteLabel = restricted != 0, whiteLabel != 0
				priors[id].products = append(priors[id].products, p)
				return nil
			})
		if err != nil {
			return nil, fmt.Errorf("reading current products: %w", err)
		}
	}

	// Each host's new reports in the order received: each one's changes
	// are against the one before, and the last is the current state.
	var (
		hosts                   []*hostRow
		products, tags          []*pending // the reports whose products (tags) replace their host's
		clearProducts, clearTag []any
		orphans                 []any
		changes                 []changeRow
		states                  []stateChange // for the alert outbox
		tokens                  = map[string]int64{}
		trend                   = newTrendDeltas()
	)
	for _, id := range hostIDs {
		var news []*pending
		var newsAt []int64
		for _, i := range byHost[id] {
			if results[i].out == Stored {
				news = append(news, batch[i])
				newsAt = append(newsAt, recv[i])
			}
		}
		prior := priors[id]
		if len(news) == 0 {
			if prior == nil {
				orphans = append(orphans, id) // created for a duplicate or conflict
			}
			continue
		}
		trend.addHost(prior, news, newsAt)
		var prev *snapshot
		if prior != nil {
			prev = &snapshot{verdict: prior.verdict}
			for _, p := range prior.products {
				prev.products = append(prev.products, snapProduct{ID: p.productID, Name: p.name, Version: p.version, State: p.state})
			}
		}
		first, last := int64(0), int64(0)
		state := ""
		if prior != nil {
			state = prior.state
		}
		for n, p := range news {
			states = appendStateChange(states, state, p.host, newsAt[n])
			state = p.host.state
			for seq, c := range diff(prev, p.snap) {
				changes = append(changes, changeRow{hostID: id, seq: seq, Change: c})
			}
			prev = &news[n].snap
			at := newsAt[n]
			if n == 0 {
				first = at
			}
			last = at
			tokens[p.in.TokenID] = max(tokens[p.in.TokenID], at)
		}
		cur := news[len(news)-1]
		h := *cur.host
		h.firstSeen, h.lastSeen = first, last
		if prior != nil {
			h.firstSeen, h.lastSeen = min(first, prior.firstSeen), max(last, prior.lastSeen)
		}
		hosts = append(hosts, &h)
		if prior == nil || !slices.Equal(prior.products, cur.products) {
			products = append(products, cur)
			if prior != nil {
				clearProducts = append(clearProducts, id)
			}
		}
		if prior == nil || prior.tags != h.tags {
			tags = append(tags, cur)
			if prior != nil {
				clearTag = append(clearTag, id)
			}
		}
	}

	if err := insertReturning(ctx, tx, "hosts ("+hostRowColumns+")", hostColumnCount, len(hosts),
		func(i int, args []any) []any { return append(args, hosts[i].args()...) }, hostUpsert, nil); err != nil {
		return nil, fmt.Errorf("updating hosts: %w", err)
	}
	for _, c := range []struct {
		table string
		ids   []any
	}{{"host_products", clearProducts}, {"host_tags", clearTag}, {"hosts", orphans}} {
		if len(c.ids) == 0 {
			continue
		}
		col := "host_id"
		if c.table == "hosts" {
			col = "id"
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+c.table+" WHERE "+col+" IN ("+placeholders(1, len(c.ids))+")", c.ids...); err != nil {
			return nil, fmt.Errorf("clearing %s: %w", c.table, err)
		}
	}
	if err := insertProducts(ctx, tx, products); err != nil {
		return nil, err
	}
	if err := insertTags(ctx, tx, tags); err != nil {
		return nil, err
	}
	err = insertReturning(ctx, tx, "changes (report_id, seq, host_id, at, kind, product, from_value, to_value)", 8, len(changes),
		func(i int, args []any) []any {
			c := changes[i]
			return append(args, c.ReportID, int64(c.seq), c.hostID, micros(c.At), c.Kind, c.Product, c.From, c.To)
		}, "", nil)
	if err != nil {
		return nil, fmt.Errorf("inserting changes: %w", err)
	}
	if err := s.enqueueAlerts(ctx, tx, states); err != nil {
		return nil, err
	}
	if err := trend.apply(ctx, tx); err != nil {
		return nil, err
	}
	// Note each token's use, at most once a minute, so that a busy token
	// does not make every batch wait on its row (nor write it when this
	// replica wrote it less than a minute ago).
	const minute = int64(time.Minute / time.Microsecond)
	tokenIDs := make([]string, 0, len(tokens))
	s.tokUseMu.Lock()
	for id, recv := range tokens {
		if recv-s.tokUsed[id] >= minute {
			tokenIDs = append(tokenIDs, id)
		}
	}
	s.tokUseMu.Unlock()
	slices.Sort(tokenIDs)
	for _, id := range tokenIDs {
		recv := tokens[id]
		if _, err := tx.ExecContext(ctx, `UPDATE tokens SET last_used_at = $2
			WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)`,
			id, recv, recv-minute); err != nil {
			return nil, fmt.Errorf("updating token: %w", err)
		}
	}
	// The chain last: its head is locked from here to the commit.
	var links []chainLink
	for i, p := range batch {
		if results[i].out == Stored {
			links = append(links, chainLink{reportID: p.in.Report.ReportID, hostID: p.host.id, receivedAt: recv[i], sum: p.sum})
		}
	}
	if err := appendChain(ctx, tx, s.dialect.forUpdate, links, false, s.dbClock); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("committing: %w", err)
	}
	s.tokUseMu.Lock()
	for _, id := range tokenIDs {
		s.tokUsed[id] = max(s.tokUsed[id], tokens[id])
	}
	s.tokUseMu.Unlock()
	return results, nil
}

// hostColumnCount is the number of columns in hostRowColumns.
const hostColumnCount = 21

// hostUpsert makes an INSERT of host rows replace the rows that exist:
// every column of hostRowColumns but id set from the new row. It is written
// out, not built at start-up; TestHostUpsertColumns checks it against
// hostRowColumns.
const hostUpsert = " ON CONFLICT (id) DO UPDATE SET " +
	"hostname = excluded.hostname, os = excluded.os, os_version = excluded.os_version, " +
	"arch = excluded.arch, agent_version = excluded.agent_version, " +
	"catalog_version = excluded.catalog_version, tags = excluded.tags, " +
	"search = excluded.search, first_seen = excluded.first_seen, " +
	"last_seen = excluded.last_seen, last_report_id = excluded.last_report_id, " +
	"last_generated_at = excluded.last_generated_at, compliant = excluded.compliant, " +
	"verdict = excluded.verdict, state = excluded.state, state_rank = excluded.state_rank, " +
	"white_label = excluded.white_label, restricted = excluded.restricted, " +
	"protection = excluded.protection, product_count = excluded.product_count"

// insertProducts writes the products of each report as its host's.
func insertProducts(ctx context.Context, tx *sql.Tx, reports []*pending) error {
	type ref struct{ rep, pos int }
	var rows []ref
	for i, p := range reports {
		for j := range p.products {
			rows = append(rows, ref{i, j})
		}
	}
	err := insertReturning(ctx, tx, "host_products (host_id, pos, product_id, vendor, vendor_lc, name, version, category, state, restricted, white_label, technology, confidence, definitions_date, updates_ended, evidence, definitions_stopped)",
		17, len(rows), func(i int, args []any) []any {
			p := reports[rows[i].rep]
			x := p.products[rows[i].pos]
			return append(args, p.host.id, int64(rows[i].pos), x.productID, x.vendor, strings.ToLower(x.vendor), x.name, x.version,
				x.category, x.state, boolInt(x.restricted), boolInt(x.whiteLabel), x.technology, x.confidence,
				x.definitionsDate, x.updatesEnded, x.evidence, boolInt(x.definitionsStopped))
		}, "", nil)
	if err != nil {
		return fmt.Errorf("inserting products: %w", err)
	}
	return nil
}

// insertTags writes the tags of each report as its host's.
func insertTags(ctx context.Context, tx *sql.Tx, reports []*pending) error {
	type tag struct{ host, key, value string }
	var rows []tag
	for _, p := range reports {
		for _, k := range sortedKeys(p.tags) {
			rows = append(rows, tag{p.host.id, k, p.tags[k]})
		}
	}
	err := insertReturning(ctx, tx, "host_tags (host_id, tag_key, tag_value)", 3, len(rows), func(i int, args []any) []any {
		return append(args, rows[i].host, rows[i].key, rows[i].value)
	}, "", nil)
	if err != nil {
		return fmt.Errorf("inserting tags: %w", err)
	}
	return nil
}

// insertReturning inserts n rows of cols columns into table (with its
// column list) in multi-row statements ending in suffix; row appends row
// i's values to args. With scan, the statements are queries (suffix has a
// RETURNING clause) and scan reads each row they return.
func insertReturning(ctx context.Context, tx *sql.Tx, table string, cols, n int, row func(i int, args []any) []any,
	suffix string, scan func(*sql.Rows) error) error {
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
		q.WriteString(suffix)
		if scan == nil {
			if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
				return err
			}
			continue
		}
		if err := queryEach(ctx, tx, q.String(), args, scan); err != nil {
			return err
		}
	}
	return nil
}

// anys converts strings to query arguments.
func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// rowsQueryer is what queryEach reads from: a transaction or the pool.
type rowsQueryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryEach runs query and calls scan for each row.
func queryEach(ctx context.Context, q rowsQueryer, query string, args []any, scan func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
