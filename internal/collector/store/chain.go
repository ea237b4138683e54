package store

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/avscout/avscout/internal/auditbundle"
)

// The report chain (migration 6): see package auditbundle for what an
// entry's hash covers and why.

// chainMigration is the version of the migration that creates the
// chains (migrations/00NN_chain.sql); renumbering that file means
// changing this alone.
const chainMigration = 6

// chainPage is how many rows one query of the chain backfill or of an
// export reads.
const chainPage = 500

// chainLink is a report to chain, in the order of appending.
type chainLink struct {
	reportID, hostID string
	receivedAt       int64
	sum              [auditbundle.HashSize]byte
}

// The rows of chain_head: one per chain.
const (
	reportChainID = 1
	accessChainID = 2
)

// lockHead reads chain id's head, locking its row (forUpdate) until the
// transaction ends, so that transactions of several replicas append one
// after another.
func lockHead(ctx context.Context, tx *sql.Tx, forUpdate string, id int) (int64, [auditbundle.HashSize]byte, error) {
	var seq int64
	var hash []byte
	var out [auditbundle.HashSize]byte
	if err := tx.QueryRowContext(ctx, "SELECT seq, hash FROM chain_head WHERE id = $1"+forUpdate, id).Scan(&seq, &hash); err != nil {
		return 0, out, fmt.Errorf("locking the chain head: %w", err)
	}
	if len(hash) != auditbundle.HashSize {
		return 0, out, fmt.Errorf("chain head: a hash of %d bytes", len(hash))
	}
	copy(out[:], hash)
	return seq, out, nil
}

func moveHead(ctx context.Context, tx *sql.Tx, id int, seq int64, hash [auditbundle.HashSize]byte) error {
	if _, err := tx.ExecContext(ctx, "UPDATE chain_head SET seq = $1, hash = $2 WHERE id = $3", seq, hash[:], id); err != nil {
		return fmt.Errorf("moving the chain head: %w", err)
	}
	return nil
}

// appendChain appends an entry for each link, in order, in tx. It locks
// the chain head first; call it as late in the transaction as possible.
//
// An entry's receipt time is the link's, or with dbClock the database
// server's clock as it is chained (one clock for every replica, so that
// none running ahead can drag the chain's times along), or the earliest
// the chain allows when that is later (see nextReceived): receipt times
// rise strictly along the chain, whatever the order in which reports
// received at the same time reach it, and never fall before the last
// export's cut. So the reports received before a cut are a prefix of the
// chain, which [Store.ChainCut] relies on. (With dbClock, the chain's
// time is when the report was stored, a moment after reports.received_at.)
//
// backfill says the chain is being built by its own migration, before
// the column of the cut exists (and before any export).
func appendChain(ctx context.Context, tx *sql.Tx, forUpdate string, links []chainLink, backfill, dbClock bool) error {
	if len(links) == 0 {
		return nil
	}
	seq, hash, err := lockHead(ctx, tx, forUpdate, reportChainID)
	if err != nil {
		return err
	}
	next, now, err := nextReceived(ctx, tx, seq, backfill, dbClock)
	if err != nil {
		return err
	}
	prev := &auditbundle.Entry{Seq: seq, Hash: hash}
	entries := make([]auditbundle.Entry, len(links))
	for i, l := range links {
		at := max(cmp.Or(now, l.receivedAt), next)
		entries[i] = auditbundle.Next(prev, l.reportID, l.hostID, at, l.sum)
		prev, next = &entries[i], at+1
	}
	err = insertReturning(ctx, tx, "report_chain (seq, report_id, host_id, received_at, report_sha256, prev_hash, hash)", 7, len(entries),
		func(i int, args []any) []any {
			e := &entries[i]
			return append(args, e.Seq, e.ReportID, e.HostID, e.ReceivedAt, e.ReportSHA256[:], e.Prev[:], e.Hash[:])
		}, "", nil)
	if err != nil {
		return fmt.Errorf("appending to the chain: %w", err)
	}
	return moveHead(ctx, tx, reportChainID, prev.Seq, prev.Hash)
}

