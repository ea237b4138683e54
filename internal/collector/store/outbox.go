package store

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/avscout/avscout/internal/text"
)

// Alert events: what a host became. An event is named after the host's
// new state, but for [AlertRecovered].
const (
	AlertRestricted  = "restricted"  // the host's state is now HostRestricted
	AlertIncomplete  = "incomplete"  // now HostIncomplete
	AlertUnprotected = "unprotected" // now HostUnprotected
	AlertRecovered   = "recovered"   // now HostClean, after another state
)

// AlertEvents lists the alert events, in the order the documentation
// gives them.
func AlertEvents() []string {
	return []string{AlertRestricted, AlertIncomplete, AlertUnprotected, AlertRecovered}
}

// Alert delivery states (the outbox's status column).
const (
	AlertPending   = "pending"
	AlertDelivered = "delivered"
	AlertFailed    = "failed" // given up
)

// maxAlertError bounds the last error kept with an alert.
const maxAlertError = 512

// AlertRoute subscribes the webhook named Webhook to Events (of
// [AlertEvents]): for each host state change that is one of them, the
// store queues an [Alert] for the webhook in the transaction that stores
// the change. Every replica of a collector must be given the same routes.
type AlertRoute struct {
	Webhook string
	Events  []string
}

// Alert is one event on its way to one webhook: a row of the outbox.
type Alert struct {
	// EventID is the event's stable id: the same for every webhook and
	// every attempt, for receivers to drop repeats.
	EventID string
	Webhook string
	Event   string // one of AlertEvents
	// The host as it was when its state changed.
	HostID, Hostname, OS string
	ReportID             string    // the report that changed the state
	From, To             string    // host states; From is "" for a host's first report
	Verdict              string    // the report's verdict
	Restricted           []string  // restricted products active or installed
	Protection           []string  // active security products
	ScannedAt            time.Time // the report's generated_at
	DetectedAt           time.Time // when the report was stored
	// Attempts counts delivery attempts, this one included once claimed.
	Attempts int
	// lease identifies the claim; a worker whose lease expired and was
	// claimed by another cannot record an outcome.
	lease string
}

// AlertCounts counts the outbox's alerts by status.
type AlertCounts struct {
	Pending int // waiting for delivery or being delivered
	Failed  int // given up, still in the outbox (see [Store.PruneAlerts])
}

// alertRoutes maps each event to the webhooks subscribed to it.
func alertRoutes(routes []AlertRoute) (map[string][]string, error) {
	m := map[string][]string{}
	for _, r := range routes {
		if r.Webhook == "" || len(r.Webhook) > MaxIDLen {
			return nil, fmt.Errorf("%w alert route: webhook name must have 1 to %d bytes", ErrInvalid, MaxIDLen)
		}
		for _, e := range r.Events {
			if !slices.Contains(AlertEvents(), e) {
				return nil, fmt.Errorf("%w alert route %s: unknown event %q", ErrInvalid, r.Webhook, e)
			}
			if !slices.Contains(m[e], r.Webhook) {
				m[e] = append(m[e], r.Webhook)
			}
		}
	}
	for _, hooks := range m {
		slices.Sort(hooks)
	}
	return m, nil
}

// stateChange is a host state changed by a stored report, found by
// applyBatch for the outbox.
type stateChange struct {
	from string
	host *hostRow // the report's host row
	at   int64    // when the report was stored
}

// appendStateChange appends the change from state from (empty for a
// host's first report) to h's, if it is one alerts are about.
func appendStateChange(changes []stateChange, from string, h *hostRow, at int64) []stateChange {
	if alertEvent(from, h.state) == "" {
		return changes
	}
	return append(changes, stateChange{from: from, host: h, at: at})
}

// alertEvent names the event of a change of host state, or "" when there
// is none: the state did not change, or a host's first report is clean.
func alertEvent(from, to string) string {
	if from == to {
		return ""
	}
	switch to {
	case HostRestricted:
		return AlertRestricted
	case HostIncomplete:
		return AlertIncomplete
	case HostUnprotected:
		return AlertUnprotected
	case HostClean:
		if from != "" {
			return AlertRecovered
		}
	}
	return ""
}

// alertEventID derives an event's id from the report that made it: one
// report changes its host's state at most once.
func alertEventID(hostID, reportID string) string {
	sum := sha256.Sum256([]byte("avscout alert\x00" + hostID + "\x00" + reportID))
	return hex.EncodeToString(sum[:16])
}

const alertColumns = `event_id, webhook, event, host_id, hostname, os, report_id, from_state, to_state, verdict,
	restricted, protection, scanned_at, created_at, status, attempts, next_attempt, lease, last_error`

