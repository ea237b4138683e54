package store

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/avscout/avscout/internal/auditbundle"
)

// The report chain (migration 5): see package auditbundle for what an
// entry's hash covers and why.

// chainPage is how many rows one query of the chain backfill or of an
// export reads.
const chainPage = 500

// chainLink is a report to chain, in the order of appending.
type chainLink struct {
	reportID, hostID string
	receivedAt       int64
	sum              [auditbundle.HashSize]byte
}

// appendChain appends an entry for each link, in order, in tx. It locks
// the chain head first, so that transactions of several replicas append
// one after another; call it as late in the transaction as possible.
func appendChain(ctx context.Context, tx *sql.Tx, forUpdate string, links []chainLink) error {
	if len(links) == 0 {
		return nil
	}
	var seq int64
	var hash []byte
	if err := tx.QueryRowContext(ctx, "SELECT seq, hash FROM chain_head WHERE id = 1"+forUpdate).Scan(&seq, &hash); err != nil {
		return fmt.Errorf("locking the chain head: %w", err)
	}
	if len(hash) != auditbundle.HashSize {
		return fmt.Errorf("chain head: a hash of %d bytes", len(hash))
	}
	prev := &auditbundle.Entry{Seq: seq, Hash: [auditbundle.HashSize]byte(hash)}
	entries := make([]auditbundle.Entry, len(links))
	for i, l := range links {
		entries[i] = auditbundle.Next(prev, l.reportID, l.hostID, l.receivedAt, l.sum)
		prev = &entries[i]
	}
	err := insertReturning(ctx, tx, "report_chain (seq, report_id, host_id, received_at, report_sha256, prev_hash, hash)", 7, len(entries),
		func(i int, args []any) []any {
			e := &entries[i]
			return append(args, e.Seq, e.ReportID, e.HostID, e.ReceivedAt, e.ReportSHA256[:], e.Prev[:], e.Hash[:])
		}, "", nil)
	if err != nil {
		return fmt.Errorf("appending to the chain: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE chain_head SET seq = $1, hash = $2 WHERE id = 1", prev.Seq, prev.Hash[:]); err != nil {
		return fmt.Errorf("moving the chain head: %w", err)
	}
	return nil
}

// backfillChain chains the reports stored before migration 5, in
// receipt order (received_at, then id), a page at a time so that memory
// stays bounded, and creates the head.
func backfillChain(ctx context.Context, tx *sql.Tx) error {
	var zero [auditbundle.HashSize]byte
	if _, err := tx.ExecContext(ctx, "INSERT INTO chain_head (id, seq, hash) VALUES (1, 0, $1)", zero[:]); err != nil {
		return fmt.Errorf("creating the chain head: %w", err)
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
			return nil
		}
		// No row lock: the migration holds its own.
		if err := appendChain(ctx, tx, "", links); err != nil {
			return fmt.Errorf("chaining stored reports: %w", err)
		}
		lastAt, lastID = links[len(links)-1].receivedAt, links[len(links)-1].reportID
	}
}

// ChainHead returns the chain's last entry (seq 0 and a zero hash when
// empty).
func (s *Store) ChainHead(ctx context.Context) (int64, [auditbundle.HashSize]byte, error) {
	var seq int64
	var hash []byte
	var out [auditbundle.HashSize]byte
	if err := s.r.QueryRowContext(ctx, "SELECT seq, hash FROM chain_head WHERE id = 1").Scan(&seq, &hash); err != nil {
		return 0, out, fmt.Errorf("reading the chain head: %w", err)
	}
	copy(out[:], hash)
	return seq, out, nil
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
	err := s.readEach(ctx, `SELECT c.seq, c.report_id, c.host_id, c.received_at, c.report_sha256, c.prev_hash, c.hash,
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

// AuditRange calls fn for each administrator action at or after since
// and before until, oldest first, a page at a time.
func (s *Store) AuditRange(ctx context.Context, since, until time.Time, fn func(AuditEntry) error) error {
	lastAt, lastID := micros(since), "" // ids are not empty: the first page starts at since
	for {
		var page []AuditEntry
		err := s.readEach(ctx, `SELECT id, at, credential, remote, action, target, detail FROM admin_audit
			WHERE (at > $1 OR (at = $1 AND id > $2)) AND at < $3 ORDER BY at, id LIMIT $4`,
			[]any{lastAt, lastID, micros(until), chainPage}, func(rows *sql.Rows) error {
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
			return fmt.Errorf("reading the audit log: %w", err)
		}
		for _, e := range page {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(page) < chainPage {
			return nil
		}
		lastAt, lastID = micros(page[len(page)-1].At), page[len(page)-1].ID
	}
}

// readEach runs a read query and calls scan for each row.
func (s *Store) readEach(ctx context.Context, query string, args []any, scan func(*sql.Rows) error) error {
	rows, err := s.r.QueryContext(ctx, query, args...)
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
