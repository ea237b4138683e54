package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/avscout/avscout/internal/report"
)

// backfillBatch is how many hosts one UPDATE statement of the backfill
// rewrites.
const backfillBatch = 500

// backfillVerdicts gives every host stored before migration 2 its verdict,
// compliant flag, state and rank, from its latest report's body by the
// rule of [report.ComputeVerdict] (reports of older agents have no
// verdict of their own). It runs in the migration's transaction; hosts
// whose verdict is set are left alone, so running it again does nothing.
//
// The updates are gathered first and written after the reading query is
// closed: one connection cannot do both at once on PostgreSQL. What is
// kept per host is a few short strings, so a fleet of 100,000 hosts costs
// a few megabytes.
func backfillVerdicts(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT h.id, h.protection, r.body FROM hosts h
		JOIN reports r ON r.id = h.last_report_id WHERE h.verdict = ''`)
	if err != nil {
		return fmt.Errorf("backfilling verdicts: %w", err)
	}
	type update struct {
		id, verdict, state string
	}
	var updates []update
	for rows.Next() {
		var id, protection string
		var body []byte
		if err := rows.Scan(&id, &protection, &body); err != nil {
			rows.Close()
			return fmt.Errorf("backfilling verdicts: %w", err)
		}
		var doc struct {
			Products []report.Product `json:"products"`
			Sources  []report.Source  `json:"sources"`
		}
		if err := decodeBody(body, &doc); err != nil {
			rows.Close()
			return fmt.Errorf("backfilling the verdict of host %q: %w", id, err)
		}
		v := report.ComputeVerdict(doc.Products, doc.Sources)
		updates = append(updates, update{id, v, hostState(v, protection != "[]" && protection != "")})
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("backfilling verdicts: %w", err)
	}
	rows.Close()
	for batch := range slices.Chunk(updates, backfillBatch) {
		// One statement per batch, a CASE on the id per column: the same
		// SQL for SQLite and PostgreSQL.
		var q strings.Builder
		var args []any
		arg := func(v any) string {
			args = append(args, v)
			return fmt.Sprintf("$%d", len(args))
		}
		// The values are cast: PostgreSQL would take untyped CASE results
		// for text.
		column := func(name, typ string, value func(update) any) {
			q.WriteString(name + " = CASE id")
			for _, u := range batch {
				q.WriteString(" WHEN " + arg(u.id) + " THEN CAST(" + arg(value(u)) + " AS " + typ + ")")
			}
			q.WriteString(" END")
		}
		q.WriteString("UPDATE hosts SET ")
		column("verdict", "TEXT", func(u update) any { return u.verdict })
		q.WriteString(", ")
		column("state", "TEXT", func(u update) any { return u.state })
		q.WriteString(", ")
		column("state_rank", "INTEGER", func(u update) any { return stateRank(u.state) })
		q.WriteString(", ")
		column("compliant", "INTEGER", func(u update) any { return boolInt(u.verdict == report.VerdictCompliant) })
		q.WriteString(" WHERE id IN (")
		for i, u := range batch {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString(arg(u.id))
		}
		q.WriteString(")")
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("backfilling verdicts: %w", err)
		}
	}
	return nil
}