// enqueueAlerts queues, in tx, an alert of each change for each webhook
// subscribed to its event.
func (s *Store) enqueueAlerts(ctx context.Context, tx *sql.Tx, changes []stateChange) error {
	type row struct {
		c       stateChange
		event   string
		webhook string
	}
	var rows []row
	for _, c := range changes {
		ev := alertEvent(c.from, c.host.state)
		for _, hook := range s.alertRoutes[ev] {
			rows = append(rows, row{c, ev, hook})
		}
	}
	err := insertReturning(ctx, tx, "alert_outbox ("+alertColumns+")", 19, len(rows), func(i int, args []any) []any {
		r := rows[i]
		h := r.c.host
		return append(args, alertEventID(h.id, h.lastReportID), r.webhook, r.event, h.id, h.hostname, h.os, h.lastReportID,
			r.c.from, h.state, h.verdict, h.restricted, h.protection, h.generatedAt, r.c.at, AlertPending, int64(0), r.c.at, "", "")
	}, " ON CONFLICT (event_id, webhook) DO NOTHING", nil)
	if err != nil {
		return fmt.Errorf("queueing alerts: %w", err)
	}
	return nil
}

// ClaimAlerts claims up to limit alerts that are due, for lease: no
// other caller, on this replica or another sharing the database, gets
// them until lease has passed, by when the caller records the outcome
// with [Store.AlertDelivered], [Store.AlertRetry] or [Store.AlertGiveUp].
// A caller that dies meanwhile leaves them to be claimed again once the
// lease ends. A host's alerts to a webhook are claimed in the order they
// were queued, each after the one before is finished. Claiming counts an
// attempt.
func (s *Store) ClaimAlerts(ctx context.Context, limit int, lease time.Duration) ([]Alert, error) {
	if limit <= 0 || lease <= 0 {
		return nil, fmt.Errorf("%w claiming alerts: limit and lease must be positive", ErrInvalid)
	}
	now := micros(s.now())
	// Most polls find nothing: ask a reader first, so that SQLite's single
	// writer is not taken for nothing.
	var one int
	err := s.r.QueryRowContext(ctx, "SELECT 1 FROM alert_outbox WHERE status = $1 AND next_attempt <= $2 LIMIT 1",
		AlertPending, now).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("looking for due alerts: %w", err)
	}
	skipLocked := ""
	if s.dialect.name == "postgres" {
		skipLocked = " FOR UPDATE SKIP LOCKED" // replicas claim different rows
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	token := hex.EncodeToString(id)
	rows, err := s.w.QueryContext(ctx, `UPDATE alert_outbox SET next_attempt = $1, lease = $2, attempts = attempts + 1
		WHERE (event_id, webhook) IN (
			SELECT a.event_id, a.webhook FROM alert_outbox a
			WHERE a.status = $3 AND a.next_attempt <= $4
			AND NOT EXISTS (SELECT 1 FROM alert_outbox b WHERE b.webhook = a.webhook AND b.host_id = a.host_id
				AND b.status = $3 AND b.created_at < a.created_at)
			ORDER BY a.next_attempt, a.created_at LIMIT $5`+skipLocked+`)
		RETURNING `+alertColumns,
		now+lease.Microseconds(), token, AlertPending, now, int64(limit))
	if err != nil {
		return nil, fmt.Errorf("claiming alerts: %w", err)
	}
	defer rows.Close()
	var out []Alert
	for rows.Next() {
		var (
			a                     Alert
			restricted, protected string
			scanned, created      int64
			status, lastErr       string
			attempts, next        int64
		)
		if err := rows.Scan(&a.EventID, &a.Webhook, &a.Event, &a.HostID, &a.Hostname, &a.OS, &a.ReportID, &a.From, &a.To,
			&a.Verdict, &restricted, &protected, &scanned, &created, &status, &attempts, &next, &a.lease, &lastErr); err != nil {
			return nil, fmt.Errorf("claiming alerts: %w", err)
		}
		a.Attempts = int(attempts)
		a.ScannedAt, a.DetectedAt = fromMicros(scanned), fromMicros(created)
		if err := json.Unmarshal([]byte(restricted), &a.Restricted); err != nil {
			return nil, fmt.Errorf("alert %s: restricted products: %w", a.EventID, err)
		}
		if err := json.Unmarshal([]byte(protected), &a.Protection); err != nil {
			return nil, fmt.Errorf("alert %s: protection: %w", a.EventID, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claiming alerts: %w", err)
	}
	// Rows come back in no particular order.
	slices.SortFunc(out, func(x, y Alert) int {
		return cmp.Or(x.DetectedAt.Compare(y.DetectedAt), cmp.Compare(x.Webhook, y.Webhook), cmp.Compare(x.EventID, y.EventID))
	})
	return out, nil
}

// ErrLeaseLost: an alert's outcome came after its lease ended and another
// worker claimed it; that worker's outcome counts.
var ErrLeaseLost = errors.New("alert claimed again after its lease ended")

// finishAlert records an outcome of a's attempt under a's lease.
func (s *Store) finishAlert(ctx context.Context, a *Alert, set string, args ...any) error {
	args = append(args, a.EventID, a.Webhook, a.lease)
	n := len(args)
	res, err := s.w.ExecContext(ctx, "UPDATE alert_outbox SET "+set+", lease = ''"+
		fmt.Sprintf(" WHERE event_id = $%d AND webhook = $%d AND lease = $%d AND status = 'pending'", n-2, n-1, n), args...)
	if err != nil {
		return fmt.Errorf("recording alert %s to %s: %w", a.EventID, a.Webhook, err)
	}
	if k, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("recording alert %s to %s: %w", a.EventID, a.Webhook, err)
	} else if k == 0 {
		return fmt.Errorf("recording alert %s to %s: %w", a.EventID, a.Webhook, ErrLeaseLost)
	}
	return nil
}

// AlertDelivered records that a, claimed by [Store.ClaimAlerts], was
// delivered.
func (s *Store) AlertDelivered(ctx context.Context, a *Alert) error {
	return s.finishAlert(ctx, a, "status = $1, finished_at = $2, last_error = ''", AlertDelivered, micros(s.now()))
}

// AlertRetry records that a's attempt failed with lastErr and that it is
// to be tried again after the delay.
func (s *Store) AlertRetry(ctx context.Context, a *Alert, after time.Duration, lastErr string) error {
	return s.finishAlert(ctx, a, "next_attempt = $1, last_error = $2",
		micros(s.now().Add(max(after, 0))), clean(text.Clip(lastErr, maxAlertError)))
}

// AlertGiveUp records that a's attempt failed with lastErr and that it
// will not be tried again.
func (s *Store) AlertGiveUp(ctx context.Context, a *Alert, lastErr string) error {
	return s.finishAlert(ctx, a, "status = $1, finished_at = $2, last_error = $3",
		AlertFailed, micros(s.now()), clean(text.Clip(lastErr, maxAlertError)))
}

// AlertCounts counts the outbox's pending and given-up alerts.
func (s *Store) AlertCounts(ctx context.Context) (AlertCounts, error) {
	var c AlertCounts
	for _, q := range []struct {
		status string
		n      *int
	}{{AlertPending, &c.Pending}, {AlertFailed, &c.Failed}} {
		if err := s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM alert_outbox WHERE status = $1", q.status).Scan(q.n); err != nil {
			return AlertCounts{}, fmt.Errorf("counting %s alerts: %w", q.status, err)
		}
	}
	return c, nil
}

