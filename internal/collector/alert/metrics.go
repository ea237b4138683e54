package alert

import (
	"context"
	"fmt"
	"io"
)

// WriteMetrics writes the dispatcher's metrics in the Prometheus text
// format: the outbox's pending and given-up alerts (of every replica),
// and this process's deliveries, failed attempts and given-up alerts by
// webhook.
func (d *Dispatcher) WriteMetrics(ctx context.Context, w io.Writer) {
	if n, err := d.outbox.AlertCounts(ctx); err != nil {
		d.log.Warn("metrics: counting alerts", "err", err)
	} else {
		gauge := func(name, help string, v int) {
			fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n%s %d\n", name, help, name, name, v)
		}
		gauge("avscout_collector_alerts_pending", "Alerts in the outbox waiting for delivery.", n.Pending)
		gauge("avscout_collector_alerts_failed", "Alerts in the outbox given up after give_up_after.", n.Failed)
	}
	for _, m := range []struct {
		name, help string
		v          func(*counters) uint64
	}{
		{"avscout_collector_alerts_delivered_total", "Alerts delivered (a 2xx answer), by webhook.", func(c *counters) uint64 { return c.delivered.Load() }},
		{"avscout_collector_alert_attempts_failed_total", "Alert delivery attempts that failed, by webhook.", func(c *counters) uint64 { return c.failedAttempts.Load() }},
		{"avscout_collector_alerts_given_up_total", "Alerts given up, by webhook.", func(c *counters) uint64 { return c.givenUp.Load() }},
	} {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n", m.name, m.help, m.name)
		for _, name := range d.names {
			// Webhook names are [a-z0-9._-]: nothing to escape.
			fmt.Fprintf(w, "%s{webhook=%q} %d\n", m.name, name, m.v(d.metrics[name]))
		}
	}
}
