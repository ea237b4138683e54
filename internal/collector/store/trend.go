package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// The fleet over time is kept as changes (table fleet_trend, migration 8):
// each report received moves its host, on the day it arrives, from its
// previous report's (state, scan hour) to its own. The fleet at the end of
// a day is the sum of the changes up to that day, so a chart of 30 days
// reads a few thousand rows however many hosts there are, and staleness
// is decided when reading, from the scan hour, for any stale window.

const (
	dayMicros  = int64(24 * time.Hour / time.Microsecond)
	hourMicros = int64(time.Hour / time.Microsecond)
	// MaxTrendDays bounds the days [Store.Trend] returns.
	MaxTrendDays = 366
)

// trendKey is one row of fleet_trend.
type trendKey struct {
	day      int64
	state    string
	scanHour int64
}

// countKey is one row of fleet_counts.
type countKey struct {
	dim, value, state string
}

// Dimensions of fleet_counts.
const (
	dimFleet = ""
	dimOS    = "os"
	dimTag   = "tag:" // and the key
)

// trendDeltas gathers a batch's changes to fleet_trend and fleet_counts.
type trendDeltas struct {
	trend  map[trendKey]int64
	counts map[countKey]int64
}

func newTrendDeltas() trendDeltas {
	return trendDeltas{trend: map[trendKey]int64{}, counts: map[countKey]int64{}}
}

// move records that a host, from the report received at recv, is in state
// with a scan at generatedAt, and no longer in its previous report's (when
// it had one: prevState non-empty).
func (t trendDeltas) move(recv int64, prevState string, prevGenerated int64, state string, generatedAt int64) {
	day := recv / dayMicros
	if prevState != "" {
		t.trend[trendKey{day, prevState, prevGenerated / hourMicros}]--
	}
	t.trend[trendKey{day, state, generatedAt / hourMicros}]++
}

// count adds n hosts in state with this OS and these tags.
func (t trendDeltas) count(n int64, state, os string, tags map[string]string) {
	t.counts[countKey{dimFleet, "", state}] += n
	t.counts[countKey{dimOS, os, state}] += n
	for k, v := range tags {
		t.counts[countKey{dimTag + k, v, state}] += n
	}
}

// addHost records the changes of a host's new reports (news, received
// at newsAt, in that order), prior being what was stored of the host
// before (nil for a new host). The host's row becomes the last report's.
func (t trendDeltas) addHost(prior *priorHost, news []*pending, newsAt []int64) {
	var prevState string
	var prevGen int64
	if prior != nil {
		prevState, prevGen = prior.state, prior.generatedAt
		var tags map[string]string
		// Written by the store from a map of strings: it decodes.
		_ = json.Unmarshal([]byte(prior.tags), &tags)
		t.count(-1, prior.state, prior.os, tags)
	}
	for n, p := range news {
		t.move(newsAt[n], prevState, prevGen, p.host.state, p.host.generatedAt)
		prevState, prevGen = p.host.state, p.host.generatedAt
	}
	last := news[len(news)-1]
	t.count(1, last.host.state, last.host.os, last.tags)
}

