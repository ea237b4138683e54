package store

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/auditbundle"
	"github.com/avscout/avscout/internal/collector/internal/fleettest"
)

// checkChain walks the whole chain and fails t unless it is numbered
// 1…head without gaps, every entry's hash recomputes and links to the one
// before, and every stored report's digest is its entry's. It returns the
// report ids in chain order.
func checkChain(t *testing.T, s *Store) []string {
	t.Helper()
	ctx := context.Background()
	head, err := s.ChainHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	headSeq, headHash := head.Seq, head.Hash
	var prev auditbundle.Entry
	var ids []string
	err = s.ChainRange(ctx, 1, headSeq, func(rec ChainRecord) error {
		e := rec.Entry
		if e.Seq != prev.Seq+1 || e.Prev != prev.Hash {
			return fmt.Errorf("entry %d (report %s) after entry %d: seq or prev hash does not follow", e.Seq, e.ReportID, prev.Seq)
		}
		if e.Hash != auditbundle.EntryHash(e.Seq, e.Prev, e.ReportSHA256, e.ReceivedAt, e.ReportID, e.HostID) {
			return fmt.Errorf("entry %d: hash does not recompute", e.Seq)
		}
		if rec.Raw == nil || sha256.Sum256(rec.Raw) != e.ReportSHA256 {
			return fmt.Errorf("entry %d: the report's digest is not the entry's", e.Seq)
		}
		prev = e
		ids = append(ids, e.ReportID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if prev.Seq != headSeq || prev.Hash != headHash {
		t.Fatalf("chain ends at %d, head says %d (hashes equal: %v)", prev.Seq, headSeq, prev.Hash == headHash)
	}
	if n := count(t, s, "reports"); n != len(ids) {
		t.Fatalf("%d reports stored, %d chained", n, len(ids))
	}
	return ids
}

// Every stored report is chained once, in the order stored; duplicates
// and conflicts are not.
func TestChainIngest(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, c *clock) {
		ctx := context.Background()
		var want []string
		for i := range 5 {
			r := fleettest.Report(t, "debian-clean", fmt.Sprintf("h%d", i%2), "web", t0.Add(time.Duration(i)*time.Minute))
			ingest(t, s, r, t0.Add(time.Duration(i)*time.Second), Stored)
			ingest(t, s, r, t0.Add(time.Hour), Duplicate)
			want = append(want, r.ReportID)
			if i == 2 {
				changed := *r
				changed.Host.Hostname = "other"
				if _, err := s.Ingest(ctx, Incoming{Report: &changed, Raw: fleettest.JSON(t, &changed), TokenID: "tok", ReceivedAt: t0}); err == nil {
					t.Fatal("a conflicting report was stored")
				}
			}
		}
		if got := checkChain(t, s); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("chain order %v, want %v", got, want)
		}
		first, last, ok, err := s.ChainWindow(ctx, t0.Add(time.Second), t0.Add(4*time.Second))
		if err != nil || !ok || first != 2 || last != 4 {
			t.Errorf("ChainWindow = %d, %d, %v, %v; want 2, 4", first, last, ok, err)
		}
		if _, _, ok, _ := s.ChainWindow(ctx, t0.Add(time.Hour), t0.Add(2*time.Hour)); ok {
			t.Error("ChainWindow found entries in an empty window")
		}
		// Retention prunes reports, never their entries.
		if _, err := s.w.ExecContext(ctx, "DELETE FROM reports WHERE id = $1", want[0]); err != nil {
			t.Fatal(err)
		}
		var pruned int
		if err := s.ChainRange(ctx, 1, 5, func(rec ChainRecord) error {
			if rec.Raw == nil {
				pruned++
			}
			return nil
		}); err != nil || pruned != 1 {
			t.Errorf("ChainRange after a prune: %d without report, err %v; want 1", pruned, err)
		}
	})
}

