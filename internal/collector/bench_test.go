package collector

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/collector/internal/fleettest"
	"github.com/avscout/avscout/internal/collector/store"
	"github.com/avscout/avscout/internal/report"
)

// BenchmarkPostReport sends typical (~10 KiB, gzipped) reports over
// loopback HTTP from a fleet of 1,000 hosts: authentication, rate limit,
// decompression, schema validation and the store's transaction.
func BenchmarkPostReport(b *testing.B) {
	for _, d := range dialects {
		b.Run(d, func(b *testing.B) {
			e := newEnv(b, d, func(o *Options) { o.Rate = 1e9; o.Burst = 1 << 30 })
			base := fleettest.Typical(b, "h", t0)
			c := &http.Client{}
			b.SetBytes(int64(len(fleettest.JSON(b, base))))
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				r := *base
				r.ReportID = report.NewID()
				r.Host.ID = fmt.Sprintf("host-%04d", i%1000)
				r.GeneratedAt = t0.Add(time.Duration(i-100000) * time.Second)
				body := fleettest.Gzip(b, fleettest.JSON(b, &r))
				req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/reports", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Content-Encoding", "gzip")
				req.Header.Set("Authorization", "Bearer "+e.token)
				req.Header.Set("Idempotency-Key", r.ReportID)
				b.StartTimer()
				resp, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil {
					b.Fatal(err)
				}
				if resp.StatusCode != http.StatusCreated {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reports/s")
		})
	}
}

// BenchmarkListHosts asks for the first page (100) of a 10,000-host
// fleet, unfiltered and filtered, over loopback HTTP.
func BenchmarkListHosts(b *testing.B) {
	const hosts = 10000
	goldens := fleettest.Names(b)
	for _, d := range dialects {
		b.Run(d, func(b *testing.B) {
			e := newEnv(b, d, nil)
			ctx := context.Background()
			for i := range hosts {
				id := fmt.Sprintf("host-%05d", i)
				r := fleettest.Report(b, goldens[i%len(goldens)], id, id, t0)
				r.Tags = map[string]string{"site": fmt.Sprint("site-", i%20)}
				if _, err := e.store.Ingest(ctx, store.Incoming{Report: r, Raw: fleettest.JSON(b, r), TokenID: e.tokenID, ReceivedAt: t0.Add(-time.Duration(i) * time.Minute)}); err != nil {
					b.Fatal(err)
				}
			}
			if err := e.store.Optimize(ctx); err != nil { // as the retention loop does
				b.Fatal(err)
			}
			c := &http.Client{}
			for _, q := range []string{"", "?vendor=kaspersky&stale=false", "?tag=site%3Dsite-7&offset=200", "?search=host-0999"} {
				b.Run("query="+q, func(b *testing.B) {
					for b.Loop() {
						req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/v1/hosts"+q, nil)
						req.Header.Set("Authorization", "Bearer "+adminToken)
						resp, err := c.Do(req)
						if err != nil {
							b.Fatal(err)
						}
						_, err = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if err != nil {
							b.Fatal(err)
						}
						if resp.StatusCode != 200 {
							b.Fatalf("status %d", resp.StatusCode)
						}
					}
				})
			}
		})
	}
}
