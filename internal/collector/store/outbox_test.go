package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/collector/internal/fleettest"
	"github.com/avscout/avscout/internal/report"
)

// routes subscribe "all" to every event and "sec" to restricted hosts.
var testRoutes = []AlertRoute{
	{Webhook: "all", Events: AlertEvents()},
	{Webhook: "sec", Events: []string{AlertRestricted}},
}

// forEachDialectAlerts is forEachDialect with testRoutes.
func forEachDialectAlerts(t *testing.T, fn func(t *testing.T, s *Store, c *clock, dsn string)) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			c := newClock(t0)
			dsn := dsnFor(t, d)
			fn(t, openDSN(t, dsn, Options{Now: c.Now, AlertRoutes: testRoutes}), c, dsn)
		})
	}
}

type queued struct{ webhook, event, host, from, to, report string }

func outbox(t *testing.T, s *Store) []queued {
	t.Helper()
	states, err := s.AlertStates(context.Background(), "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []queued
	for _, a := range states {
		var from, to string
		if err := s.r.QueryRow("SELECT from_state, to_state FROM alert_outbox WHERE event_id = $1 AND webhook = $2",
			a.EventID, a.Webhook).Scan(&from, &to); err != nil {
			t.Fatal(err)
		}
		out = append(out, queued{a.Webhook, a.Event, a.HostID, from, to, a.ReportID})
	}
	return out
}

// Each change of a host's state that alerts are about queues exactly one
// alert per subscribed webhook, in the transaction that stores it; a
// report that changes nothing, a duplicate and a conflict queue none.
func TestAlertsQueuedOnStateChange(t *testing.T) {
	forEachDialectAlerts(t, func(t *testing.T, s *Store, c *clock, _ string) {
		at := t0
		send := func(golden, host string) *report.Report {
			t.Helper()
			at = at.Add(time.Minute)
			r := fleettest.Report(t, golden, host, host+".example", at)
			ingest(t, s, r, at, Stored)
			return r
		}
		first := send("darwin-other-vendors", "h1") // clean: no alert
		kis := send("darwin-kis", "h1")             // restricted
		send("darwin-kis", "h1")                    // still restricted: none
		ingest(t, s, kis, at, Duplicate)
		conflict := fleettest.Report(t, "debian-incomplete", "h1", "h1", at)
		conflict.ReportID = first.ReportID
		if _, err := s.Ingest(context.Background(), Incoming{Report: conflict, Raw: fleettest.JSON(t, conflict), ReceivedAt: at}); !errors.Is(err, ErrConflict) {
			t.Fatalf("conflicting report: %v", err)
		}
		unprotected := send("darwin-clean", "h1")
		recovered := send("darwin-other-vendors", "h1")
		h2 := send("debian-kaspersky", "h2") // first report, restricted
		h3 := send("debian-incomplete", "h3")

		want := []queued{
			{"all", AlertRestricted, "h1", HostClean, HostRestricted, kis.ReportID},
			{"sec", AlertRestricted, "h1", HostClean, HostRestricted, kis.ReportID},
			{"all", AlertUnprotected, "h1", HostRestricted, HostUnprotected, unprotected.ReportID},
			{"all", AlertRecovered, "h1", HostUnprotected, HostClean, recovered.ReportID},
			{"all", AlertRestricted, "h2", "", HostRestricted, h2.ReportID},
			{"sec", AlertRestricted, "h2", "", HostRestricted, h2.ReportID},
			{"all", AlertIncomplete, "h3", "", HostIncomplete, h3.ReportID},
		}
		if got := outbox(t, s); !slices.Equal(got, want) {
			t.Errorf("outbox:\n%+v\nwant\n%+v", got, want)
		}
		// One event, one id, whichever webhook gets it.
		states, err := s.AlertStates(context.Background(), "h2", 10)
		if err != nil || len(states) != 2 || states[0].EventID != states[1].EventID || states[0].EventID == "" {
			t.Errorf("h2's alerts: %+v, %v", states, err)
		}
	})
}

// A host whose reports arrive together, in one transaction, gets an
// alert for each change, in order.
func TestAlertsQueuedWithinBatch(t *testing.T) {
	forEachDialectAlerts(t, func(t *testing.T, s *Store, c *clock, _ string) {
		var ps []*pending
		goldens := []string{"darwin-other-vendors", "darwin-kis", "darwin-other-vendors"}
		for i, g := range goldens {
			at := t0.Add(time.Duration(i) * time.Second)
			r := fleettest.Report(t, g, "hb", "hb", at)
			p, err := prepare(context.Background(), Incoming{Report: r, Raw: fleettest.JSON(t, r), TokenID: "tok", ReceivedAt: at})
			if err != nil {
				t.Fatal(err)
			}
			ps = append(ps, p)
		}
		res, err := s.applyBatch(context.Background(), ps)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			if r.out != Stored || r.err != nil {
				t.Fatalf("report %d: %+v", i, r)
			}
		}
		var got []string
		for _, q := range outbox(t, s) {
			got = append(got, q.webhook+":"+q.event)
		}
		if want := []string{"all:restricted", "sec:restricted", "all:recovered"}; !slices.Equal(got, want) {
			t.Errorf("alerts %v, want %v", got, want)
		}
	})
}