// Migration 5 chains the reports stored before it, in receipt order.
func TestChainBackfill(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			dsn := dsnFor(t, d)
			s, err := Open(ctx, dsn, Options{})
			if err != nil {
				t.Fatal(err)
			}
			// Received in an order unlike their ids' or scan times'.
			for i, sec := range []int{5, 1, 3, 2, 4, 0} {
				ingest(t, s, fleettest.Report(t, "debian-clean", fmt.Sprintf("host-%d", i), "h", t0), t0.Add(time.Duration(sec)*time.Second), Stored)
			}
			rows, err := s.r.QueryContext(ctx, "SELECT id FROM reports ORDER BY received_at")
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				want = append(want, id)
			}
			rows.Close()
			rollBack(t, s, chainMigration-1)
			s.Close()
			s = openDSN(t, dsn, Options{})
			if got := checkChain(t, s); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("backfilled chain %v, want receipt order %v", got, want)
			}
			// New reports go on from the backfilled head.
			ingest(t, s, fleettest.Report(t, "debian-clean", "late", "late", t0), t0.Add(time.Minute), Stored)
			if got := checkChain(t, s); len(got) != len(want)+1 {
				t.Errorf("chain of %d after one more report, want %d", len(got), len(want)+1)
			}
		})
	}
}

// Two collectors sharing one database (replicas) ingesting at once keep
// one chain: every report once, numbered without gaps.
func TestChainReplicas(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			dsn := dsnFor(t, d)
			replicas := []*Store{openDSN(t, dsn, Options{}), openDSN(t, dsn, Options{})}
			const perReplica = 150
			var wg sync.WaitGroup
			errs := make(chan error, 2*perReplica)
			for n, s := range replicas {
				for i := range perReplica {
					r := fleettest.Report(t, []string{"debian-clean", "debian-kaspersky"}[i%2], fmt.Sprintf("r%d-h%d", n, i%7), "h", t0.Add(time.Duration(i)*time.Second))
					raw := fleettest.JSON(t, r)
					wg.Go(func() {
						if _, err := s.Ingest(context.Background(), Incoming{Report: r, Raw: raw, TokenID: "tok", ReceivedAt: t0}); err != nil {
							errs <- err
						}
					})
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if got := checkChain(t, replicas[0]); len(got) != 2*perReplica {
				t.Errorf("%d entries, want %d", len(got), 2*perReplica)
			}
		})
	}
}

