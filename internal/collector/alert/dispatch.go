package alert

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/avscout/avscout/internal/collector/store"
	"github.com/avscout/avscout/internal/text"
)

// Outbox is the store's alert outbox, as the [Dispatcher] uses it;
// *store.Store implements it.
type Outbox interface {
	ClaimAlerts(ctx context.Context, limit int, lease time.Duration) ([]store.Alert, error)
	AlertDelivered(ctx context.Context, a *store.Alert) error
	AlertRetry(ctx context.Context, a *store.Alert, after time.Duration, lastErr string) error
	AlertGiveUp(ctx context.Context, a *store.Alert, lastErr string) error
	AlertCounts(ctx context.Context) (store.AlertCounts, error)
	PruneAlerts(ctx context.Context, keep time.Duration) (int64, error)
}

// Options tune a [Dispatcher]. The zero value is usable.
type Options struct {
	Logger  *slog.Logger     // nil: discard
	Now     func() time.Time // nil: time.Now
	Version string           // the collector's, in the User-Agent
	// Poll is how often the outbox is asked for due alerts (default 1s).
	Poll time.Duration
}

const (
	defaultPoll   = time.Second
	claimBatch    = 16
	pruneEvery    = time.Hour
	recordTimeout = 10 * time.Second
	// maxErrorBody bounds what is read of a receiver's error answer (kept
	// with the alert); maxDrain what is read of any answer, so that its
	// connection can be reused.
	maxErrorBody = 256
	maxDrain     = 64 << 10
)

// Dispatcher delivers the outbox's alerts to the configured webhooks.
// Several dispatchers, in replicas sharing a database, deliver each alert
// once: the outbox leases each to one of them.
type Dispatcher struct {
	cfg     *Config
	outbox  Outbox
	log     *slog.Logger
	now     func() time.Time
	poll    time.Duration
	agent   string
	hooks   map[string]*hook
	names   []string // webhook names in config order
	lease   time.Duration
	metrics map[string]*counters // by webhook name; fixed after New
}

type hook struct {
	Webhook
	client *http.Client
}

type counters struct {
	delivered, failedAttempts, givenUp atomic.Uint64
}

