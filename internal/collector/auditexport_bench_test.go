package collector

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/collector/internal/fleettest"
	"github.com/avscout/avscout/internal/collector/store"
	"github.com/avscout/avscout/internal/report"
)

// benchKey is a fixed collector key for benchmarks.
type benchKey struct{ priv ed25519.PrivateKey }

func (k benchKey) PublicKey() ed25519.PublicKey { return k.priv.Public().(ed25519.PublicKey) }
func (k benchKey) Sign(m []byte) []byte         { return ed25519.Sign(k.priv, m) }

// BenchmarkAuditExport exports one day of a store: a day in which every
// host of a fleet sent one typical (~10 KiB) signed report
// (AVSCOUT_EXPORT_BENCH_REPORTS, default 20,000), received over 24 hours.
// The store is filled before the clock starts (a bounded generator: one
// template, a new id, host and time each). The bundle goes to a
// discarding writer; reports/s is the figure, with the process's CPU per
// report, and the heap after the export shows that memory does not grow
// with the window.
func BenchmarkAuditExport(b *testing.B) {
	n := 20_000
	if v := os.Getenv("AVSCOUT_EXPORT_BENCH_REPORTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("AVSCOUT_EXPORT_BENCH_REPORTS=%q: want a positive count", v)
		}
	}
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, d := range []string{"sqlite", "postgres"} {
		b.Run(d, func(b *testing.B) {
			dsn := b.TempDir() + "/bench.db"
			if d == "postgres" {
				dsn = pg.DSN(b)
			}
			ctx := context.Background()
			st, err := store.Open(ctx, dsn, store.Options{MaxConns: 8})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			fillDay(b, st, day, n)
			key := benchKey{ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))}
			tmp := b.TempDir()
			var out discardCounter
			cpu := processCPU()
			b.ResetTimer()
			for b.Loop() {
				// Until the export: on PostgreSQL the chain's times are the
				// database server's clock when the reports were stored, not
				// the day they claim to have been received.
				hdr, err := ExportAudit(ctx, st, AuditExport{Since: day, Until: OpenEnd, Key: key, TempDir: tmp}, &out)
				if err != nil {
					b.Fatal(err)
				}
				if hdr.Reports != int64(n) {
					b.Fatalf("exported %d reports, want %d", hdr.Reports, n)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "reports/s")
			// This process's CPU per report (for SQLite the database's too;
			// PostgreSQL's server is another process): less at the mercy of
			// a busy machine than the rate.
			b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(n*b.N), "µs-CPU/report")
			b.ReportMetric(float64(out.n)/float64(b.N)/(1<<20), "MiB/bundle")
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "MiB-heap")
		})
	}
}

type discardCounter struct{ n int64 }

func (c *discardCounter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*discardCounter)(nil)

// fillDay ingests n signed reports of n hosts received over the day.
func fillDay(b *testing.B, st *store.Store, day time.Time, n int) {
	b.Helper()
	base := fleettest.Typical(b, "h", day)
	seed := sha256.Sum256([]byte("agent"))
	agent := ed25519.NewKeyFromSeed(seed[:])
	step := 24 * time.Hour / time.Duration(n)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < n; i += 16 {
				r := *base
				r.ReportID = report.NewID()
				r.Host.ID = fmt.Sprintf("host-%06d", i)
				r.GeneratedAt = day.Add(time.Duration(i) * step)
				raw := fleettest.JSON(b, &r)
				if _, err := st.Ingest(context.Background(), store.Incoming{Report: &r, Raw: raw, TokenID: "tok", ReceivedAt: r.GeneratedAt.Add(time.Second),
					PublicKey: agent.Public().(ed25519.PublicKey), Signature: ed25519.Sign(agent, raw)}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}
