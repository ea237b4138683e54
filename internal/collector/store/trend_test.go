package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/collector/internal/fleettest"
)

// trendIngest is one report of the trend tests: which golden report, of
// which host, scanned and received when.
type trendIngest struct {
	golden, host string
	scan, recv   time.Time
}

// modelTrend computes the trend from the ingests by its definition: at
// the end of each day, every host that has a report by then is in the
// state of the last one received, and stale when that one's scan ran
// more than staleAfter before the day's end; today is counted at now.
func modelTrend(t *testing.T, ins []trendIngest, now time.Time, days int, staleAfter time.Duration) []TrendDay {
	t.Helper()
	type rep struct {
		state      string
		scan, recv time.Time
	}
	byHost := map[string][]rep{}
	for _, in := range ins {
		r := fleettest.Report(t, in.golden, in.host, in.host, in.scan)
		byHost[in.host] = append(byHost[in.host], rep{newHostRow(r, in.recv).state, in.scan, in.recv})
	}
	today := now.UTC().Truncate(24 * time.Hour)
	var out []TrendDay
	for i := days - 1; i >= 0; i-- {
		day := today.AddDate(0, 0, -i)
		at := day.AddDate(0, 0, 1) // the day's end
		if i == 0 {
			at = now
		}
		td := TrendDay{Day: day.Format(time.DateOnly), Partial: i == 0}
		for _, reps := range byHost {
			var last *rep
			for j := range reps {
				if reps[j].recv.Before(at) && (last == nil || !reps[j].recv.Before(last.recv)) {
					last = &reps[j]
				}
			}
			if last == nil {
				continue
			}
			td.add(last.state, 1)
			if last.scan.Before(at.Add(-staleAfter)) {
				td.Stale++
			}
		}
		out = append(out, td)
	}
	return out
}

// TestTrend ingests a fleet's reports over three weeks, out of order and
// queued (scanned days before they arrive), one by one and in batches,
// and compares the trend with its definition at several moments.
func TestTrend(t *testing.T) {
	goldens := []string{"debian-kaspersky", "debian-clean", "debian-incomplete", "windows-clean", "darwin-leftovers", "windows-white-label"}
	forEachDialect(t, func(t *testing.T, s *Store, c *clock) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(18, 7))
		start := t0.Truncate(24 * time.Hour)
		var ins []trendIngest
		at := start.Add(3 * time.Hour)
		for n := range 120 {
			at = at.Add(time.Duration(rng.IntN(6*60)) * time.Minute)
			scan := at.Add(-time.Duration(rng.IntN(10)) * time.Minute)
			if n%9 == 0 { // queued by an agent that was offline
				scan = at.Add(-time.Duration(1+rng.IntN(96)) * time.Hour)
			}
			ins = append(ins, trendIngest{goldens[rng.IntN(len(goldens))], fmt.Sprintf("h%02d", rng.IntN(15)), scan, at})
		}
		// In order of receipt; runs of reports of distinct hosts go in at
		// once, so that batches hold several.
		for i := 0; i < len(ins); {
			j, hosts := i, map[string]bool{}
			for j < len(ins) && !hosts[ins[j].host] && j-i < 8 {
				hosts[ins[j].host] = true
				j++
			}
			var wg sync.WaitGroup
			for n, in := range ins[i:j] {
				r := fleettest.Report(t, in.golden, in.host, in.host, in.scan)
				// Tags that come, change and go, hostile ones included.
				r.Tags = map[string]string{"site": []string{"berlin", "paris", "<b>x</b>"}[(i+n)%3]}
				if (i+n)%4 == 0 {
					r.Tags["dept"] = "it"
				}
				if (i+n)%5 == 0 {
					r.Tags = nil
				}
				raw := fleettest.JSON(t, r)
				wg.Go(func() {
					if out, err := s.Ingest(ctx, Incoming{Report: r, Raw: raw, TokenID: "tok", ReceivedAt: in.recv}); err != nil || out != Stored {
						t.Errorf("Ingest: %v, %v", out, err)
					}
				})
			}
			wg.Wait()
			i = j
		}
		checkCounts(t, s)
		for _, now := range []time.Time{at.Add(time.Hour), at.Add(50 * time.Hour), at.Add(50*time.Hour + 30*time.Minute)} {
			c.Set(now)
			for _, stale := range []time.Duration{48 * time.Hour, 7 * time.Hour} {
				got, err := s.Trend(ctx, 30, stale)
				if err != nil {
					t.Fatal(err)
				}
				want := modelTrend(t, ins, now, 30, stale)
				if !slices.ContainsFunc(want[:29], func(d TrendDay) bool { return d.Stale > 0 && d.Incomplete > 0 && d.Restricted > 0 }) ||
					want[0].Hosts != 0 {
					t.Fatalf("the test fleet does not exercise the trend: %+v", want)
				}
				if !slices.Equal(got, want) {
					t.Errorf("at %v, stale after %v:\n got %+v\nwant %+v", now, stale, got, want)
				}
				sum, err := s.Summary(ctx, stale)
				if err != nil {
					t.Fatal(err)
				}
				if g := got[len(got)-1]; g != todayOf(sum) || g.Hosts == 0 {
					t.Errorf("today %+v, summary %+v", g, sum)
				}
			}
		}
	})
}

