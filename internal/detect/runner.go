package detect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/avscout/avscout/internal/errlist"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/report/enum"
)

// SourceStatus values as they appear in reports: the report contract's,
// owned by [enum], named here for the sources' and the runner's callers.
const (
	StatusOK          = enum.StatusOK
	StatusError       = enum.StatusError
	StatusUnavailable = enum.StatusUnavailable
	StatusTimeout     = enum.StatusTimeout
)

// SourceResult says how one source fared.
type SourceResult struct {
	Name     string
	Status   string // StatusOK, StatusError, StatusUnavailable or StatusTimeout
	Items    int    // observations the source emitted
	Duration time.Duration
	Err      error // nil when the status is StatusOK
	// Warnings are the items the source could not read although it saw
	// the rest (see [ItemError]): the first [MaxWarnings], then a line
	// counting the others. A source with warnings only is StatusOK.
	Warnings []string
}

// MaxWarnings is how many warnings a [SourceResult] keeps; the rest are
// counted in one more line.
const MaxWarnings = 20

// Runner runs sources concurrently.
type Runner struct {
	// Sources are started in this order, the first before the others are
	// queued: put the longest first (see [Runner.Run]).
	Sources []Source
	// Timeout bounds each source; zero means 30 seconds.
	Timeout time.Duration
	// Keep, when set, drops observations nobody will judge relevant before
	// they are stored, so a 100,000-package database costs little memory.
	Keep func(Observation) bool
	// Enrichers run after all sources, on the observations they kept.
	Enrichers []Enricher
	// Grace is how long the runner waits, once a source's time is up, for
	// it to stop and return; zero means 5 seconds. Sources check their
	// context in every loop and read, so they return within milliseconds:
	// one that does not is abandoned after Grace, reported and logged as
	// an error, rather than holding up the scan for ever.
	Grace  time.Duration
	Logger *slog.Logger
}

// Run runs every source against h, then every enricher on what the
// sources kept, and returns the kept observations — in source order, then
// emission order, enrichers' last — and one result per source and
// enricher.
//
// All run at once, but where the CPUs are fewer than the sources they
// begin as CPUs free up, and the Go scheduler does not begin them in the
// order they were started: a later one often went first, and the longest,
// listed first, began third or fourth in some runs, to end last, alone.
// So Run yields once the first is started, which lets it begin at once,
// before it starts the rest (8 traced live scans out of 8, against 2
// without).
//
// A source whose time is up (or whose ctx ends) is told to stop through
// its context, and Run waits for it to return before it returns itself:
// a timed-out source does not go on reading behind the scan. Only one
// that ignores its context for longer than [Runner.Grace] is abandoned.
func (r *Runner) Run(ctx context.Context, h *host.Host) ([]Observation, []SourceResult) {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	grace := r.Grace
	if grace <= 0 {
		grace = 5 * time.Second
	}
	logger := r.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	run := func(collectors []collector) ([]Observation, []SourceResult) {
		per := make([][]Observation, len(collectors))
		results := make([]SourceResult, len(collectors))
		var wg sync.WaitGroup
		for i, c := range collectors {
			wg.Go(func() {
				obs, res := r.runOne(ctx, c, timeout, grace, logger)
				per[i], results[i] = obs, res
				if res.Err != nil && res.Status != StatusUnavailable {
					logger.Warn("source failed", "source", res.Name, "status", res.Status, "err", res.Err)
				}
				if len(res.Warnings) > 0 {
					logger.Info("source could not read some items", "source", res.Name, "warnings", res.Warnings)
				}
			})
			if i == 0 {
				runtime.Gosched()
			}
		}
		wg.Wait()
		var all []Observation
		for _, obs := range per {
			all = append(all, obs...)
		}
		return all, results
	}

	sources := make([]collector, len(r.Sources))
	for i, src := range r.Sources {
		sources[i] = collector{src.Name(), func(ctx context.Context, emit func(Observation)) error {
			return src.Collect(ctx, h, emit)
		}}
	}
	all, results := run(sources)
	if len(r.Enrichers) == 0 {
		return all, results
	}
	// Enrichers see what the sources kept, never each other's output, and
	// each gets its own copy so none can alter what another reads.
	enrichers := make([]collector, len(r.Enrichers))
	for i, e := range r.Enrichers {
		enrichers[i] = collector{e.Name(), func(ctx context.Context, emit func(Observation)) error {
			return e.Enrich(ctx, h, slices.Clone(all), emit)
		}}
	}
	more, moreResults := run(enrichers)
	return append(all, more...), append(results, moreResults...)
}

