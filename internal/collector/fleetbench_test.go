package collector

import (
	"context"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/collector/dashboard"
	"github.com/avscout/avscout/internal/collector/store"
)

// fleetPages are what BenchmarkFleetPages times: the dashboard's summary
// (figures and every chart), the trend alone as JSON, and the host list
// filtered by a tag, as a page and as JSON.
var fleetPages = []struct{ name, path string }{
	{"summary_page", "/"},
	{"trend_api", "/v1/summary/trend?days=30"},
	{"breakdown_os_api", "/v1/summary/breakdown?by=os"},
	{"hosts_tag_page", "/hosts?tag=site%3Dsite-07"},
	{"hosts_tag_api", "/v1/hosts?tag=site%3Dsite-07"},
}

// BenchmarkFleetPages loads a made-up fleet (AVSCOUT_FLEET_HOSTS hosts,
// default 10,000 so that `make bench` stays short; `make bench-fleet`
// sets 100,000) with 30 days of history (store.LoadSynthetic, in bounded
// batches) on SQLite and on PostgreSQL, then fetches the pages in turn
// over loopback HTTP, b.N rounds, and reports each page's median and 90th
// percentile in ms. Benchmarks are not part of `make test`.
func BenchmarkFleetPages(b *testing.B) {
	hosts := 10_000
	if v := os.Getenv("AVSCOUT_FLEET_HOSTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("AVSCOUT_FLEET_HOSTS=%q: want a positive number", v)
		}
		hosts = n
	}
	for _, d := range dialects {
		b.Run(d, func(b *testing.B) {
			now := t0.Add(12 * time.Hour)
			var st *store.Store
			e := newEnv(b, d, func(o *Options) {
				st = o.Store.(*store.Store)
				dash, err := dashboard.New(st, dashboard.Options{StaleAfter: DefaultStaleAfter, Now: func() time.Time { return now }})
				if err != nil {
					b.Fatal(err)
				}
				o.Dashboard = dash
			})
			e.clock.Set(now)
			start := time.Now()
			if err := st.LoadSynthetic(context.Background(), store.SyntheticFleet{Hosts: hosts, Days: 30, End: now, Seed: 18}); err != nil {
				b.Fatal(err)
			}
			b.Logf("%s: loaded %d hosts with 30 days of history in %v", d, hosts, time.Since(start).Round(time.Second))
			c := &http.Client{}
			get := func(path string) time.Duration {
				req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
				req.Header.Set("Authorization", "Bearer "+adminToken)
				t := time.Now()
				resp, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				elapsed := time.Since(t)
				if err != nil || resp.StatusCode != http.StatusOK || n == 0 {
					b.Fatalf("GET %s: %d, %d bytes, %v", path, resp.StatusCode, n, err)
				}
				return elapsed
			}
			for _, p := range fleetPages { // warm the caches once
				get(p.path)
			}
			times := make([][]time.Duration, len(fleetPages))
			b.ResetTimer()
			for b.Loop() {
				for i, p := range fleetPages {
					times[i] = append(times[i], get(p.path))
				}
			}
			for i, p := range fleetPages {
				slices.Sort(times[i])
				ts := times[i]
				b.ReportMetric(float64(ts[len(ts)/2].Microseconds())/1000, p.name+"-ms-median")
				b.ReportMetric(float64(ts[len(ts)*9/10].Microseconds())/1000, p.name+"-ms-p90")
			}
		})
	}
}