// TestBreakdown checks every count of every breakdown against the host
// list filtered on the same value, hostile tag values included.
func TestBreakdown(t *testing.T) {
	goldens := []string{"debian-kaspersky", "debian-clean", "debian-incomplete", "windows-clean", "darwin-leftovers",
		"windows-white-label", "darwin-kis", "windows-kes-active", "rocky-kaspersky"}
	sites := []string{"berlin", "<script>alert(1)</script>", `"><svg onload=alert(1)>`, "javascript:alert(1)", "", "a=b"}
	forEachDialect(t, func(t *testing.T, s *Store, c *clock) {
		ctx := context.Background()
		for i := range 40 {
			r := fleettest.Report(t, goldens[i%len(goldens)], fmt.Sprintf("h%02d", i), fmt.Sprintf("host%02d", i), t0.Add(-time.Duration(i)*3*time.Hour))
			r.Tags = map[string]string{"site": sites[i%len(sites)]}
			if i%4 == 0 {
				r.Tags["department"] = []string{"it", "ops"}[i/4%2]
			}
			if i%7 == 0 {
				delete(r.Tags, "site")
			}
			ingest(t, s, r, t0, Stored)
		}
		c.Set(t0.Add(time.Hour))
		total := func(f HostFilter) int {
			t.Helper()
			f.StaleAfter = DefaultStaleAfter
			p, err := s.Hosts(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			return p.Total
		}
		yes := true
		for _, by := range []string{ByOS, ByTag + "site", ByTag + "department", ByVendor} {
			b, err := s.Breakdown(ctx, by, DefaultStaleAfter)
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Groups) < 2 {
				t.Errorf("%s: %d groups, want several", by, len(b.Groups))
			}
			sumHosts := b.Other + b.Without
			for _, g := range b.Groups {
				sumHosts += g.Hosts
				var f HostFilter
				switch by {
				case ByOS:
					f.OS = g.Value
				case ByVendor:
					f.State, f.Vendor = HostRestricted, g.Value
				default:
					f.Tag = by[len(ByTag):] + "=" + g.Value
				}
				if by == ByVendor {
					if n := total(f); n != g.Hosts || n == 0 {
						t.Errorf("%s %q: %d hosts, the filter lists %d", by, g.Value, g.Hosts, n)
					}
					for _, p := range g.Products {
						if n := total(HostFilter{State: HostRestricted, Product: p.Value}); n != p.Hosts || n == 0 {
							t.Errorf("product %q: %d hosts, the filter lists %d", p.Value, p.Hosts, n)
						}
					}
					continue
				}
				if n := total(f); n != g.Hosts {
					t.Errorf("%s %q: %d hosts, the filter lists %d", by, g.Value, g.Hosts, n)
				}
				for state, n := range map[string]int{HostRestricted: g.Restricted, HostIncomplete: g.Incomplete, HostUnprotected: g.Unprotected, HostClean: g.Clean} {
					f := f
					f.State = state
					if m := total(f); m != n {
						t.Errorf("%s %q %s: %d hosts, the filter lists %d", by, g.Value, state, n, m)
					}
				}
				f.Stale = &yes
				if m := total(f); m != g.Stale {
					t.Errorf("%s %q stale: %d hosts, the filter lists %d", by, g.Value, g.Stale, m)
				}
			}
			if by != ByVendor && sumHosts != 40 {
				t.Errorf("%s: groups sum to %d hosts, want 40", by, sumHosts)
			}
		}
		if n := total(HostFilter{WhiteLabel: &yes}); n == 0 {
			t.Error("no white-label host: the filter is not tested")
		} else if sum, _ := s.Summary(ctx, 0); sum.WhiteLabel != n {
			t.Errorf("white-label filter lists %d hosts, the summary counts %d", n, sum.WhiteLabel)
		}
		keys, err := s.TagKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := []TagKey{{"site", 34}, {"department", 10}}; !slices.Equal(keys, want) {
			t.Errorf("TagKeys = %v, want %v", keys, want)
		}
		for _, bad := range []string{"", "tag:", "size", "tag:" + string(make([]byte, MaxIDLen+1))} {
			if _, err := s.Breakdown(ctx, bad, 0); !errors.Is(err, ErrInvalid) {
				t.Errorf("Breakdown(%.20q): %v, want ErrInvalid", bad, err)
			}
		}
	})
}

