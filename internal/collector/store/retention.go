package store

import (
	"context"
	"fmt"
	"time"
)

// pruneBatch bounds the reports one prune statement deletes, so that on
// SQLite ingest never waits long for the single writer.
const pruneBatch = 500

// Prune deletes the reports received more than keep ago, with their
// changes, except each host's latest report, and returns how many reports
// it deleted. Hosts stay: a host that stopped reporting is news. The
// access log ([AuditRead], [AuditExport]) is kept as long as the reports
// it read; administrators' changes are kept. The fleet trend's rows from
// before the longest trend are folded into one day (see foldTrend).
func (s *Store) Prune(ctx context.Context, keep time.Duration) (int64, error) {
	if keep <= 0 {
		return 0, fmt.Errorf("%w retention %v: must be positive", ErrInvalid, keep)
	}
	cutoff := micros(s.now().Add(-keep))
	if err := s.pruneAccess(ctx, cutoff); err != nil {
		return 0, err
	}
	if err := s.foldTrend(ctx); err != nil {
		return 0, err
	}
	var total int64
	for {
		res, err := s.w.ExecContext(ctx, `DELETE FROM reports WHERE id IN (
			SELECT r.id FROM reports r WHERE r.received_at < $1
			AND NOT EXISTS (SELECT 1 FROM hosts h WHERE h.last_report_id = r.id)
			LIMIT $2)`, cutoff, int64(pruneBatch))
		if err != nil {
			return total, fmt.Errorf("pruning reports: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("pruning reports: %w", err)
		}
		total += n
		if n < pruneBatch {
			if total > 0 {
				return total, s.Optimize(ctx)
			}
			return total, nil
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}

// Optimize refreshes the query planner's statistics (ANALYZE on
// PostgreSQL, PRAGMA optimize on SQLite). Prune calls it after deleting;
// call it after loading many hosts at once.
func (s *Store) Optimize(ctx context.Context) error {
	q := "ANALYZE"
	if s.dialect.name == "sqlite" {
		q = "PRAGMA optimize=0x10002" // analyze every table that needs it, even on a new connection
	}
	if _, err := s.w.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("optimizing %s database: %w", s.dialect.name, err)
	}
	return nil
}

// pruneAccess deletes the access log's entries from before cutoff, in
// batches.
func (s *Store) pruneAccess(ctx context.Context, cutoff int64) error {
	for {
		res, err := s.w.ExecContext(ctx, `DELETE FROM admin_audit WHERE id IN (
			SELECT id FROM admin_audit WHERE at < $1 AND action IN ($2, $3) LIMIT $4)`,
			cutoff, AuditRead, AuditExport, int64(pruneBatch))
		if err != nil {
			return fmt.Errorf("pruning the access log: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("pruning the access log: %w", err)
		}
		if n < pruneBatch {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}
