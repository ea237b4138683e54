package store

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/collector/internal/fleettest"
	"github.com/avscout/avscout/internal/report"
)

// BenchmarkIngest stores typical (~10 KiB) reports from a fleet of 1,000
// hosts, each a newer report of its host: the steady state of a
// collector. PostgreSQL is the throwaway test server (fsync off).
func BenchmarkIngest(b *testing.B) {
	for _, d := range dialects {
		b.Run(d, func(b *testing.B) {
			dsn := benchDSN(b, d)
			s, err := Open(context.Background(), dsn, Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			const hosts = 1000
			base := fleettest.Typical(b, "h", t0)
			raw := fleettest.JSON(b, base)
			b.SetBytes(int64(len(raw)))
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				r := *base
				r.ReportID = report.NewID()
				r.Host.ID = fmt.Sprintf("host-%04d", i%hosts)
				r.GeneratedAt = t0.Add(time.Duration(i) * time.Second)
				raw := fleettest.JSON(b, &r)
				b.StartTimer()
				if _, err := s.Ingest(ctx, Incoming{Report: &r, Raw: raw, TokenID: "tok", ReceivedAt: r.GeneratedAt}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reports/s")
		})
	}
}

func benchDSN(b *testing.B, dialect string) string {
	if dialect == "postgres" {
		return pg.DSN(b)
	}
	return b.TempDir() + "/bench.db"
}

// BenchmarkIngestConcurrent is BenchmarkIngest with 20 callers at once,
// as 20 connections to a collector: the case group commit is for. The
// reports are made before the clock starts; each host has one report
// stored beforehand.
func BenchmarkIngestConcurrent(b *testing.B) {
	for _, d := range dialects {
		b.Run(d, func(b *testing.B) {
			s, err := Open(context.Background(), benchDSN(b, d), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			const hosts = 1000
			base := fleettest.Typical(b, "h", t0)
			ctx := context.Background()
			mk := func(i int) Incoming {
				r := *base
				r.ReportID = report.NewID()
				r.Host.ID = fmt.Sprintf("host-%04d", i%hosts)
				r.GeneratedAt = t0.Add(time.Duration(i) * time.Second)
				return Incoming{Report: &r, Raw: fleettest.JSON(b, &r), TokenID: "tok", ReceivedAt: r.GeneratedAt}
			}
			for i := range hosts {
				if _, err := s.Ingest(ctx, mk(i)); err != nil {
					b.Fatal(err)
				}
			}
			in := make([]Incoming, b.N)
			for i := range in {
				in[i] = mk(hosts + i)
			}
			var next atomic.Int64
			b.SetParallelism(10) // 20 goroutines on 2 cores
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.Ingest(ctx, in[next.Add(1)-1]); err != nil {
						b.Error(err)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reports/s")
		})
	}
}