// nextReceived returns the earliest receipt time the report chain's next
// entry may have, the head being entry seq (see nextTime). backfill: the
// chain is being built by its own migration, before the cut's column.
func nextReceived(ctx context.Context, tx *sql.Tx, seq int64, backfill, dbClock bool) (next, now int64, err error) {
	next, now, err = nextTime(ctx, tx, "SELECT received_at FROM report_chain WHERE seq = $1", seq, !backfill, dbClock)
	if err != nil {
		return 0, 0, fmt.Errorf("reading the chain's last entry: %w", err)
	}
	return next, now, nil
}

// nextAccessAt locks the access log's chain head in tx and returns the
// earliest time its next entry may have (see nextTime).
func nextAccessAt(ctx context.Context, tx *sql.Tx, forUpdate string, dbClock bool) (next, now int64, err error) {
	seq, _, err := lockHead(ctx, tx, forUpdate, accessChainID)
	if err != nil {
		return 0, 0, err
	}
	next, now, err = nextTime(ctx, tx, "SELECT at FROM access_chain WHERE seq = $1", seq, true, dbClock)
	if err != nil {
		return 0, 0, fmt.Errorf("reading the access log's last entry: %w", err)
	}
	return next, now, nil
}

// nextTime returns the earliest time a chain's next entry may have: a
// microsecond after its head's, entry seq (lastQuery reads that entry's
// time), and, with cut, not before the last export's cut, which the
// report chain's head row holds for both chains. With dbClock it also
// returns the database server's clock, which then stands for the time of
// what is being chained (0 otherwise).
func nextTime(ctx context.Context, tx *sql.Tx, lastQuery string, seq int64, cut, dbClock bool) (next, now int64, err error) {
	cutColumn := "0"
	if cut {
		cutColumn = "h.cut_us"
	}
	var floor, last int64
	err = tx.QueryRowContext(ctx, "SELECT "+cutColumn+", COALESCE(("+lastQuery+"), 0), "+clockColumn(dbClock)+
		" FROM chain_head h WHERE h.id = $2", seq, reportChainID).Scan(&floor, &last, &now)
	return max(last+1, floor), now, err
}

// clockColumn is a select-list item: the database server's clock in Unix
// microseconds (PostgreSQL) with dbClock, else 0.
func clockColumn(dbClock bool) string {
	if dbClock {
		return "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)"
	}
	return "0"
}

// ChainCut returns where an export asked to end at until ends: until,
// or just after now when until is later (now by the database server's
// clock with dbClock: `audit export` may run on a machine whose clock is
// off). It first waits for the reports and access log entries being
// appended to their chains (by any replica) to be stored, by taking both
// chain heads' locks (the report chain's first, as no other transaction
// takes both), and records the cut, so that every report and access
// entry appended from then on gets a time at or after it.
//
// So a bundle ending at the cut holds every report and action the chains
// will ever have from before it, and the next bundle, starting at the
// cut, every one after: a report received before the export but stored
// after it falls into the next bundle, never between the two.
func (s *Store) ChainCut(ctx context.Context, until time.Time) (time.Time, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return until, fmt.Errorf("cutting the chain: %w", err)
	}
	defer rollback(tx) // after Commit, a no-op
	for _, id := range []int{reportChainID, accessChainID} {
		if _, _, err := lockHead(ctx, tx, s.dialect.forUpdate, id); err != nil {
			return until, err
		}
	}
	now := micros(s.now())
	if s.dbClock {
		if err := tx.QueryRowContext(ctx, "SELECT "+clockColumn(true)).Scan(&now); err != nil {
			return until, fmt.Errorf("cutting the chain: reading the database's clock: %w", err)
		}
	}
	cut := min(micros(until), now+1)
	if _, err := tx.ExecContext(ctx, "UPDATE chain_head SET cut_us = $1 WHERE id = $2 AND cut_us < $1", cut, reportChainID); err != nil {
		return until, fmt.Errorf("cutting the chain: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return until, fmt.Errorf("cutting the chain: %w", err)
	}
	return fromMicros(cut), nil
}

