package collector

import (
	"log/slog"
	"sync"
	"time"
)

// Log lines that anyone on the network can cause (a request without a
// valid enrollment token, a wrong admin secret from ever new addresses)
// are bounded per replica, so that a flood cannot fill the disk: at most
// logBudgetLines of a kind each logBudgetEvery, then one summary line
// saying how many were suppressed. The metrics still count every event.
const (
	logBudgetLines = 20
	logBudgetEvery = time.Second
)

// logBudget bounds the lines of one kind a replica logs. It is safe for
// concurrent use.
type logBudget struct {
	log   *slog.Logger
	kind  string // what the summary says was suppressed
	lines int
	every time.Duration
	now   func() time.Time            // time.Now
	after func(time.Duration, func()) // runs a func after a while: time.AfterFunc

	mu         sync.Mutex
	start      time.Time // of the current interval
	n          int       // lines logged in it
	suppressed int       // lines not logged since the last summary
	pending    bool      // a summary is scheduled
}

func newLogBudget(log *slog.Logger, kind string) *logBudget {
	return &logBudget{log: log, kind: kind, lines: logBudgetLines, every: logBudgetEvery, now: time.Now,
		after: func(d time.Duration, f func()) { time.AfterFunc(d, f) }}
}

// allow says whether a line may be logged now. When it may not, the line
// is counted, and a summary is logged at the end of the interval.
func (b *logBudget) allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if now.Sub(b.start) >= b.every || now.Before(b.start) {
		b.summaryLocked()
		b.start, b.n = now, 0
	}
	if b.n < b.lines {
		b.n++
		return true
	}
	b.suppressed++
	if !b.pending {
		b.pending = true
		b.after(b.start.Add(b.every).Sub(now), b.summary)
	}
	return false
}

// summary logs how many lines were suppressed, if any.
func (b *logBudget) summary() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending = false
	b.summaryLocked()
}

func (b *logBudget) summaryLocked() {
	if b.suppressed == 0 {
		return
	}
	b.log.Warn("log lines suppressed", "kind", b.kind, "suppressed", b.suppressed,
		"limit", b.lines, "per", b.every.String())
	b.suppressed = 0
}