// TestLoadSynthetic loads a small made-up fleet and checks that the
// trend, the summary and the breakdowns agree on it.
func TestLoadSynthetic(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, c *clock) {
		ctx := context.Background()
		end := t0.Add(14 * time.Hour)
		c.Set(end)
		if err := s.LoadSynthetic(ctx, SyntheticFleet{Hosts: 2500, Days: 30, End: end, Seed: 1}); err != nil {
			t.Fatal(err)
		}
		checkCounts(t, s)
		sum, trend, err := s.SummaryTrend(ctx, 30, 0)
		if err != nil {
			t.Fatal(err)
		}
		var inTrend int
		if err := s.r.QueryRowContext(ctx, "SELECT SUM(hosts) FROM fleet_trend").Scan(&inTrend); err != nil || inTrend != 2500 {
			t.Errorf("fleet trend holds %d hosts (%v)", inTrend, err)
		}
		y := trend[len(trend)-2]
		if sum.Hosts != 2500 || y.Hosts != 2500 || trend[0].Hosts == 0 || y.Restricted == 0 || y.Stale == 0 || y.Restricted >= trend[0].Restricted {
			t.Errorf("summary %+v\nyesterday %+v\nfirst day %+v", sum, y, trend[0])
		}
		for _, by := range []string{ByOS, ByTag + "site"} {
			b, err := s.Breakdown(ctx, by, 0)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, g := range b.Groups {
				n += g.Hosts
			}
			if n != 2500 {
				t.Errorf("%s: %d hosts", by, n)
			}
		}
		p, err := s.Hosts(ctx, HostFilter{Tag: "site=site-03"})
		if err != nil || p.Total == 0 || len(p.Hosts) == 0 {
			t.Errorf("tag filter: %d hosts, %v", p.Total, err)
		}
	})
}

// checkCounts compares fleet_counts, kept by ingest, with the hosts and
// their tags counted directly.
func checkCounts(t *testing.T, s *Store) {
	t.Helper()
	read := func(q string) map[countKey]int64 {
		t.Helper()
		m := map[countKey]int64{}
		rows, err := s.r.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var k countKey
			var n int64
			if err := rows.Scan(&k.dim, &k.value, &k.state, &n); err != nil {
				t.Fatal(err)
			}
			m[k] = n
		}
		return m
	}
	got := read("SELECT dim, value, state, hosts FROM fleet_counts")
	want := read(`SELECT '', '', state, COUNT(*) FROM hosts GROUP BY state
		UNION ALL SELECT 'os', os, state, COUNT(*) FROM hosts GROUP BY os, state
		UNION ALL SELECT 'tag:' || t.tag_key, t.tag_value, h.state, COUNT(*) FROM host_tags t JOIN hosts h ON h.id = t.host_id
		GROUP BY t.tag_key, t.tag_value, h.state`)
	if !maps.Equal(got, want) || len(want) == 0 {
		t.Errorf("fleet_counts\n got %v\nwant %v", got, want)
	}
}

