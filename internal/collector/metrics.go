package collector

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/avscout/avscout/internal/collector/store"
)

// latencyBuckets are the upper bounds of the ingest latency histogram, in
// seconds.
var latencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// metrics counts what the server did since it started; /metrics writes
// them in the Prometheus text format.
type metrics struct {
	ingested  atomic.Uint64
	duplicate atomic.Uint64
	// adminFailures counts requests with a wrong admin credential.
	adminFailures atomic.Uint64

	mu       sync.Mutex
	rejected map[string]uint64
	buckets  []uint64 // per latencyBuckets, not cumulative
	count    uint64
	sum      float64
}

func newMetrics() *metrics {
	m := &metrics{rejected: map[string]uint64{}, buckets: make([]uint64, len(latencyBuckets))}
	for _, r := range append(rejectReasons[:len(rejectReasons):len(rejectReasons)], keyReasons...) {
		m.rejected[r] = 0
	}
	return m
}

func (m *metrics) reject(reason string) {
	m.mu.Lock()
	m.rejected[reason]++
	m.mu.Unlock()
}

func (m *metrics) observe(d time.Duration) {
	sec := d.Seconds()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.count++
	m.sum += sec
	for i, le := range latencyBuckets {
		if sec <= le {
			m.buckets[i]++
			break
		}
	}
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	sum, sumErr := s.store.Summary(ctx, s.staleAfter)
	if sumErr != nil {
		s.log.Warn("metrics: summarising hosts", "err", sumErr)
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	b := bufio.NewWriter(w)
	m := s.metrics
	counter := func(name, help string, v uint64) {
		fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name, v)
	}
	counter("avscout_collector_reports_ingested_total", "Reports stored.", m.ingested.Load())
	counter("avscout_collector_reports_duplicate_total", "Reports received again and not stored again.", m.duplicate.Load())
	counter("avscout_collector_admin_auth_failures_total", "Requests with a wrong admin credential.", m.adminFailures.Load())

	if s.gate != nil {
		reqs, bytes := s.gate.inUse()
		const inflight, held = "avscout_collector_ingest_inflight", "avscout_collector_ingest_inflight_bytes"
		fmt.Fprintf(b, "# HELP %s Reports being read, decoded or stored now (at most --max-inflight).\n# TYPE %s gauge\n%s %d\n", inflight, inflight, inflight, reqs)
		fmt.Fprintf(b, "# HELP %s Bytes of report bodies held by them (at most --max-inflight-bytes).\n# TYPE %s gauge\n%s %d\n", held, held, held, bytes)
	}

	m.mu.Lock()
	const rej = "avscout_collector_reports_rejected_total"
	fmt.Fprintf(b, "# HELP %s Reports refused, by reason.\n# TYPE %s counter\n", rej, rej)
	for _, reason := range sortedKeys(m.rejected) {
		fmt.Fprintf(b, "%s{reason=%s} %d\n", rej, quoteLabel(reason), m.rejected[reason])
	}
	const lat = "avscout_collector_ingest_duration_seconds"
	fmt.Fprintf(b, "# HELP %s Time to answer POST /v1/reports.\n# TYPE %s histogram\n", lat, lat)
	var cum uint64
	for i, le := range latencyBuckets {
		cum += m.buckets[i]
		fmt.Fprintf(b, "%s_bucket{le=\"%s\"} %d\n", lat, strconv.FormatFloat(le, 'g', -1, 64), cum)
	}
	fmt.Fprintf(b, "%s_bucket{le=\"+Inf\"} %d\n%s_sum %s\n%s_count %d\n", lat, m.count, lat, formatFloat(m.sum), lat, m.count)
	m.mu.Unlock()

	if sumErr == nil {
		const hosts = "avscout_collector_hosts"
		fmt.Fprintf(b, "# HELP %s Hosts known, by state of their latest report.\n# TYPE %s gauge\n", hosts, hosts)
		clean := sum.Hosts - sum.Restricted - sum.Unprotected
		for _, st := range []struct {
			state string
			n     int
		}{{store.HostRestricted, sum.Restricted}, {store.HostUnprotected, sum.Unprotected}, {store.HostClean, clean}} {
			fmt.Fprintf(b, "%s{state=%s} %d\n", hosts, quoteLabel(st.state), st.n)
		}
		const stale = "avscout_collector_hosts_stale"
		fmt.Fprintf(b, "# HELP %s Hosts not seen within the stale window.\n# TYPE %s gauge\n%s %d\n", stale, stale, stale, sum.Stale)
	}
	if s.alerts != nil {
		s.alerts.WriteMetrics(ctx, b)
	}
	_ = b.Flush()
}

// quoteLabel quotes a label value as the text format wants.
func quoteLabel(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`).Replace(v) + `"`
}

func formatFloat(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return "NaN"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
