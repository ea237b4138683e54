package collector

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/collector/internal/fleettest"
	"github.com/avscout/avscout/internal/collector/internal/loadgen"
)

// BenchmarkLoad runs the load generator against a collector on loopback
// HTTP (the real server and store, one replica) and reports accepted/s
// and latencies. It first sends one report per host (a fleet already
// known to the collector), then measures a run of later reports.
//
// It runs once per dialect whatever -benchtime says; tune it with
// AVSCOUT_LOAD_COUNT (reports measured, default 20000), AVSCOUT_LOAD_CONNS
// (default 20) and AVSCOUT_LOAD_HOSTS (default 5000). Every report is
// signed by its host's key, which the collector pins on the warm-up
// report and verifies on every later one. See scripts/loadtest.sh.
// Besides the rate and latencies it reports the CPU time this process
// (load generator and collector; not PostgreSQL) spent per report, which
// a busy shared machine disturbs less.
func BenchmarkLoad(b *testing.B) {
	count := envInt(b, "AVSCOUT_LOAD_COUNT", 20000)
	conns := envInt(b, "AVSCOUT_LOAD_CONNS", loadgen.DefaultConns)
	hosts := envInt(b, "AVSCOUT_LOAD_HOSTS", loadgen.DefaultHosts)
	for _, d := range dialects {
		b.Run(d, func(b *testing.B) {
			e := newEnv(b, d, func(o *Options) { o.Rate = 1e9; o.Burst = 1 << 30 })
			url := e.srv.URL
			tmpl := fleettest.Typical(b, "h", t0)
			ctx := context.Background()
			cfg := loadgen.Config{URL: url, Token: e.token, Template: tmpl, Conns: conns, Hosts: hosts,
				Count: hosts, Duration: 5 * time.Minute, Start: t0.Add(-2 * time.Duration(count+hosts) * time.Millisecond)}
			warm, err := loadgen.Run(ctx, cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.Logf("%s, warm-up (first report of each host): %s", d, warm)
			cfg.Count, cfg.Start = count, t0.Add(-time.Duration(count)*time.Millisecond)
			load, err := loadgen.Prepare(cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer load.Close()
			b.ResetTimer()
			cpu := processCPU()
			res := load.Send(ctx)
			cpu = processCPU() - cpu
			b.StopTimer()
			b.Logf("%s, %d conns: %s; CPU of this process (client and server) %.0fµs a report",
				d, conns, res, float64(cpu.Microseconds())/float64(max(res.Sent, 1)))
			b.ReportMetric(res.Rate(), "accepted/s")
			b.ReportMetric(float64(res.P50)/1e6, "p50-ms")
			b.ReportMetric(float64(res.P99)/1e6, "p99-ms")
			b.ReportMetric(float64(res.Errors), "errors")
			b.ReportMetric(float64(cpu.Microseconds())/float64(max(res.Sent, 1)), "cpu-µs/report")
			b.ReportMetric(0, "ns/op")
			if res.Errors > 0 || res.Accepted != count {
				b.Errorf("%d errors, %d of %d accepted; first: %s", res.Errors, res.Accepted, count, res.FirstError)
			}
		})
	}
}

func envInt(t testing.TB, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a number", name, v)
	}
	return n
}