// bundleAccess is an access log entry as the bundle holds it (and its
// digest covers): times in whole microseconds, as stored.
func bundleAccess(e *AuditEntry) auditbundle.AccessEntry {
	return auditbundle.AccessEntry{ID: e.ID, At: fromMicros(micros(e.At)), Credential: e.Credential, Remote: e.Remote,
		Action: e.Action, Target: e.Target, Detail: e.Detail}
}

// appendAccess appends the access log entry e (already inserted) to the
// access log's chain in tx.
func appendAccess(ctx context.Context, tx *sql.Tx, forUpdate string, e *AuditEntry) error {
	seq, prev, err := lockHead(ctx, tx, forUpdate, accessChainID)
	if err != nil {
		return err
	}
	seq++
	at := micros(e.At)
	digest := auditbundle.AccessDigest(bundleAccess(e))
	hash := auditbundle.AccessHash(seq, prev, digest, at, e.ID)
	if _, err := tx.ExecContext(ctx, "INSERT INTO access_chain (seq, audit_id, at, entry_sha256, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6)",
		seq, e.ID, at, digest[:], prev[:], hash[:]); err != nil {
		return fmt.Errorf("appending to the access log's chain: %w", err)
	}
	return moveHead(ctx, tx, accessChainID, seq, hash)
}

// backfillChain chains the reports stored before migration 6, in
// receipt order (received_at, then id), and the access log's entries in
// (at, id) order, a page at a time so that memory stays bounded, and
// creates the heads. The migration holds its own lock: no row locks.
func backfillChain(ctx context.Context, tx *sql.Tx) error {
	var zero [auditbundle.HashSize]byte
	if _, err := tx.ExecContext(ctx, "INSERT INTO chain_head (id, seq, hash) VALUES ($1, 0, $3), ($2, 0, $3)",
		reportChainID, accessChainID, zero[:]); err != nil {
		return fmt.Errorf("creating the chain heads: %w", err)
	}
	lastAt, lastID := int64(-1<<63), ""
	for {
		var links []chainLink
		err := queryEach(ctx, tx, `SELECT id, host_id, received_at, sha256 FROM reports
			WHERE received_at > $1 OR (received_at = $1 AND id > $2) ORDER BY received_at, id LIMIT $3`,
			[]any{lastAt, lastID, chainPage}, func(rows *sql.Rows) error {
				var l chainLink
				var sum []byte
				if err := rows.Scan(&l.reportID, &l.hostID, &l.receivedAt, &sum); err != nil {
					return err
				}
				copy(l.sum[:], sum)
				links = append(links, l)
				return nil
			})
		if err != nil {
			return fmt.Errorf("chaining stored reports: %w", err)
		}
		if len(links) == 0 {
			break
		}
		if err := appendChain(ctx, tx, "", links, true, false); err != nil {
			return fmt.Errorf("chaining stored reports: %w", err)
		}
		lastAt, lastID = links[len(links)-1].receivedAt, links[len(links)-1].reportID
	}
	lastAt, lastID = int64(-1<<63), ""
	for {
		var page []AuditEntry
		err := queryEach(ctx, tx, `SELECT id, at, credential, remote, action, target, detail FROM admin_audit
			WHERE at > $1 OR (at = $1 AND id > $2) ORDER BY at, id LIMIT $3`, []any{lastAt, lastID, chainPage}, func(rows *sql.Rows) error {
			var e AuditEntry
			var at int64
			if err := rows.Scan(&e.ID, &at, &e.Credential, &e.Remote, &e.Action, &e.Target, &e.Detail); err != nil {
				return err
			}
			e.At = fromMicros(at)
			page = append(page, e)
			return nil
		})
		if err != nil {
			return fmt.Errorf("chaining the access log: %w", err)
		}
		if len(page) == 0 {
			return nil
		}
		for i := range page {
			if err := appendAccess(ctx, tx, "", &page[i]); err != nil {
				return fmt.Errorf("chaining the access log: %w", err)
			}
		}
		lastAt, lastID = micros(page[len(page)-1].At), page[len(page)-1].ID
	}
}

// ChainHead returns the report chain's last entry (seq 0 and a zero
// hash when empty).
func (s *Store) ChainHead(ctx context.Context) (auditbundle.ChainHead, error) {
	return s.head(ctx, reportChainID)
}