// Delivery bookkeeping: claims hand out a host's alerts in order, leases
// keep others off an alert being delivered and expire when its worker
// died, and a late outcome of an expired lease is refused.
func TestAlertClaims(t *testing.T) {
	ctx := context.Background()
	forEachDialectAlerts(t, func(t *testing.T, s *Store, c *clock, _ string) {
		at := t0
		for _, g := range []string{"darwin-kis", "darwin-clean", "darwin-other-vendors"} {
			at = at.Add(time.Minute)
			ingest(t, s, fleettest.Report(t, g, "h1", "h1", at), at, Stored)
		}
		c.Set(at)
		claim := func(want ...string) []Alert {
			t.Helper()
			got, err := s.ClaimAlerts(ctx, 10, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, a := range got {
				names = append(names, a.Webhook+":"+a.Event)
			}
			if !slices.Equal(names, want) {
				t.Fatalf("claimed %v, want %v", names, want)
			}
			return got
		}
		// Only the oldest of h1's alerts to "all"; "sec" has its own.
		got := claim("all:restricted", "sec:restricted")
		if a := got[0]; a.Hostname != "h1" || a.To != HostRestricted || a.From != "" || a.Attempts != 1 ||
			!slices.Equal(a.Restricted, []string{"Kaspersky Internet Security for Mac"}) || !a.ScannedAt.Equal(t0.Add(time.Minute)) {
			t.Errorf("claimed %+v", a)
		}
		claim() // leased
		if err := s.AlertRetry(ctx, &got[0], 10*time.Second, "HTTP 500"); err != nil {
			t.Fatal(err)
		}
		if err := s.AlertDelivered(ctx, &got[1]); err != nil {
			t.Fatal(err)
		}
		claim() // retry not due yet
		c.Set(at.Add(11 * time.Second))
		got = claim("all:restricted")
		if got[0].Attempts != 2 {
			t.Errorf("attempts %d, want 2", got[0].Attempts)
		}
		if err := s.AlertDelivered(ctx, &got[0]); err != nil {
			t.Fatal(err)
		}
		// The next of h1's alerts; its worker dies: the lease expires.
		stale := claim("all:unprotected")
		c.Set(at.Add(2 * time.Minute))
		got = claim("all:unprotected")
		if err := s.AlertDelivered(ctx, &stale[0]); !errors.Is(err, ErrLeaseLost) {
			t.Errorf("outcome under an expired lease: %v, want ErrLeaseLost", err)
		}
		if err := s.AlertGiveUp(ctx, &got[0], "gave up: HTTP 503\x00"); err != nil {
			t.Fatal(err)
		}
		got = claim("all:recovered")
		n, err := s.AlertCounts(ctx)
		if err != nil || n != (AlertCounts{Pending: 1, Failed: 1}) {
			t.Errorf("counts %+v, %v", n, err)
		}
		if err := s.AlertDelivered(ctx, &got[0]); err != nil {
			t.Fatal(err)
		}
		states, err := s.AlertStates(ctx, "h1", 10)
		if err != nil {
			t.Fatal(err)
		}
		var summary []string
		for _, a := range states {
			summary = append(summary, fmt.Sprintf("%s:%s:%s:%d:%s", a.Webhook, a.Event, a.Status, a.Attempts, a.LastError))
		}
		want := []string{"all:restricted:delivered:2:", "sec:restricted:delivered:1:",
			"all:unprotected:failed:2:gave up: HTTP 503\uFFFD", "all:recovered:delivered:1:"}
		if !slices.Equal(summary, want) {
			t.Errorf("alerts:\n%v\nwant\n%v", summary, want)
		}
		c.Set(at.Add(48 * time.Hour))
		if n, err := s.PruneAlerts(ctx, 24*time.Hour); err != nil || n != 4 {
			t.Errorf("PruneAlerts = %d, %v; want 4", n, err)
		}
	})
}

// Replicas sharing one PostgreSQL database claim alerts at once, and no
// alert is claimed twice or missed (SELECT … FOR UPDATE SKIP LOCKED).
func TestAlertClaimsAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	c := newClock(t0)
	dsn := pg.DSN(t)
	stores := []*Store{
		openDSN(t, dsn, Options{Now: c.Now, AlertRoutes: testRoutes}),
		openDSN(t, dsn, Options{Now: c.Now, AlertRoutes: testRoutes}),
		openDSN(t, dsn, Options{Now: c.Now, AlertRoutes: testRoutes}),
	}
	const hosts = 40
	for i := range hosts {
		host := fmt.Sprintf("host-%02d", i)
		ingest(t, stores[i%len(stores)], fleettest.Report(t, "debian-kaspersky", host, host, t0), t0, Stored)
	}
	var (
		mu      sync.Mutex
		claimed = map[string]int{}
		wg      sync.WaitGroup
	)
	for _, s := range stores {
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					got, err := s.ClaimAlerts(ctx, 3, time.Hour)
					if err != nil {
						t.Error(err)
						return
					}
					if len(got) == 0 {
						return
					}
					for _, a := range got {
						mu.Lock()
						claimed[a.EventID+"/"+a.Webhook]++
						mu.Unlock()
						if err := s.AlertDelivered(ctx, &a); err != nil {
							t.Error(err)
						}
					}
				}
			}()
		}
	}
	wg.Wait()
	if len(claimed) != 2*hosts {
		t.Errorf("%d alerts claimed, want %d", len(claimed), 2*hosts)
	}
	for k, n := range claimed {
		if n != 1 {
			t.Errorf("alert %s claimed %d times", k, n)
		}
	}
	if n, err := stores[0].AlertCounts(ctx); err != nil || n.Pending != 0 {
		t.Errorf("counts %+v, %v", n, err)
	}
}