// apply adds the changes to fleet_trend and fleet_counts in tx, in key
// order (so that replicas' batches lock the rows in the same order),
// after the rest of the batch: the rows are shared by every batch, and
// are held from here to the commit. Counts that reach zero are deleted,
// so that values no host has any more (an agent changing its tags) do
// not pile up.
func (t trendDeltas) apply(ctx context.Context, tx *sql.Tx) error {
	keys := slices.SortedFunc(maps.Keys(t.trend), func(a, b trendKey) int {
		return cmp.Or(cmp.Compare(a.day, b.day), cmp.Compare(a.state, b.state), cmp.Compare(a.scanHour, b.scanHour))
	})
	keys = slices.DeleteFunc(keys, func(k trendKey) bool { return t.trend[k] == 0 })
	err := insertReturning(ctx, tx, "fleet_trend (day, state, scan_hour, hosts)", 4, len(keys),
		func(i int, args []any) []any {
			k := keys[i]
			return append(args, k.day, k.state, k.scanHour, t.trend[k])
		}, " ON CONFLICT (day, state, scan_hour) DO UPDATE SET hosts = fleet_trend.hosts + excluded.hosts", nil)
	if err != nil {
		return fmt.Errorf("updating the fleet trend: %w", err)
	}
	counts := slices.SortedFunc(maps.Keys(t.counts), func(a, b countKey) int {
		return cmp.Or(strings.Compare(a.dim, b.dim), strings.Compare(a.value, b.value), strings.Compare(a.state, b.state))
	})
	counts = slices.DeleteFunc(counts, func(k countKey) bool { return t.counts[k] == 0 })
	var zero []countKey
	err = insertReturning(ctx, tx, "fleet_counts (dim, value, state, hosts)", 4, len(counts),
		func(i int, args []any) []any {
			k := counts[i]
			return append(args, k.dim, k.value, k.state, t.counts[k])
		}, " ON CONFLICT (dim, value, state) DO UPDATE SET hosts = fleet_counts.hosts + excluded.hosts RETURNING dim, value, state, hosts",
		func(rows *sql.Rows) error {
			var k countKey
			var n int64
			if err := rows.Scan(&k.dim, &k.value, &k.state, &n); err != nil {
				return err
			}
			if n == 0 {
				zero = append(zero, k)
			}
			return nil
		})
	if err != nil {
		return fmt.Errorf("updating the fleet counts: %w", err)
	}
	for _, k := range zero {
		if _, err := tx.ExecContext(ctx, "DELETE FROM fleet_counts WHERE dim = $1 AND value = $2 AND state = $3 AND hosts = 0",
			k.dim, k.value, k.state); err != nil {
			return fmt.Errorf("updating the fleet counts: %w", err)
		}
	}
	return nil
}

// TrendDay is the fleet at the end of one day (UTC), or for today, now.
// The states are those of [HostSummary.State], exclusive; Compliant is
// Unprotected plus Clean; Stale counts across the states.
type TrendDay struct {
	Day string `json:"day"` // YYYY-MM-DD
	StateCounts
	Stale int `json:"stale"`
	// Partial says the day is today: counted now, not at its end.
	Partial bool `json:"partial,omitempty"`
}

// Trend returns the fleet at the end of each of the last days days (1 to
// [MaxTrendDays]), oldest first; the last is today, as of now, and equals
// [Store.Summary]. A host counts from the day its first report arrived,
// in the state of the last report received by the end of each day, and is
// stale that day when that report's scan ran more than staleAfter (0: the
// default) before the day's end. For a stale window in whole hours (the
// default is) this is exact; otherwise a scan counts as stale once its
// whole hour is before the cut-off.
func (s *Store) Trend(ctx context.Context, days int, staleAfter time.Duration) ([]TrendDay, error) {
	_, t, err := s.SummaryTrend(ctx, days, staleAfter)
	return t, err
}