// AccessHead returns the access log chain's last entry.
func (s *Store) AccessHead(ctx context.Context) (auditbundle.ChainHead, error) {
	return s.head(ctx, accessChainID)
}

func (s *Store) head(ctx context.Context, id int) (auditbundle.ChainHead, error) {
	var h auditbundle.ChainHead
	var hash []byte
	if err := s.r.QueryRowContext(ctx, "SELECT seq, hash FROM chain_head WHERE id = $1", id).Scan(&h.Seq, &hash); err != nil {
		return h, fmt.Errorf("reading the chain head: %w", err)
	}
	copy(h.Hash[:], hash)
	return h, nil
}

// AccessWindow is [Store.ChainWindow] for the access log: the range of
// its chain from the first action at or after since to the last before
// until.
func (s *Store) AccessWindow(ctx context.Context, since, until time.Time) (first, last int64, ok bool, err error) {
	var lo, hi sql.NullInt64
	if err := s.r.QueryRowContext(ctx, "SELECT MIN(seq), MAX(seq) FROM access_chain WHERE at >= $1 AND at < $2",
		micros(since), micros(until)).Scan(&lo, &hi); err != nil {
		return 0, 0, false, fmt.Errorf("reading the access log's window: %w", err)
	}
	return lo.Int64, hi.Int64, lo.Valid, nil
}

// AccessRecord is an entry of the access log's chain with its action.
type AccessRecord struct {
	Seq, At    int64 // At in Unix microseconds
	AuditID    string
	Digest     [auditbundle.HashSize]byte
	Prev, Hash [auditbundle.HashSize]byte
	// Entry is the action as bundled; nil when retention deleted it.
	Entry *auditbundle.AccessEntry
}

// AccessRange calls fn for each entry of the access log's chain from
// first to last, in order, a page at a time.
func (s *Store) AccessRange(ctx context.Context, first, last int64, fn func(AccessRecord) error) error {
	for from := first; from <= last; {
		var page []AccessRecord
		err := queryEach(ctx, s.r, `SELECT c.seq, c.at, c.audit_id, c.entry_sha256, c.prev_hash, c.hash,
			a.id, a.at, a.credential, a.remote, a.action, a.target, a.detail
			FROM access_chain c LEFT JOIN admin_audit a ON a.id = c.audit_id
			WHERE c.seq >= $1 AND c.seq <= $2 ORDER BY c.seq LIMIT $3`, []any{from, last, chainPage}, func(rows *sql.Rows) error {
			var rec AccessRecord
			var digest, prev, hash []byte
			var id, cred, remote, action, target, detail sql.NullString
			var at sql.NullInt64
			if err := rows.Scan(&rec.Seq, &rec.At, &rec.AuditID, &digest, &prev, &hash, &id, &at, &cred, &remote, &action, &target, &detail); err != nil {
				return err
			}
			copy(rec.Digest[:], digest)
			copy(rec.Prev[:], prev)
			copy(rec.Hash[:], hash)
			if id.Valid {
				e := AuditEntry{ID: id.String, At: fromMicros(at.Int64), Credential: cred.String, Remote: remote.String,
					Action: action.String, Target: target.String, Detail: detail.String}
				b := bundleAccess(&e)
				rec.Entry = &b
			}
			page = append(page, rec)
			return nil
		})
		if err != nil {
			return fmt.Errorf("reading the access log's chain from entry %d: %w", from, err)
		}
		if len(page) == 0 {
			return nil
		}
		for _, rec := range page {
			if err := fn(rec); err != nil {
				return err
			}
		}
		from = page[len(page)-1].Seq + 1
	}
	return nil
}

// ChainWindow returns the range of chain entries from the first report
// received at or after since to the last received before until: every
// entry between them, so that the range is contiguous even where
// replicas' clocks disagree. ok is false when no report was received in
// the window.
func (s *Store) ChainWindow(ctx context.Context, since, until time.Time) (first, last int64, ok bool, err error) {
	var lo, hi sql.NullInt64
	if err := s.r.QueryRowContext(ctx, "SELECT MIN(seq), MAX(seq) FROM report_chain WHERE received_at >= $1 AND received_at < $2",
		micros(since), micros(until)).Scan(&lo, &hi); err != nil {
		return 0, 0, false, fmt.Errorf("reading the chain window: %w", err)
	}
	return lo.Int64, hi.Int64, lo.Valid, nil
}