// checkAccessChain walks the access log's chain like checkChain and
// returns the actions in chain order.
func checkAccessChain(t *testing.T, s *Store) []string {
	t.Helper()
	ctx := context.Background()
	head, err := s.AccessHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var prevSeq int64
	var prev [auditbundle.HashSize]byte
	var actions []string
	err = s.AccessRange(ctx, 1, head.Seq, func(rec AccessRecord) error {
		switch {
		case rec.Seq != prevSeq+1 || rec.Prev != prev:
			return fmt.Errorf("access entry %d after %d: seq or prev does not follow", rec.Seq, prevSeq)
		case rec.Hash != auditbundle.AccessHash(rec.Seq, rec.Prev, rec.Digest, rec.At, rec.AuditID):
			return fmt.Errorf("access entry %d: hash does not recompute", rec.Seq)
		case rec.Entry == nil || auditbundle.AccessDigest(*rec.Entry) != rec.Digest:
			return fmt.Errorf("access entry %d: the action's digest is not the entry's", rec.Seq)
		}
		prevSeq, prev = rec.Seq, rec.Hash
		actions = append(actions, rec.Entry.Action+" "+rec.Entry.Target)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if prevSeq != head.Seq || prev != head.Hash {
		t.Fatalf("access chain ends at %d, head says %d", prevSeq, head.Seq)
	}
	if n := count(t, s, "admin_audit"); n != len(actions) {
		t.Fatalf("%d actions logged, %d chained", n, len(actions))
	}
	return actions
}

// Every administrator action is chained, the access log's reads and
// exports as well as the changes (a rekey, in its own transaction), by
// replicas at once too; migration 6 chains the actions logged before it.
func TestAccessChain(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			dsn := dsnFor(t, d)
			s := openDSN(t, dsn, Options{})
			for i := range 3 {
				if err := s.Audit(ctx, AuditEntry{At: t0.Add(time.Duration(i) * time.Second), Credential: "alice", Action: AuditRead, Target: fmt.Sprintf("/v1/hosts/%d", i)}); err != nil {
					t.Fatal(err)
				}
			}
			// Undo migration 6: the actions so far were logged before it.
			rollBack(t, s, chainMigration-1)
			s.Close()
			replicas := []*Store{openDSN(t, dsn, Options{}), openDSN(t, dsn, Options{})}
			if got := checkAccessChain(t, replicas[0]); len(got) != 3 || got[0] != "read /v1/hosts/0" {
				t.Fatalf("backfilled access chain %v", got)
			}
			var wg sync.WaitGroup
			errs := make(chan error, 40)
			for n, r := range replicas {
				for i := range 20 {
					wg.Go(func() {
						if err := r.Audit(ctx, AuditEntry{Credential: fmt.Sprintf("replica-%d", n), Action: AuditExport, Target: fmt.Sprintf("/v1/export?%d", i)}); err != nil {
							errs <- err
						}
					})
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			ingest(t, replicas[1], fleettest.Report(t, "debian-clean", "h1", "h1", t0), t0, Stored)
			if _, _, err := replicas[1].Rekey(ctx, Rekey{HostID: "h1", Credential: "bob", At: t0}); err != nil {
				t.Fatal(err)
			}
			got := checkAccessChain(t, replicas[0])
			if len(got) != 3+40+1 || got[len(got)-1] != AuditKeyClear+" h1" {
				t.Errorf("access chain of %d, last %q; want %d, the rekey last", len(got), got[len(got)-1], 3+40+1)
			}
		})
	}
}

// A report received before an export but stored after it falls into the
// next export's window, not between the two: the export cuts the chain
// at its time, and reports stored after the cut get receipt times at or
// after it. Receipt times rise strictly along the chain, even for
// reports received in the same microsecond.
func TestChainCut(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, c *clock) {
		ctx := context.Background()
		c.Set(t0.Add(time.Minute))
		a := fleettest.Report(t, "debian-clean", "h1", "web", t0)
		b := fleettest.Report(t, "debian-clean", "h2", "web", t0)
		d := fleettest.Report(t, "debian-clean", "h3", "web", t0)
		ingest(t, s, a, t0, Stored)
		ingest(t, s, b, t0, Stored) // the same receipt time as a

		// An export asked for [t0, an hour later) at t0+1m: cut at t0+1m.
		cut, err := s.ChainCut(ctx, t0.Add(time.Hour))
		if want := t0.Add(time.Minute + time.Microsecond); err != nil || !cut.Equal(want) {
			t.Fatalf("ChainCut = %v, %v; want %v", cut, err, want)
		}
		// d was received at t0+30s, before the export, and is stored now.
		ingest(t, s, d, t0.Add(30*time.Second), Stored)

		checkChain(t, s)
		at := chainTimes(t, s, 3)
		if len(at) != 3 || at[0] != micros(t0) || at[1] != at[0]+1 || at[2] != micros(cut) {
			t.Errorf("receipt times along the chain %v; want %d, +1, the cut %d", at, micros(t0), micros(cut))
		}
		first, last, ok, err := s.ChainWindow(ctx, t0, cut)
		if err != nil || !ok || first != 1 || last != 2 {
			t.Errorf("the exported window: %d to %d, %v, %v; want 1 to 2", first, last, ok, err)
		}
		first, last, ok, err = s.ChainWindow(ctx, cut, t0.Add(time.Hour))
		if err != nil || !ok || first != 3 || last != 3 {
			t.Errorf("the next window: %d to %d, %v, %v; want 3 to 3", first, last, ok, err)
		}

		// An action logged after the cut, though asked at t0+50s, is in
		// the next window too.
		if err := s.Audit(ctx, AuditEntry{At: t0.Add(50 * time.Second), Credential: "admin", Action: AuditRead, Target: "/v1/hosts"}); err != nil {
			t.Fatal(err)
		}
		if _, _, ok, err := s.AccessWindow(ctx, t0, cut); ok || err != nil {
			t.Errorf("an action logged after the cut is in the exported window (%v)", err)
		}
		if _, _, ok, err := s.AccessWindow(ctx, cut, t0.Add(time.Hour)); !ok || err != nil {
			t.Errorf("an action logged after the cut is not in the next window (%v)", err)
		}

		// A past window is cut where it was asked to end, and the cut
		// never moves back.
		if cut2, err := s.ChainCut(ctx, t0.Add(10*time.Second)); err != nil || !cut2.Equal(t0.Add(10*time.Second)) {
			t.Errorf("ChainCut of a past window = %v, %v", cut2, err)
		}
		e := fleettest.Report(t, "debian-clean", "h4", "web", t0)
		ingest(t, s, e, t0.Add(20*time.Second), Stored)
		if _, last, _, _ := s.ChainWindow(ctx, cut, t0.Add(time.Hour)); last != 4 {
			t.Errorf("a report stored after a second, earlier cut is not after the first cut: last %d", last)
		}
	})
}