// SummaryTrend returns [Store.Summary] and [Store.Trend] at once, the
// summary counted once.
func (s *Store) SummaryTrend(ctx context.Context, days int, staleAfter time.Duration) (Summary, []TrendDay, error) {
	if days < 1 || days > MaxTrendDays {
		return Summary{}, nil, fmt.Errorf("%w trend: days %d: want 1 to %d", ErrInvalid, days, MaxTrendDays)
	}
	if staleAfter <= 0 {
		staleAfter = DefaultStaleAfter
	}
	now := s.now()
	today := micros(now) / dayMicros
	first := today - int64(days) + 1
	// The database sums the changes by day and state, and by the day
	// from which each change counts as stale: a row (d, state, h) counts
	// on every day D >= d, and as stale once the end of D minus the stale
	// window is at or after the end of the scan hour h, so from the day
	// ceil(((h+1) hours + window) / 1 day) - 1. Days before the first
	// shown are summed into the day before it.
	before := first - 1
	window := int64(staleAfter / time.Microsecond)
	states := make([]map[string]int64, days)
	stale := make([]int64, days)
	base := map[string]int64{}
	var baseStale int64
	err := queryEachR(ctx, s, `SELECT CASE WHEN day < $1 THEN $1 ELSE day END AS d, state, SUM(hosts)
		FROM fleet_trend WHERE day < $2 GROUP BY d, state`, []any{before, today}, func(scan func(...any) error) error {
		var d, n int64
		var state string
		if err := scan(&d, &state, &n); err != nil {
			return err
		}
		if d == before {
			base[state] += n
		} else if i := d - first; i >= 0 && i < int64(days) {
			if states[i] == nil {
				states[i] = map[string]int64{}
			}
			states[i][state] += n
		}
		return nil
	})
	if err != nil {
		return Summary{}, nil, fmt.Errorf("reading the fleet trend: %w", err)
	}
	err = queryEachR(ctx, s, `SELECT CASE WHEN sd < $1 THEN $1 ELSE sd END AS d, SUM(hosts) FROM (
			SELECT CASE WHEN day > s0 THEN day ELSE s0 END AS sd, hosts FROM (
				SELECT day, hosts, ((scan_hour + 1) * $3 + $4 + $5 - 1) / $5 - 1 AS s0 FROM fleet_trend WHERE day < $2) x) y
		WHERE sd < $2 GROUP BY d`, []any{before, today, hourMicros, window, dayMicros}, func(scan func(...any) error) error {
		var d, n int64
		if err := scan(&d, &n); err != nil {
			return err
		}
		if d == before {
			baseStale += n
		} else if i := d - first; i >= 0 && i < int64(days) {
			stale[i] += n
		}
		return nil
	})
	if err != nil {
		return Summary{}, nil, fmt.Errorf("reading the fleet trend: %w", err)
	}
	out := make([]TrendDay, 0, days)
	for i := range days - 1 {
		for state, n := range states[i] {
			base[state] += n
		}
		baseStale += stale[i]
		day := first + int64(i)
		td := TrendDay{Day: fromMicros(day * dayMicros).Format(time.DateOnly), Stale: int(baseStale)}
		for state, n := range base {
			td.add(state, int(n))
		}
		out = append(out, td)
	}
	// Today from the hosts themselves, with the stale cut-off of now.
	sum, err := s.Summary(ctx, staleAfter)
	if err != nil {
		return Summary{}, nil, err
	}
	return sum, append(out, todayOf(sum)), nil
}

// todayOf is the trend's last day from a summary taken now.
func todayOf(sum Summary) TrendDay {
	return TrendDay{
		Day: sum.GeneratedAt.Format(time.DateOnly),
		StateCounts: StateCounts{Hosts: sum.Hosts, Compliant: sum.Compliant, Restricted: sum.Restricted,
			Incomplete: sum.Incomplete, Unprotected: sum.Unprotected, Clean: sum.Compliant - sum.Unprotected},
		Stale: sum.Stale, Partial: true,
	}
}

// foldTrend folds the fleet trend's rows from before the oldest day a
// trend can show ([MaxTrendDays] ago, and the day before it, into which
// [Store.SummaryTrend] sums everything older) into one day, so that the
// table, which every trend reads up to today, stays as large as the
// window rather than the collector's whole life. The sums a trend reads
// do not change: a row counts on every day from its own, and stale from
// its scan hour, and no trend starts before the fold. Rows are taken by
// DELETE … RETURNING, so replicas folding at once never count one twice.
func (s *Store) foldTrend(ctx context.Context) error {
	fold := micros(s.now())/dayMicros - MaxTrendDays - 1
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("folding the fleet trend: %w", err)
	}
	defer rollback(tx)
	t := newTrendDeltas()
	err = queryEach(ctx, tx, `DELETE FROM fleet_trend WHERE day < $1 RETURNING state, scan_hour, hosts`, []any{fold},
		func(rows *sql.Rows) error {
			var k trendKey
			var n int64
			if err := rows.Scan(&k.state, &k.scanHour, &n); err != nil {
				return err
			}
			k.day = fold
			t.trend[k] += n
			return nil
		})
	if err != nil {
		return fmt.Errorf("folding the fleet trend: %w", err)
	}
	if len(t.trend) == 0 {
		return nil
	}
	if err := t.apply(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM fleet_trend WHERE day = $1 AND hosts = 0", fold); err != nil {
		return fmt.Errorf("folding the fleet trend: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("folding the fleet trend: %w", err)
	}
	return nil
}