// collector is a source or an enricher, bound to its host.
type collector struct {
	name    string
	collect func(ctx context.Context, emit func(Observation)) error
}

// runOne runs a source in its own goroutine, so that one that ignores its
// context cannot hold up the scan for longer than its timeout and grace.
func (r *Runner) runOne(ctx context.Context, c collector, timeout, grace time.Duration, logger *slog.Logger) ([]Observation, SourceResult) {
	name := c.name
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	// collected is shared with the source's goroutine: on timeout the runner
	// keeps what was emitted so far rather than lose it.
	var (
		mu    sync.Mutex
		obs   []Observation
		items int
	)
	emit := func(o Observation) {
		mu.Lock()
		defer mu.Unlock()
		items++
		if r.Keep != nil && !r.Keep(o) {
			return
		}
		o.Source = name
		obs = append(obs, o)
	}
	done := make(chan error, 1)
	start := time.Now()
	logger.Debug("source started", "source", name, "timeout", timeout)
	go func() {
		var err error
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("source %s panicked: %v\n%s", name, p, debug.Stack())
			}
			done <- err
		}()
		err = c.collect(ctx, emit)
	}()

	res := SourceResult{Name: name}
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		// Time is up: the source has been told through ctx. Wait for it to
		// stop, so that it is not left reading (and allocating) behind the
		// scan; what it emitted until then is kept.
		stopped := time.NewTimer(grace)
		defer stopped.Stop()
		why := fmt.Errorf("%w after %s", ctx.Err(), timeout)
		if cause := context.Cause(ctx); !errors.Is(ctx.Err(), context.DeadlineExceeded) && cause != ctx.Err() {
			// The scan was stopped for a reason (out of memory): say it.
			why = fmt.Errorf("%w: %w", ctx.Err(), cause)
		} else if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			why = ctx.Err()
		}
		select {
		case late := <-done:
			err = fmt.Errorf("source %s: %w", name, why)
			if late != nil && !errors.Is(late, ctx.Err()) {
				// The status says timeout; what else the source failed
				// with as it stopped is not lost, only logged.
				logger.Debug("source failed as it stopped after its time was up", "source", name, "err", late)
			}
		case <-stopped.C:
			err = fmt.Errorf("source %s: %w, and it did not stop within %s: abandoned", name, why, grace)
			logger.Error("source ignores its context: abandoned, still running", "source", name, "grace", grace)
		}
	}
	res.Duration = time.Since(start)
	mu.Lock()
	kept := obs
	obs = nil // later emits from a late source go to a fresh slice
	res.Items = items
	mu.Unlock()
	switch {
	case err == nil:
		res.Status = StatusOK
	case ctx.Err() == nil && IsWarning(err):
		res.Status, res.Warnings = StatusOK, warnings(err)
	case errors.Is(err, ErrUnavailable):
		res.Status, res.Err = StatusUnavailable, err
	case ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded):
		res.Status, res.Err = StatusTimeout, err
	default:
		res.Status, res.Err = StatusError, err
	}
	attrs := []any{"source", name, "status", res.Status, "duration", res.Duration.Round(time.Microsecond), "items", res.Items, "kept", len(kept)}
	if res.Err != nil {
		attrs = append(attrs, "err", res.Err)
	}
	logger.Debug("source finished", attrs...)
	return kept, res
}

// IsWarning reports whether every error in err's tree is an [ItemError]:
// err is one, or wraps one, or joins errors that all are (however deeply
// nested). Anything else in the tree — a database that could not be
// opened, a cut-short listing — is the source's failure. nil is no
// warning.
func IsWarning(err error) bool {
	for {
		switch e := err.(type) {
		case nil:
			return false
		case *ItemError:
			return true
		case interface{ Unwrap() []error }:
			errs := e.Unwrap()
			if len(errs) == 0 {
				return false
			}
			for _, x := range errs {
				if !IsWarning(x) {
					return false
				}
			}
			return true
		case interface{ Unwrap() error }:
			err = e.Unwrap()
		default:
			return false
		}
	}
}

// warnings lists the messages of the item errors in err's tree, in order,
// at most [MaxWarnings] of them and then "and N more".
func warnings(err error) []string {
	list := errlist.List{Max: MaxWarnings}
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
		case *ItemError:
			list.Add(e)
		case interface{ Unwrap() []error }:
			for _, x := range e.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
		}
	}
	walk(err)
	out := make([]string, 0, len(list.Kept())+1)
	for _, e := range list.Kept() {
		out = append(out, e.Error())
	}
	if more := list.More(); more != nil {
		out = append(out, more.Error())
	}
	return out
}