// ChainRecord is a chain entry with its report as stored.
type ChainRecord struct {
	Entry auditbundle.Entry
	// Raw is the report as received; nil when it was pruned.
	Raw       []byte
	PublicKey []byte
	Signature []byte
}

// ChainRange calls fn for each chain entry from seq first to last, in
// order, with its report; it reads a page at a time, so memory stays
// bounded, and reads (and decompresses) the next page while fn handles
// this one. The prev hash of entry first is that of the entry before it.
func (s *Store) ChainRange(ctx context.Context, first, last int64, fn func(ChainRecord) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type page struct {
		recs []ChainRecord
		err  error
	}
	pages := make(chan page, 1)
	go func() {
		defer close(pages)
		var zr gzip.Reader
		for from := first; from <= last; {
			recs, err := s.chainPage(ctx, &zr, from, last)
			select {
			case pages <- page{recs, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || len(recs) == 0 {
				return
			}
			from = recs[len(recs)-1].Entry.Seq + 1
		}
	}()
	for p := range pages {
		if p.err != nil {
			return p.err
		}
		for _, rec := range p.recs {
			if err := fn(rec); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

// chainPage reads up to chainPage entries from seq from to last.
func (s *Store) chainPage(ctx context.Context, zr *gzip.Reader, from, last int64) ([]ChainRecord, error) {
	var page []ChainRecord
	err := queryEach(ctx, s.r, `SELECT c.seq, c.report_id, c.host_id, c.received_at, c.report_sha256, c.prev_hash, c.hash,
		r.body, r.size, r.public_key, r.signature FROM report_chain c LEFT JOIN reports r ON r.id = c.report_id
		WHERE c.seq >= $1 AND c.seq <= $2 ORDER BY c.seq LIMIT $3`, []any{from, last, chainPage}, func(rows *sql.Rows) error {
		var rec ChainRecord
		var sum, prev, hash, body []byte
		var size sql.NullInt64
		if err := rows.Scan(&rec.Entry.Seq, &rec.Entry.ReportID, &rec.Entry.HostID, &rec.Entry.ReceivedAt, &sum, &prev, &hash,
			&body, &size, &rec.PublicKey, &rec.Signature); err != nil {
			return err
		}
		copy(rec.Entry.ReportSHA256[:], sum)
		copy(rec.Entry.Prev[:], prev)
		copy(rec.Entry.Hash[:], hash)
		if body != nil {
			raw, err := inflate(zr, body, size.Int64)
			if err != nil {
				return fmt.Errorf("report %s: %w", rec.Entry.ReportID, err)
			}
			rec.Raw = raw
		}
		page = append(page, rec)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the chain from entry %d: %w", from, err)
	}
	return page, nil
}

// inflate decompresses a stored report body whose recorded size is size,
// reusing zr: one allocation of the right size, where a recorded size
// within bounds; the bytes are whatever the body holds, so that a body
// changed in the database shows as a changed report.
func inflate(zr *gzip.Reader, body []byte, size int64) ([]byte, error) {
	if size <= 0 || size > maxRawBody {
		return rawBody(body)
	}
	if err := zr.Reset(bytes.NewReader(body)); err != nil {
		return nil, fmt.Errorf("decompressing stored report: %w", err)
	}
	raw := make([]byte, size, size+1)
	n, err := io.ReadFull(zr, raw)
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return raw[:n], nil
	case err != nil:
		return nil, fmt.Errorf("decompressing stored report: %w", err)
	}
	// Longer than recorded: read the rest, within the bound.
	rest, err := io.ReadAll(io.LimitReader(zr, maxRawBody-size+1))
	if err != nil {
		return nil, fmt.Errorf("decompressing stored report: %w", err)
	}
	if int64(len(rest))+size > maxRawBody {
		return nil, fmt.Errorf("stored report larger than %d MiB decompressed: the database was changed", maxRawBody>>20)
	}
	return append(raw, rest...), nil
}
