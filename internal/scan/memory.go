package scan

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/safefs"
)

// ErrMemoryLimit means a scan was stopped because the agent's memory
// passed its limit (the service's scan.memory_limit, its GOMEMLIMIT).
var ErrMemoryLimit = errors.New("memory limit reached")

// memoryCheckEvery is how often a scan with a memory limit looks at the
// memory in use.
const memoryCheckEvery = 25 * time.Millisecond

// runGuarded runs runner on h, stopping it once the memory in use passes
// limit (none when limit is not positive): then it returns an error
// wrapping [ErrMemoryLimit] that says how much was in use and which
// sources were cut short, once every source has stopped.
func runGuarded(ctx context.Context, runner *detect.Runner, h *host.Host, limit int64) ([]detect.Observation, []detect.SourceResult, error) {
	guarded, stop := guardMemory(ctx, limit)
	obs, results := runner.Run(guarded, h)
	stop()
	cause := context.Cause(guarded)
	if !errors.Is(cause, ErrMemoryLimit) {
		return obs, results, nil
	}
	var cut []string
	for _, res := range results {
		if res.Status == detect.StatusError || res.Status == detect.StatusTimeout {
			cut = append(cut, res.Name)
		}
	}
	return nil, results, fmt.Errorf("scan stopped: %w (sources cut short: %s)", cause, strings.Join(cut, ", "))
}

// memoryGauge reads the memory in use. It reads runtime.MemStats, not
// runtime/metrics, whose package initialisation (a table of every metric
// and GODEBUG setting) cost every run of the agent about 0.6 ms, a
// quarter of the instructions of `avscout version`, for a figure only the
// service's scans look at.
type memoryGauge struct {
	stats  runtime.MemStats
	numGC  uint32 // collections completed at the previous reading
	primed bool
}

// read returns the memory the Go runtime holds from the OS and has not
// returned — what GOMEMLIMIT governs — and an estimate of the heap live
// after collection: the heap allocated now, when a collection has ended
// since the previous reading, else 0. Near the soft limit the collector
// runs back to back and the heap allocated is the live heap; far from it
// collections are tens of milliseconds and a whole heap of allocations
// apart, and the estimate stays below nine tenths of the limit.
func (g *memoryGauge) read() (used, live uint64) {
	runtime.ReadMemStats(&g.stats)
	s := &g.stats
	used = s.Sys - min(s.HeapReleased, s.Sys)
	if g.primed && s.NumGC != g.numGC {
		live = s.HeapAlloc
	}
	g.numGC, g.primed = s.NumGC, true
	return used, live
}

// guardMemory returns a context that is cancelled, with a cause wrapping
// [ErrMemoryLimit] that says how much was in use, once the memory in use
// passes limit, or the heap live after a collection (as [memoryGauge]
// estimates it) passes nine tenths of it: with the runtime's soft limit set to limit, the collector then
// runs without end and the next allocations go past it. Every source
// checks its context in its loops and reads, so the scan stops within
// milliseconds and frees what it held. stop ends the watch.
func guardMemory(ctx context.Context, limit int64) (_ context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	if limit <= 0 {
		return ctx, func() { cancel(nil) }
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var gauge memoryGauge
		t := time.NewTicker(memoryCheckEvery)
		defer t.Stop()
		for {
			used, live := gauge.read()
			if used > uint64(limit) || live > uint64(limit)/10*9 {
				cancel(fmt.Errorf("%w: %s in use (%s live), limit %s", ErrMemoryLimit,
					safefs.SizeString(int64(used)>>20<<20), safefs.SizeString(int64(live)>>20<<20), safefs.SizeString(limit)))
				return
			}
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return ctx, func() {
		close(done)
		<-finished
		cancel(nil)
	}
}
