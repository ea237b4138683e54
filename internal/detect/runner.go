package detect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/avscout/avscout/internal/host"
)

// SourceStatus values as they appear in reports.
const (
	StatusOK          = "ok"
	StatusError       = "error"
	StatusUnavailable = "unavailable"
	StatusTimeout     = "timeout"
)

// SourceResult says how one source fared.
type SourceResult struct {
	Name     string
	Status   string // StatusOK, StatusError, StatusUnavailable or StatusTimeout
	Items    int    // observations the source emitted
	Duration time.Duration
	Err      error
}

// Runner runs sources concurrently.
type Runner struct {
	Sources []Source
	// Timeout bounds each source; zero means 30 seconds.
	Timeout time.Duration
	// Keep, when set, drops observations nobody will judge relevant before
	// they are stored, so a 100,000-package database costs little memory.
	Keep   func(Observation) bool
	Logger *slog.Logger
}

// Run runs every source against h and returns the kept observations, in
// source order then emission order, and one result per source.
func (r *Runner) Run(ctx context.Context, h *host.Host) ([]Observation, []SourceResult) {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	logger := r.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	perSource := make([][]Observation, len(r.Sources))
	results := make([]SourceResult, len(r.Sources))
	var wg sync.WaitGroup
	for i, src := range r.Sources {
		wg.Go(func() {
			obs, res := r.runOne(ctx, h, src, timeout)
			perSource[i], results[i] = obs, res
			if res.Err != nil && res.Status != StatusUnavailable {
				logger.Warn("source failed", "source", res.Name, "status", res.Status, "err", res.Err)
			}
		})
	}
	wg.Wait()
	var all []Observation
	for _, obs := range perSource {
		all = append(all, obs...)
	}
	return all, results
}

// runOne runs a source in its own goroutine so that a source that ignores
// its context cannot hold up the scan past its timeout.
func (r *Runner) runOne(ctx context.Context, h *host.Host, src Source, timeout time.Duration) ([]Observation, SourceResult) {
	name := src.Name()
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
	go func() {
		var err error
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("source %s panicked: %v\n%s", name, p, debug.Stack())
			}
			done <- err
		}()
		err = src.Collect(ctx, h, emit)
	}()

	res := SourceResult{Name: name}
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		// The source ignored its context. Its goroutine ends on its own.
		err = fmt.Errorf("source %s: %w after %s", name, ctx.Err(), timeout)
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
	case errors.Is(err, ErrUnavailable):
		res.Status, res.Err = StatusUnavailable, err
	case ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded):
		res.Status, res.Err = StatusTimeout, err
	default:
		res.Status, res.Err = StatusError, err
	}
	return kept, res
}
