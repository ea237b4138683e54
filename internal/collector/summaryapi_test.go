package collector

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/avscout/avscout/internal/collector/store"
)

// TestTrendAndBreakdownAPI: the trend's today is the summary, every
// breakdown count is the total /v1/hosts gives for the same filter, the
// endpoints need the admin credential and refuse bad parameters.
func TestTrendAndBreakdownAPI(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d, nil)
			sendFleet(t, e)
			total := func(q url.Values) int {
				t.Helper()
				var p store.HostPage
				e.get(t, "/v1/hosts?"+q.Encode()).json(t, &p)
				return p.Total
			}

			var trend struct {
				StaleAfterSeconds int64            `json:"stale_after_seconds"`
				Days              []store.TrendDay `json:"days"`
			}
			e.get(t, "/v1/summary/trend?days=7").json(t, &trend)
			var sum store.Summary
			e.get(t, "/v1/summary").json(t, &sum)
			if len(trend.Days) != 7 || trend.StaleAfterSeconds != 48*3600 {
				t.Fatalf("trend %+v", trend)
			}
			today := trend.Days[6]
			if today.Hosts != len(fleet) || today.Hosts != sum.Hosts || today.Restricted != sum.Restricted ||
				today.Stale != sum.Stale || today.Stale != total(url.Values{"stale": {"true"}}) || !today.Partial {
				t.Errorf("today %+v, summary %+v", today, sum)
			}
			// Three days ago only the two hosts last seen 60 hours ago had
			// reported; by the end of that day they were not stale.
			if d := trend.Days[3]; d.Hosts != 2 || d.Stale != 0 || d.Restricted != 1 {
				t.Errorf("three days ago %+v, want the two early hosts, one restricted", d)
			}

			for _, by := range []string{"os", "tag:site", "vendor"} {
				var b store.Breakdown
				e.get(t, "/v1/summary/breakdown?by="+url.QueryEscape(by)).json(t, &b)
				if len(b.Groups) < 2 && by != "vendor" || len(b.Groups) == 0 {
					t.Errorf("%s: groups %+v", by, b.Groups)
				}
				for _, g := range b.Groups {
					q := url.Values{}
					switch by {
					case "os":
						q.Set("os", g.Value)
					case "vendor":
						q.Set("state", "restricted")
						q.Set("vendor", g.Value)
					default:
						q.Set("tag", "site="+g.Value)
					}
					if n := total(q); n != g.Hosts {
						t.Errorf("%s %q: %d hosts, /v1/hosts?%s lists %d", by, g.Value, g.Hosts, q.Encode(), n)
					}
					for _, p := range g.Products {
						if n := total(url.Values{"state": {"restricted"}, "product": {p.Value}}); n != p.Hosts {
							t.Errorf("product %q: %d hosts, the host list %d", p.Value, p.Hosts, n)
						}
					}
				}
			}
			var keys struct {
				TagKeys []store.TagKey `json:"tag_keys"`
			}
			e.get(t, "/v1/summary/breakdown").json(t, &keys)
			if len(keys.TagKeys) != 1 || keys.TagKeys[0] != (store.TagKey{Key: "site", Hosts: 4}) {
				t.Errorf("tag keys %+v", keys.TagKeys)
			}
			if n := total(url.Values{"white_label": {"true"}}); n != sum.WhiteLabel || n == 0 {
				t.Errorf("white_label=true lists %d hosts, summary %d", n, sum.WhiteLabel)
			}

			for _, path := range []string{"/v1/summary/trend?days=0", "/v1/summary/trend?days=x", "/v1/summary/trend?day=3",
				"/v1/summary/breakdown?by=size", "/v1/summary/breakdown?by=tag:", "/v1/summary/breakdown?by=os&by=os",
				"/v1/hosts?white_label=maybe"} {
				if r := e.get(t, path); r.status != http.StatusBadRequest {
					t.Errorf("GET %s: %d, want 400", path, r.status)
				}
			}
			for _, path := range []string{"/v1/summary/trend", "/v1/summary/breakdown?by=os"} {
				if r := e.getAs(t, path, ""); r.status != http.StatusUnauthorized {
					t.Errorf("GET %s without credential: %d, want 401", path, r.status)
				}
			}
		})
	}
}
