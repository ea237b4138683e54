package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/avscout/avscout/internal/report"
)

// SyntheticFleet describes a made-up fleet for [Store.LoadSynthetic]:
// for benchmarks and load tests of the read side (the summary, the trend,
// the breakdowns, the host list) at sizes that ingesting real reports
// would take hours to reach.
type SyntheticFleet struct {
	Hosts int       // how many hosts (required, at most 10,000,000)
	Days  int       // days of history ending on End's day, each host reporting about daily (required, at most 366)
	End   time.Time // the last report's receipt is before it
	Seed  uint64
}

// syntheticBatch is how many hosts one transaction of LoadSynthetic
// writes: memory stays bounded by it whatever the fleet's size.
const syntheticBatch = 2000

// LoadSynthetic writes a made-up fleet straight into the tables the read
// side uses: hosts, their current products and tags, and the fleet trend
// of Days days of daily reports (a tenth of the hosts skipping days, a
// few changing state), in batches of hosts, then refreshes the planner's
// statistics. No report bodies or history are written: the host pages
// and the raw reports of these hosts are empty. It is meant for an empty
// database; hosts with the same ids are replaced.
func (s *Store) LoadSynthetic(ctx context.Context, f SyntheticFleet) error {
	if f.Hosts < 1 || f.Hosts > 10_000_000 || f.Days < 1 || f.Days > MaxTrendDays || f.End.IsZero() {
		return fmt.Errorf("%w synthetic fleet %+v", ErrInvalid, f)
	}
	trend := newTrendDeltas() // tens of thousands of keys at most
	firstDay := micros(f.End)/dayMicros - int64(f.Days) + 1
	for start := 0; start < f.Hosts; start += syntheticBatch {
		var hosts []*hostRow
		var tags []*pending
		var products []*pending
		for i := start; i < min(f.Hosts, start+syntheticBatch); i++ {
			h, tg, ps := syntheticHost(f, i, firstDay, trend)
			hosts = append(hosts, h)
			p := &pending{host: h, tags: tg, products: ps}
			tags = append(tags, p)
			products = append(products, p)
		}
		if err := s.syntheticBatch(ctx, hosts, tags, products); err != nil {
			return err
		}
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("loading a synthetic fleet: %w", err)
	}
	defer rollback(tx)
	if err := trend.apply(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("loading a synthetic fleet: %w", err)
	}
	return s.Optimize(ctx)
}

func (s *Store) syntheticBatch(ctx context.Context, hosts []*hostRow, tags, products []*pending) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("loading a synthetic fleet: %w", err)
	}
	defer rollback(tx)
	if err := insertReturning(ctx, tx, "hosts ("+hostRowColumns+")", hostColumnCount, len(hosts),
		func(i int, args []any) []any { return append(args, hosts[i].args()...) }, hostUpsert, nil); err != nil {
		return fmt.Errorf("loading a synthetic fleet: hosts: %w", err)
	}
	if err := insertTags(ctx, tx, tags); err != nil {
		return err
	}
	if err := insertProducts(ctx, tx, products); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("loading a synthetic fleet: %w", err)
	}
	return nil
}

// syntheticHost makes host i and its history, adding the history to
// trend.
func syntheticHost(f SyntheticFleet, i int, firstDay int64, trend trendDeltas) (*hostRow, map[string]string, []productRow) {
	rng := rand.New(rand.NewPCG(f.Seed, uint64(i)))
	id := fmt.Sprintf("synthetic-%08d", i)
	h := &hostRow{id: id, hostname: fmt.Sprintf("host-%07d.corp.example", i), arch: "amd64", agentVersion: "1.0.0",
		catalogVersion: "synthetic", lastReportID: "synthetic-report-" + id}
	switch r := rng.IntN(100); {
	case r < 60:
		h.os, h.osVersion = "windows", "10.0.19045"
	case r < 85:
		h.os, h.osVersion = "darwin", "14.5"
	default:
		h.os, h.osVersion = "linux", "debian 12"
	}
	h.search = h.hostname + "\n" + id
	tags := map[string]string{
		"site":       fmt.Sprintf("site-%02d", rng.IntN(20)),
		"department": fmt.Sprintf("dept-%02d", rng.IntN(12)),
	}
	h.tags = mustJSON(tags)
	// The state's walk: most hosts keep theirs; restricted hosts get
	// cleaned up over the month.
	state := HostClean
	switch r := rng.IntN(100); {
	case r < 12:
		state = HostRestricted
	case r < 15:
		state = HostIncomplete
	case r < 30:
		state = HostUnprotected
	}
	skips := rng.IntN(10) == 0 // a host that often misses days
	var prevState string
	var prevGen int64
	for d := range int64(f.Days) {
		if skips && rng.IntN(3) > 0 || d > 0 && rng.IntN(50) == 0 {
			continue
		}
		if state == HostRestricted && rng.IntN(25) == 0 {
			state = HostClean
		} else if rng.IntN(200) == 0 {
			state = HostIncomplete
		} else if state == HostIncomplete && rng.IntN(3) == 0 {
			state = HostClean
		}
		recv := (firstDay+d)*dayMicros + rng.Int64N(dayMicros)
		if recv >= micros(f.End) {
			continue
		}
		gen := recv - rng.Int64N(int64(10*time.Minute/time.Microsecond))
		trend.move(recv, prevState, prevGen, state, gen)
		if prevState == "" {
			h.firstSeen = recv
		}
		prevState, prevGen = state, gen
		h.lastSeen, h.generatedAt = recv, gen
	}
	if prevState == "" { // never reported within the days: once, before
		recv := firstDay*dayMicros - rng.Int64N(30*dayMicros) - 1
		prevState = state
		trend.move(recv, "", 0, state, recv)
		h.firstSeen, h.lastSeen, h.generatedAt = recv, recv, recv
	}
	h.state = prevState
	h.verdict = report.VerdictCompliant
	var ps []productRow
	restricted, protection := []string{}, []string{}
	switch h.state {
	case HostRestricted:
		h.verdict = report.VerdictNonCompliant
		p := productRow{productID: "kaspersky-endpoint-security-windows", vendor: "Kaspersky", name: "Kaspersky Endpoint Security for Windows",
			category: report.CategoryAntivirus, state: report.StateActive, restricted: true, confidence: "high"}
		if rng.IntN(10) == 0 {
			p = productRow{productID: "kaspersky-safeguard-pro", vendor: "Kaspersky", name: "SafeGuard Pro", category: report.CategoryAntivirus,
				state: report.StateActive, restricted: true, whiteLabel: true, technology: "kaspersky", confidence: "high"}
			h.whiteLabel = true
		}
		ps = append(ps, p)
		restricted = append(restricted, p.name)
		protection = append(protection, p.name)
	case HostIncomplete:
		h.verdict = report.VerdictIncomplete
	}
	if h.state == HostClean || h.state == HostIncomplete && rng.IntN(2) == 0 {
		p := productRow{productID: "microsoft-defender", vendor: "Microsoft", name: "Microsoft Defender Antivirus",
			category: report.CategoryAntivirus, state: report.StateActive, confidence: "high"}
		ps = append(ps, p)
		protection = append(protection, p.name)
	}
	h.restricted, h.protection, h.products = mustJSON(restricted), mustJSON(protection), len(ps)
	trend.count(1, h.state, h.os, tags)
	return h, tags, ps
}