// TestCountsDuplicates: duplicates and conflicts, alone and in one batch
// with their original, change no count.
func TestCountsDuplicates(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, c *clock) {
		ctx := context.Background()
		r := fleettest.Report(t, "debian-kaspersky", "h1", "h1", t0)
		r.Tags = map[string]string{"site": "berlin"}
		ingest(t, s, r, t0, Stored)
		ingest(t, s, r, t0.Add(time.Minute), Duplicate)
		changed := *r
		changed.Tags = map[string]string{"site": "paris"}
		if _, err := s.Ingest(ctx, Incoming{Report: &changed, Raw: fleettest.JSON(t, &changed), TokenID: "tok", ReceivedAt: t0}); !errors.Is(err, ErrConflict) {
			t.Fatalf("conflict: %v", err)
		}
		// A new host's report sent twice at once: one is stored.
		r2 := fleettest.Report(t, "debian-clean", "h2", "h2", t0)
		raw := fleettest.JSON(t, r2)
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				if _, err := s.Ingest(ctx, Incoming{Report: r2, Raw: raw, TokenID: "tok", ReceivedAt: t0}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		checkCounts(t, s)
		sum, err := s.Summary(ctx, 0)
		if err != nil || sum.Hosts != 2 || sum.Restricted != 1 {
			t.Errorf("summary %+v, %v", sum, err)
		}
	})
}

// Prune folds the trend's rows from before the oldest day a trend can
// show into one day: the table shrinks, and every trend reads the same.
func TestFoldTrend(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, c *clock) {
		ctx := context.Background()
		c.Set(t0)
		if err := s.LoadSynthetic(ctx, SyntheticFleet{Hosts: 1500, Days: 30, End: t0, Seed: 2}); err != nil {
			t.Fatal(err)
		}
		// 340 days on, the longest trend starts 25 days before t0: the
		// history's first days are folded, its last ones are not.
		c.Set(t0.Add(340 * 24 * time.Hour))
		rowsBefore := count(t, s, "fleet_trend")
		var before [][]TrendDay
		windows := []time.Duration{48 * time.Hour, 90 * time.Minute, 9 * 24 * time.Hour}
		for _, w := range windows {
			tr, err := s.Trend(ctx, MaxTrendDays, w)
			if err != nil {
				t.Fatal(err)
			}
			before = append(before, tr)
		}
		if _, err := s.Prune(ctx, 10000*time.Hour); err != nil {
			t.Fatal(err)
		}
		rowsAfter := count(t, s, "fleet_trend")
		if rowsAfter >= rowsBefore {
			t.Errorf("fleet_trend has %d rows after folding, %d before", rowsAfter, rowsBefore)
		}
		for i, w := range windows {
			tr, err := s.Trend(ctx, MaxTrendDays, w)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(tr, before[i]) {
				t.Errorf("stale after %v: the trend changed with the fold", w)
			}
		}
		var sum int
		if err := s.r.QueryRowContext(ctx, "SELECT SUM(hosts) FROM fleet_trend").Scan(&sum); err != nil || sum != 1500 {
			t.Errorf("fleet trend holds %d hosts after folding (%v)", sum, err)
		}
		// Folding again finds nothing more to fold.
		if _, err := s.Prune(ctx, 10000*time.Hour); err != nil || count(t, s, "fleet_trend") != rowsAfter {
			t.Errorf("a second fold changed the table: %v", err)
		}
		t.Logf("fleet_trend: %d rows before folding, %d after", rowsBefore, rowsAfter)
	})
}

// Tag keys are found on a PostgreSQL column with a language collation
// too, which sorts ";" before ":" (the test databases are C-collated).
func TestTagKeysLanguageCollation(t *testing.T) {
	ctx := context.Background()
	s := openDSN(t, dsnFor(t, "postgres"), Options{})
	if _, err := s.w.ExecContext(ctx, `ALTER TABLE fleet_counts ALTER COLUMN dim TYPE TEXT COLLATE "en-US-x-icu"`); err != nil {
		t.Fatal(err)
	}
	var before bool
	if err := s.r.QueryRowContext(ctx, `SELECT 'tag;' < ('tag:' COLLATE "en-US-x-icu")`).Scan(&before); err != nil || !before {
		t.Fatalf("the collation does not sort ';' before ':' (%v): the test shows nothing", err)
	}
	r := fleettest.Report(t, "debian-kaspersky", "h1", "h1", t0)
	r.Tags = map[string]string{"site": "berlin"}
	ingest(t, s, r, t0, Stored)
	keys, err := s.TagKeys(ctx)
	if err != nil || len(keys) != 1 || keys[0].Key != "site" || keys[0].Hosts != 1 {
		t.Errorf("TagKeys = %+v, %v; want site on 1 host", keys, err)
	}
}