// AlertState is an alert's delivery, as [Store.AlertStates] lists it.
type AlertState struct {
	EventID, Webhook, Event string
	HostID, ReportID        string
	Status                  string // AlertPending, AlertDelivered or AlertFailed
	Attempts                int
	LastError               string
}

// AlertStates lists the outbox's alerts of host hostID (every host when
// empty), oldest first, at most limit.
func (s *Store) AlertStates(ctx context.Context, hostID string, limit int) ([]AlertState, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT event_id, webhook, event, host_id, report_id, status, attempts, last_error
		FROM alert_outbox WHERE ($1 = '' OR host_id = $1) ORDER BY created_at, webhook LIMIT $2`, hostID, int64(limit))
	if err != nil {
		return nil, fmt.Errorf("listing alerts: %w", err)
	}
	defer rows.Close()
	var out []AlertState
	for rows.Next() {
		var a AlertState
		var attempts int64
		if err := rows.Scan(&a.EventID, &a.Webhook, &a.Event, &a.HostID, &a.ReportID, &a.Status, &attempts, &a.LastError); err != nil {
			return nil, fmt.Errorf("listing alerts: %w", err)
		}
		a.Attempts = int(attempts)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing alerts: %w", err)
	}
	return out, nil
}

// PruneAlerts deletes the alerts delivered or given up more than keep
// ago and returns how many.
func (s *Store) PruneAlerts(ctx context.Context, keep time.Duration) (int64, error) {
	if keep <= 0 {
		return 0, fmt.Errorf("%w alert retention %v: must be positive", ErrInvalid, keep)
	}
	cutoff := micros(s.now().Add(-keep))
	var total int64
	for {
		res, err := s.w.ExecContext(ctx, `DELETE FROM alert_outbox WHERE (event_id, webhook) IN (
			SELECT event_id, webhook FROM alert_outbox WHERE finished_at < $1 LIMIT $2)`, cutoff, int64(pruneBatch))
		if err != nil {
			return total, fmt.Errorf("pruning alerts: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("pruning alerts: %w", err)
		}
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
}