func TestAlertRoutesInvalid(t *testing.T) {
	for _, tt := range []struct {
		name   string
		routes []AlertRoute
	}{
		{"unknown_event", []AlertRoute{{Webhook: "a", Events: []string{"stale"}}}},
		{"no_name", []AlertRoute{{Events: []string{AlertRestricted}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Open(context.Background(), ":memory:", Options{AlertRoutes: tt.routes}); !errors.Is(err, ErrInvalid) {
				t.Errorf("Open: %v, want ErrInvalid", err)
			}
		})
	}
}

// BenchmarkIngestTransitions measures what the outbox adds to an ingest
// at worst: every report flips its host between restricted and clean, and
// so queues an alert for each of two webhooks ("routes") or for none
// (the same reports with no webhooks configured).
func BenchmarkIngestTransitions(b *testing.B) {
	for _, d := range dialects {
		for _, routed := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/routes=%v", d, routed), func(b *testing.B) {
				opts := Options{}
				if routed {
					opts.AlertRoutes = []AlertRoute{{Webhook: "a", Events: AlertEvents()}, {Webhook: "b", Events: AlertEvents()}}
				}
				s, err := Open(context.Background(), benchDSN(b, d), opts)
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				const hosts = 1000
				goldens := [2]*report.Report{fleettest.Report(b, "darwin-kis", "h", "h", t0), fleettest.Report(b, "darwin-other-vendors", "h", "h", t0)}
				ctx := context.Background()
				for i := 0; b.Loop(); i++ {
					b.StopTimer()
					r := *goldens[(i/hosts)%2]
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
}
