package agent

import (
	"fmt"

	"github.com/avscout/avscout/internal/transport"
)

// RecordDelivery keeps the outcome of a delivery pass in the state file:
// the counts, the error, the time of the last success and the last
// dead-letter reason, both carried over from earlier passes that had one.
// It is the sender's [transport.Deliverer.OnResult].
func (f *StateFile) RecordDelivery(r transport.Result) {
	f.Update(func(s *State) {
		prev := s.LastDelivery
		ds := DeliveryState{At: r.At.UTC(), Sent: r.Sent, DeadLettered: r.DeadLettered, DeadLetterReason: r.DeadLetterReason}
		if prev != nil {
			ds.LastSuccess = prev.LastSuccess
			if ds.DeadLetterReason == "" {
				ds.DeadLetterReason = prev.DeadLetterReason
			}
		}
		if r.Err != nil {
			ds.Error = r.Err.Error()
		}
		if r.Sent > 0 {
			ds.LastSuccess = r.At.UTC()
		}
		s.LastDelivery = &ds
	})
}

// DeliverySummary is what one scan-and-deliver run ([Daemon.Once]) did
// with the reports.
type DeliverySummary struct {
	NoCollector  bool // no collector.url: nothing was sent
	Delivered    int  // reports the collector accepted
	Queued       int  // reports left in the spool afterwards
	DeadLettered int  // reports moved to dead letters in this run
	// DeadLetterReason is why the last of them was refused.
	DeadLetterReason string
	// DeliveryErr ended the delivery early; the reports stay queued.
	DeliveryErr error
}

// String is the one-line account `service run --once` prints.
func (s DeliverySummary) String() string {
	if s.NoCollector {
		return fmt.Sprintf("no collector.url configured: %d report(s) queued", s.Queued)
	}
	return fmt.Sprintf("%d report(s) delivered, %d queued, %d dead-lettered", s.Delivered, s.Queued, s.DeadLettered)
}

// Err says why the run failed, or nil: a delivery that failed (the reports
// stay queued), or reports the collector refused for good (a wrong token),
// naming the reason. Reports queued without a collector are no failure.
func (s DeliverySummary) Err() error {
	switch {
	case s.DeliveryErr != nil:
		return fmt.Errorf("delivery: %w (the report stays queued)", s.DeliveryErr)
	case s.DeadLettered > 0:
		return fmt.Errorf("the collector refused %d report(s) for good; they were moved to dead letters: %s",
			s.DeadLettered, s.DeadLetterReason)
	}
	return nil
}
