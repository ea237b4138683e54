package transport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/avscout/avscout/internal/spool"
)

// MaxRetryAfter bounds how long a collector's Retry-After can hold back
// delivery.
const MaxRetryAfter = time.Hour

// DefaultPoll is how long [Deliverer.Run] stays idle before it looks at
// the queue again without being woken.
const DefaultPoll = 10 * time.Minute

// Sender sends one report; [*Client] is the real one.
type Sender interface {
	Send(ctx context.Context, id string, gz []byte) error
}

// Queue is where reports wait: [*spool.Spool]. Read may fail with
// [spool.ErrNotFound] (the report went meanwhile) or [spool.ErrCorrupt]
// (it was moved to dead-letter); DeadLetter may fail with
// [spool.ErrNotFound].
type Queue interface {
	Pending() ([]spool.Entry, error)
	Read(id string) ([]byte, error)
	Delete(id string) error
	DeadLetter(id, reason string) error
}

// Result is the outcome of one delivery pass.
type Result struct {
	Attempted    int // reports sent to the collector, whatever the answer
	Sent         int // reports the collector accepted
	DeadLettered int // reports refused for good, or corrupt, and moved aside
	// DeadLetterReason is why the pass's last dead-lettered report was
	// moved aside (the collector's refusal, or the corruption found).
	DeadLetterReason string
	// Err is the error that ended the pass early (retryable), or the
	// last local error (queue I/O) met in it; nil when the queue was
	// drained.
	Err error
	// RetryAfter is the collector's Retry-After with Err, if any.
	RetryAfter time.Duration
	At         time.Time // when the pass ended
}

// Deliverer drains a [Queue] through a [Sender].
type Deliverer struct {
	Client  Sender
	Queue   Queue
	Backoff Backoff
	Logger  *slog.Logger
	// OnResult, when set, is called after each pass that did something
	// or failed, for example to record the last delivery in a state file.
	OnResult func(Result)
	// Poll is how long Run stays idle before a pass without being woken;
	// zero means DefaultPoll, negative means only when woken.
	Poll time.Duration
	// After is time.After; tests may control waits with it.
	After func(time.Duration) <-chan time.Time
}

// DrainOnce sends the queued reports oldest first, until the queue is
// empty or a retryable failure ends the pass. A report the collector
// accepts is deleted; one it refuses for good (a permanent [SendError])
// is dead-lettered with the reason, and the pass goes on. Errors of the
// sender that are not a *SendError count as retryable: the report stays.
func (d *Deliverer) DrainOnce(ctx context.Context) (res Result) {
	log := d.logger()
	defer func() { res.At = time.Now() }()
	entries, err := d.Queue.Pending()
	if err != nil {
		res.Err = fmt.Errorf("list queued reports: %w", err)
		log.Error("delivery: cannot list the queue", "err", err)
		return res
	}
	for _, e := range entries {
		if ctx.Err() != nil {
			return res
		}
		gz, err := d.Queue.Read(e.ID)
		switch {
		case errors.Is(err, spool.ErrNotFound):
			continue // dropped or deleted since the listing
		case errors.Is(err, spool.ErrCorrupt):
			res.DeadLettered++ // the queue moved it aside and logged it
			res.DeadLetterReason = err.Error()
			continue
		case err != nil:
			res.Err = fmt.Errorf("read report %s: %w", e.ID, err)
			log.Error("delivery: cannot read a queued report; trying the others", "report_id", e.ID, "err", err)
			continue
		}
		res.Attempted++
		err = d.Client.Send(ctx, e.ID, gz)
		if err == nil {
			res.Sent++
			if err := d.Queue.Delete(e.ID); err != nil {
				res.Err = fmt.Errorf("delete delivered report %s: %w", e.ID, err)
				log.Error("delivery: report delivered but not deleted; it will be sent again", "report_id", e.ID, "err", err)
				continue
			}
			log.Debug("delivery: report delivered", "report_id", e.ID, "bytes", len(gz))
			continue
		}
		var se *SendError
		if errors.As(err, &se) && !se.Retryable {
			if derr := d.Queue.DeadLetter(e.ID, se.Reason); derr != nil && !errors.Is(derr, spool.ErrNotFound) {
				res.Err = fmt.Errorf("dead-letter report %s: %w", e.ID, derr)
				log.Error("delivery: collector refused a report, and it could not be moved to dead-letter",
					"report_id", e.ID, "reason", se.Reason, "err", derr)
				continue
			}
			res.DeadLettered++
			res.DeadLetterReason = se.Reason
			log.Warn("delivery: collector refused a report; moved to dead-letter",
				"report_id", e.ID, "status", se.Status, "reason", se.Reason)
			continue
		}
		res.Err = err
		if se != nil {
			res.RetryAfter = se.RetryAfter
			if se.Hold {
				log.Error("delivery: the collector (or something in front of it) refuses this agent, or the agent's key is unusable; "+
					"reports stay queued and are retried at the longest backoff",
					"report_id", e.ID, "status", se.Status, "code", se.Code, "reason", se.Reason, "err", se.Err)
			}
		}
		return res
	}
	return res
}

// Run delivers until ctx ends. After a pass that drained the queue it
// waits for wake (or Poll); after a failed pass it waits
// max(Backoff.Next(attempt), RetryAfter), the Retry-After part bounded by
// MaxRetryAfter, and a wake does not cut that wait short; after a failure
// that holds delivery ([SendError.Hold]) Backoff.Next is replaced by
// Backoff.Longest. The attempt count restarts after a pass without error.
func (d *Deliverer) Run(ctx context.Context, wake <-chan struct{}) {
	log := d.logger()
	attempt := 0
	for {
		// A wake that came before this pass is served by it.
		select {
		case <-wake:
		default:
		}
		res := d.DrainOnce(ctx)
		alive := ctx.Err() == nil
		if d.OnResult != nil && (res.Sent > 0 || res.DeadLettered > 0 || alive && (res.Attempted > 0 || res.Err != nil)) {
			d.OnResult(res)
		}
		if !alive {
			return
		}
		var wait time.Duration
		var woken <-chan struct{}
		if res.Err != nil {
			wait = d.Backoff.Next(attempt)
			attempt = min(attempt+1, 64)
			if se := (*SendError)(nil); errors.As(res.Err, &se) && se.Hold {
				// Nothing gets through until someone acts: no haste.
				wait = d.Backoff.Longest()
			}
			if res.RetryAfter > wait {
				wait = min(res.RetryAfter, MaxRetryAfter)
			}
			log.Info("delivery: will retry", "in", wait.String(), "sent", res.Sent, "err", res.Err)
		} else {
			attempt = 0
			wait, woken = d.Poll, wake
			if wait == 0 {
				wait = DefaultPoll
			}
		}
		var timer <-chan time.Time
		if wait >= 0 {
			timer = d.after(wait)
		}
		select {
		case <-ctx.Done():
			return
		case <-timer:
		case <-woken:
		}
	}
}

func (d *Deliverer) after(wait time.Duration) <-chan time.Time {
	if d.After != nil {
		return d.After(wait)
	}
	return time.After(wait)
}

func (d *Deliverer) logger() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.New(slog.DiscardHandler)
}