// On PostgreSQL the chains take their times from the database server's
// clock, one for every replica: a replica whose clock runs a day ahead
// cannot drag the chain's times (and so every later report) into the
// future, and an export's cut does not depend on the exporting machine.
func TestChainDatabaseClock(t *testing.T) {
	ctx := context.Background()
	s := openDSN(t, dsnFor(t, "postgres"), Options{}) // no test clock: the database's
	if !s.dbClock {
		t.Fatal("a PostgreSQL store without a test clock does not use the database's clock")
	}
	before := time.Now()
	ahead := fleettest.Report(t, "debian-clean", "h1", "web", before)
	ingest(t, s, ahead, before.Add(24*time.Hour), Stored) // a replica a day ahead
	if err := s.Audit(ctx, AuditEntry{At: before.Add(24 * time.Hour), Credential: "admin", Action: AuditRead, Target: "/v1/hosts"}); err != nil {
		t.Fatal(err)
	}
	cut, err := s.ChainCut(ctx, before.Add(48*time.Hour))
	after := time.Now()
	if err != nil || cut.Before(before) || cut.After(after.Add(time.Minute)) {
		t.Errorf("ChainCut = %v, %v; want the database's now, between %v and a minute after %v", cut, err, before, after)
	}
	next := fleettest.Report(t, "debian-clean", "h2", "web", before)
	ingest(t, s, next, before, Stored)
	at := chainTimes(t, s, 2)
	lo, hi := micros(before.Add(-time.Minute)), micros(time.Now().Add(time.Minute))
	if len(at) != 2 || at[0] < lo || at[0] > hi || at[1] <= at[0] || at[1] < micros(cut) || at[1] > hi {
		t.Errorf("chain times %v: want both near now by the database's clock (%d…%d), rising, the second after the cut %d", at, lo, hi, micros(cut))
	}
	if first, last, ok, err := s.AccessWindow(ctx, before.Add(-time.Minute), cut); err != nil || !ok || first != 1 || last != 1 {
		t.Errorf("the access entry logged with a clock a day ahead: window %d…%d, %v, %v; want it at the database's now", first, last, ok, err)
	}
}

// chainTimes returns the receipt times of the report chain's entries 1 to
// last.
func chainTimes(t *testing.T, s *Store, last int64) []int64 {
	t.Helper()
	var at []int64
	if err := s.ChainRange(context.Background(), 1, last, func(rec ChainRecord) error {
		at = append(at, rec.Entry.ReceivedAt)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return at
}
