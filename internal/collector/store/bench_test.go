package store

import (
	"context"
	"fmt"
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