// New returns a dispatcher of cfg's webhooks over outbox.
func New(cfg *Config, outbox Outbox, opts Options) *Dispatcher {
	d := &Dispatcher{cfg: cfg, outbox: outbox, log: opts.Logger, now: opts.Now, poll: opts.Poll,
		agent: "avscout-collector/" + opts.Version, hooks: map[string]*hook{}, metrics: map[string]*counters{},
		// A claim outlives an attempt, and the time to record it.
		lease: 2*cfg.Timeout + 30*time.Second}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.now == nil {
		d.now = time.Now
	}
	if d.poll <= 0 {
		d.poll = defaultPoll
	}
	for _, w := range cfg.Webhooks {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: w.rootCAs}
		tr.MaxIdleConnsPerHost = 4
		d.hooks[w.Name] = &hook{Webhook: w, client: &http.Client{
			Transport: tr,
			Timeout:   cfg.Timeout,
			// A redirect is an answer, never followed: the body is signed
			// for this receiver, and an alert is not sent where the
			// configuration does not say.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}}
		d.names = append(d.names, w.Name)
		d.metrics[w.Name] = &counters{}
	}
	return d
}

// Run delivers alerts until ctx ends, then returns once the attempts
// under way are recorded.
func (d *Dispatcher) Run(ctx context.Context) {
	for _, w := range d.cfg.Webhooks {
		d.log.Info("alerts: webhook", "webhook", w.Name, "url", w.Host(), "format", w.Format, "events", w.Events, "signed", len(w.secret) > 0)
	}
	nextPrune := d.now()
	for {
		if !d.now().Before(nextPrune) {
			if n, err := d.outbox.PruneAlerts(ctx, d.cfg.Keep); err != nil && ctx.Err() == nil {
				d.log.Warn("alerts: pruning the outbox", "err", err)
			} else if n > 0 {
				d.log.Info("alerts: pruned finished alerts", "alerts", n)
			}
			nextPrune = d.now().Add(pruneEvery)
		}
		n, err := d.Once(ctx)
		if err != nil && ctx.Err() == nil {
			d.log.Warn("alerts: claiming from the outbox", "err", err)
		}
		if n == claimBatch && err == nil {
			continue // more may be due
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(d.poll):
		}
	}
}

// Once claims the alerts due now (up to a batch), attempts each, records
// the outcomes and returns how many it attempted.
func (d *Dispatcher) Once(ctx context.Context) (int, error) {
	alerts, err := d.outbox.ClaimAlerts(ctx, claimBatch, d.lease)
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	for i := range alerts {
		wg.Go(func() { d.attempt(ctx, &alerts[i]) })
	}
	wg.Wait()
	return len(alerts), nil
}

// attempt delivers a once and records the outcome, even when ctx ended
// meanwhile (the alert is then retried).
func (d *Dispatcher) attempt(ctx context.Context, a *store.Alert) {
	h := d.hooks[a.Webhook]
	var err error
	retryAfter := time.Duration(0)
	if h == nil {
		err = fmt.Errorf("webhook %q is not in the alerts configuration", a.Webhook)
	} else {
		retryAfter, err = d.post(ctx, h, a)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	log := d.log.With("webhook", a.Webhook, "event", a.Event, "event_id", a.EventID, "host_id", text.Clip(a.HostID, 80), "attempt", a.Attempts)
	c := d.metrics[a.Webhook]
	if err == nil {
		if c != nil {
			c.delivered.Add(1)
		}
		if rerr := d.outbox.AlertDelivered(rctx, a); rerr != nil {
			// Delivered but not recorded: it will be sent again, and the
			// receiver drops the repeat by its event id.
			log.Warn("alerts: delivered, but recording it failed", "err", rerr)
			return
		}
		log.Info("alerts: delivered")
		return
	}
	if c != nil {
		c.failedAttempts.Add(1)
	}
	msg := err.Error()
	// An attempt cut short by shutdown is retried, never the last.
	if age := d.now().Sub(a.DetectedAt); age >= d.cfg.GiveUpAfter && ctx.Err() == nil {
		if c != nil {
			c.givenUp.Add(1)
		}
		if rerr := d.outbox.AlertGiveUp(rctx, a, msg); rerr != nil {
			log.Warn("alerts: recording a given-up alert failed", "err", rerr)
		}
		log.Error("alerts: gave up: not delivered within give_up_after", "age", age.Round(time.Second), "err", msg)
		return
	}
	wait := d.backoff(a.Attempts, retryAfter)
	if rerr := d.outbox.AlertRetry(rctx, a, wait, msg); rerr != nil {
		log.Warn("alerts: recording a failed attempt failed; the alert is retried when its claim ends", "err", rerr)
	}
	log.Warn("alerts: delivery failed; will retry", "retry_in", wait.Round(time.Millisecond), "err", msg)
}

// backoff is the wait after the attempt-th failed attempt: RetryMin
// doubled per attempt, at most RetryMax, the upper half of it drawn at
// random so that alerts failing together do not retry together; at least
// what the receiver asked with Retry-After (within RetryMax).
func (d *Dispatcher) backoff(attempt int, retryAfter time.Duration) time.Duration {
	w := d.cfg.RetryMin
	for i := 1; i < attempt && w < d.cfg.RetryMax; i++ {
		w *= 2
	}
	w = min(w, d.cfg.RetryMax)
	w = w/2 + rand.N(w/2+1)
	return min(max(w, retryAfter), d.cfg.RetryMax)
}

// statusError is a receiver's answer other than 2xx.
type statusError struct {
	code int
	body string
}

func (e *statusError) Error() string {
	if e.body == "" {
		return fmt.Sprintf("HTTP %d", e.code)
	}
	return fmt.Sprintf("HTTP %d: %q", e.code, e.body)
}

// post sends a to h once; a nil error means the receiver answered 2xx.
// With an error it returns the wait the receiver asked for, if any.
func (d *Dispatcher) post(ctx context.Context, h *hook, a *store.Alert) (time.Duration, error) {
	body, err := render(h.Format, a)
	if err != nil {
		return 0, fmt.Errorf("rendering the alert: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL.String(), bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("posting to %s: %w", h.Host(), err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", d.agent)
	req.Header.Set(EventHeader, a.Event)
	req.Header.Set(EventIDHeader, a.EventID)
	req.Header.Set(AttemptHeader, strconv.Itoa(a.Attempts))
	if len(h.secret) > 0 {
		req.Header.Set(SignatureHeader, Sign(h.secret, d.now(), body))
	}
	resp, err := h.client.Do(req)
	if err != nil {
		// url.Error quotes the whole URL, which may hold a credential.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, fmt.Errorf("posting to %s: %w", h.Host(), err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
		resp.Body.Close()
	}()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return 0, nil
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &statusError{code: resp.StatusCode, body: text.OneLine(string(snippet))}
	if loc := resp.Header.Get("Location"); resp.StatusCode >= 300 && resp.StatusCode < 400 && loc != "" {
		e.body = "redirect not followed"
	}
	var wait time.Duration
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		wait = time.Duration(min(s, 7*24*3600)) * time.Second
	}
	return wait, fmt.Errorf("posting to %s: %w", h.Host(), e)
}
