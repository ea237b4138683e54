// Package agent is avscout's service loop: it scans the machine on a
// schedule, hands every report to the on-disk spool before anything else
// happens to it, wakes the sender, and keeps a small state file that
// `avscout status` reads, so an MDM check can answer without scanning.
//
// The loop ([Agent]) owns no OS knowledge: the scan, the spool and the
// sender are given to it as small interfaces, which is what lets the tests
// run the real loop against a real spool and a real HTTP server on
// loopback. [NewDaemon] wires those parts from the config (the spool, the
// state file, the agent key, the collector client, the schedule and the
// memory limit) and [Daemon.Once] is `service run --once`: one scan and
// one delivery pass, summed up in a [DeliverySummary] that says whether
// the run failed. The command only parses flags, prints and adapts to the
// OS's service manager.
package agent

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"time"

	"github.com/avscout/avscout/internal/report"
)

// Scanner performs one scan of the machine.
type Scanner func(ctx context.Context) (*report.Report, error)

// Queue is where reports wait for delivery: the spool.
type Queue interface {
	// Put stores a gzip-compressed report durably. It may drop older
	// reports to make room; the queue itself logs and counts those.
	Put(id string, gz []byte) (dropped []string, err error)
}

// Schedule says when scans run.
type Schedule struct {
	// Splay bounds the random delay before the first scan, so that a
	// fleet rebooted at once does not scan (and report) at once.
	Splay time.Duration
	// Interval is the time between scans; Jitter the random ± added to it.
	Interval time.Duration
	Jitter   time.Duration
}

// Agent runs scans on a schedule and queues their reports.
type Agent struct {
	Scan     Scanner
	Queue    Queue
	Schedule Schedule
	State    *StateFile
	// Deliver, when not nil, sends queued reports until ctx ends; it
	// starts a pass whenever wake receives. It runs beside the scan loop.
	Deliver func(ctx context.Context, wake <-chan struct{})
	Logger  *slog.Logger
	// Rand returns a number in [0, 1); nil means math/rand/v2. Tests fix it.
	Rand func() float64
	// After is time.After; tests may shorten waits.
	After func(time.Duration) <-chan time.Time
	// Now is time.Now; tests fix it.
	Now func() time.Time
}

// Run scans and queues until ctx ends, and returns nil then. The first
// scan happens within Splay; each next one Interval ± Jitter after the
// previous one started. Scans never overlap: one goroutine runs them.
func (a *Agent) Run(ctx context.Context) error {
	if a.Scan == nil || a.Queue == nil {
		return errors.New("agent: Scan and Queue are required")
	}
	if a.Schedule.Interval <= 0 {
		return fmt.Errorf("agent: interval %v must be positive", a.Schedule.Interval)
	}
	log := a.logger()
	wake := make(chan struct{}, 1)
	var wg sync.WaitGroup
	if a.Deliver != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.Deliver(ctx, wake)
		}()
		wake <- struct{}{} // send what an earlier run left in the spool
	}
	defer wg.Wait()

	a.State.Update(func(s *State) {
		s.StartedAt = a.now().UTC()
		s.PID = currentPID()
	})
	wait := a.splay(a.Schedule.Splay)
	for {
		next := a.now().Add(wait)
		a.State.Update(func(s *State) { s.NextScan = next.UTC() })
		log.Info("next scan scheduled", "at", next.UTC().Format(time.RFC3339), "in", wait.Round(time.Second))
		select {
		case <-ctx.Done():
			return nil
		case <-a.after(wait):
		}
		started := a.now()
		// cycle logs a failed scan or queueing and records it in the
		// state, which `avscout status` shows; the service lives on.
		_ = a.cycle(ctx, wake)
		if ctx.Err() != nil {
			return nil
		}
		wait = a.spread(a.Schedule.Interval-a.now().Sub(started), a.Schedule.Jitter)
	}
}

// RunOnce scans once and queues the report, as the service's first cycle
// would; `avscout service run --once` and the tests use it.
func (a *Agent) RunOnce(ctx context.Context) error {
	return a.cycle(ctx, nil)
}

// cycle is one scan: scan, encode, queue, record, wake the sender. A
// panic in the scan is recorded as a failed scan; the service lives on.
func (a *Agent) cycle(ctx context.Context, wake chan<- struct{}) (err error) {
	log := a.logger()
	start := a.now()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("scan panicked: %v", p)
			log.Error("scan panicked", "panic", p, "stack", string(debug.Stack()))
			a.State.Update(func(s *State) {
				s.LastScan = &ScanState{At: start.UTC(), Error: err.Error()}
			})
		}
		// A scan allocates a few MB that the idle service should not keep.
		debug.FreeOSMemory()
	}()
	r, err := a.Scan(ctx)
	if err != nil {
		log.Error("scan failed", "err", err)
		a.State.Update(func(s *State) {
			s.LastScan = &ScanState{At: start.UTC(), DurationMS: a.now().Sub(start).Milliseconds(), Error: err.Error()}
		})
		return err
	}
	summary := summarize(r)
	gz, err := encode(r)
	if err == nil {
		_, err = a.Queue.Put(r.ReportID, gz)
	}
	if err != nil {
		// The scan result is not lost from view: the state keeps its gist.
		summary.Error = fmt.Sprintf("queue report: %v", err)
		log.Error("could not queue the report", "report_id", r.ReportID, "err", err)
	} else {
		log.Info("scan done", "report_id", r.ReportID, "verdict", summary.Verdict,
			"products", len(r.Products), "restricted", len(summary.Restricted), "duration_ms", r.DurationMS)
	}
	a.State.Update(func(s *State) { s.LastScan = &summary })
	if err == nil && wake != nil {
		select {
		case wake <- struct{}{}:
		default: // a pass is already pending
		}
	}
	return err
}

// summarize keeps what `avscout status` shows of a report.
func summarize(r *report.Report) ScanState {
	s := ScanState{
		At:         r.GeneratedAt.UTC(),
		ReportID:   r.ReportID,
		DurationMS: r.DurationMS,
		Verdict:    report.VerdictOf(r),
		Compliant:  report.VerdictOf(r) == report.VerdictCompliant,
		Products:   len(r.Products),
		Restricted: []string{},
	}
	for _, p := range r.Products {
		if p.Restricted && p.State != report.StateLeftover {
			s.Restricted = append(s.Restricted, p.Name)
		}
	}
	for _, src := range r.Sources {
		if report.Failed(src) {
			s.FailedSources = append(s.FailedSources, src.Name)
		}
	}
	return s
}

// encode renders the report as gzip-compressed JSON, the spool's and the
// wire's format.
func encode(r *report.Report) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(r); err != nil {
		return nil, fmt.Errorf("encode report %s: %w", r.ReportID, err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compress report %s: %w", r.ReportID, err)
	}
	return buf.Bytes(), nil
}

// spread returns base ± a uniform draw of up to jitter, never negative.
func (a *Agent) spread(base, jitter time.Duration) time.Duration {
	if jitter > 0 {
		base += time.Duration((a.rand()*2 - 1) * float64(jitter))
	}
	return max(base, 0)
}

// splay returns a uniform draw in [0, splay).
func (a *Agent) splay(splay time.Duration) time.Duration {
	return time.Duration(a.rand() * float64(max(splay, 0)))
}

func (a *Agent) rand() float64 {
	if a.Rand != nil {
		return a.Rand()
	}
	return rand.Float64()
}

func (a *Agent) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Agent) after(d time.Duration) <-chan time.Time {
	if a.After != nil {
		return a.After(d)
	}
	return time.After(d)
}

func (a *Agent) logger() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.New(slog.DiscardHandler)
}
