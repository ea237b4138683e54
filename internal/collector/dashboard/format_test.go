package dashboard

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestRelTime(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		ago  time.Duration
		want string
	}{
		{"now", 0, "just now"},
		{"seconds", 59 * time.Second, "just now"},
		{"seconds_ahead", -59 * time.Second, "just now"},
		{"one_minute", time.Minute, "1 minute ago"},
		{"minutes_floor", 119 * time.Second, "1 minute ago"},
		{"minutes", 59 * time.Minute, "59 minutes ago"},
		{"one_hour", time.Hour, "1 hour ago"},
		{"hours_floor", 119 * time.Minute, "1 hour ago"},
		{"hours", 23*time.Hour + 59*time.Minute, "23 hours ago"},
		{"one_day", 24 * time.Hour, "1 day ago"},
		{"days", 59 * 24 * time.Hour, "59 days ago"},
		{"months", 60 * 24 * time.Hour, "2 months ago"},
		{"months_high", 729 * 24 * time.Hour, "24 months ago"},
		{"years", 730 * 24 * time.Hour, "2 years ago"},
		{"future_minutes", -5 * time.Minute, "in 5 minutes"},
		{"future_day", -25 * time.Hour, "in 1 day"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := relTime(now, now.Add(-tt.ago)); got != tt.want {
				t.Errorf("relTime(now-%v) = %q, want %q", tt.ago, got, tt.want)
			}
		})
	}
	if got := relTime(now, time.Time{}); got != "never" {
		t.Errorf("relTime(zero) = %q, want never", got)
	}
}

func TestNewStamp(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	berlin := time.FixedZone("CET", 3600)
	got := newStamp(now, time.Date(2026, 11, 22, 10, 30, 5, 999, berlin))
	want := stamp{Rel: "2 hours ago", Abs: "2026-11-22 09:30:05 UTC", ISO: "2026-11-22T09:30:05Z"}
	if got != want {
		t.Errorf("newStamp = %+v, want %+v", got, want)
	}
	if got := newStamp(now, time.Time{}); got != (stamp{Rel: "never"}) {
		t.Errorf("newStamp(zero) = %+v, want only Rel never", got)
	}
}

func TestHumanDuration(t *testing.T) {
	tests := []struct {
		name string
		d    time.Duration
		want string
	}{
		{"days", 48 * time.Hour, "2 days"},
		{"one_day", 24 * time.Hour, "1 day"},
		{"hours", 36 * time.Hour, "36 hours"},
		{"minutes", 90 * time.Minute, "90 minutes"},
		{"seconds", 90 * time.Second, "1m30s"},
		{"zero", 0, "0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := humanDuration(tt.d); got != tt.want {
				t.Errorf("humanDuration(%v) = %q, want %q", tt.d, got, tt.want)
			}
		})
	}
}

func TestPercent(t *testing.T) {
	tests := []struct {
		name        string
		part, whole int
		want        string
	}{
		{"none_of_none", 0, 0, "–"},
		{"all", 7, 7, "100.0 %"},
		{"none", 0, 7, "0.0 %"},
		{"half", 1, 2, "50.0 %"},
		{"rounds", 2, 3, "66.7 %"},
		{"almost_all_not_100", 9999, 10000, "99.9 %"},
		{"almost_none_not_0", 1, 10000, "0.1 %"},
		{"large", 2_000_000_000, 2_100_000_000, "95.2 %"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percent(tt.part, tt.whole); got != tt.want {
				t.Errorf("percent(%d, %d) = %q, want %q", tt.part, tt.whole, got, tt.want)
			}
		})
	}
}

func TestBadges(t *testing.T) {
	tests := []struct {
		name string
		got  badge
		want badge
	}{
		{"host_restricted", hostBadge("restricted"), badge{"Restricted", "bad"}},
		{"host_unprotected", hostBadge("unprotected"), badge{"Unprotected", "warn"}},
		{"host_clean", hostBadge("clean"), badge{"Clean", "good"}},
		{"host_unknown_keeps_text", hostBadge(`"><script>x</script>`), badge{`"><script>x</script>`, "unknown"}},
		{"host_empty", hostBadge(""), badge{"unknown", "unknown"}},
		{"product_restricted_active", productBadge("active", true), badge{"Active", "bad"}},
		{"product_restricted_leftover", productBadge("leftover", true), badge{"Leftover", "muted"}},
		{"product_other_active", productBadge("active", false), badge{"Active", "neutral"}},
		{"product_unknown_state", productBadge("weird", false), badge{"weird", "unknown"}},
		{"source_ok", sourceBadge("ok"), badge{"OK", "good"}},
		{"source_unavailable", sourceBadge("unavailable"), badge{"Unavailable", "muted"}},
		{"source_timeout", sourceBadge("timeout"), badge{"Timeout", "warn"}},
		{"source_error", sourceBadge("error"), badge{"Error", "bad"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %+v, want %+v", tt.got, tt.want)
			}
		})
	}
}

func TestChangeLabel(t *testing.T) {
	for kind, want := range map[string]string{
		"first-report":    "First report",
		"product-removed": "Product removed",
		"version-changed": "Version changed",
		"something-new":   "something-new",
	} {
		if got := changeLabel(kind); got != want {
			t.Errorf("changeLabel(%q) = %q, want %q", kind, got, want)
		}
	}
}

// TestHostPath checks that every host id survives the trip through its
// address, and that no address can be rewritten by path cleaning.
func TestHostPath(t *testing.T) {
	tests := []struct {
		name string
		id   string
		want string // the address; "" to check only the round trip
	}{
		{"machine_id", "4c4c4544-0053-3010-8052-b4c04f565931", "/hosts/4c4c4544-0053-3010-8052-b4c04f565931"},
		{"space_and_query", "a b?c#d", "/hosts/a%20b%3Fc%23d"},
		{"percent", "100%", "/hosts/100%25"},
		{"unicode", "hôte-ü", ""},
		{"slash", "x/../y", "/hosts/~eC8uLi95"},
		{"dot", ".", "/hosts/~Lg"},
		{"dotdot", "..", "/hosts/~Li4"},
		{"tilde", "~abc", "/hosts/~fmFiYw"},
		{"backslash", `a\..\b`, ""},
		{"script", `<script>window.__pwned=1</script>`, ""},
		{"javascript_url", "javascript:alert(1)", "/hosts/javascript:alert%281%29"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := hostPath(tt.id)
			if tt.want != "" && p != tt.want {
				t.Errorf("hostPath(%q) = %q, want %q", tt.id, p, tt.want)
			}
			u, err := url.Parse(p)
			if err != nil {
				t.Fatalf("hostPath(%q) = %q: %v", tt.id, p, err)
			}
			seg, ok := strings.CutPrefix(u.Path, "/hosts/")
			if !ok || strings.Contains(seg, "/") || seg == "." || seg == ".." {
				t.Fatalf("hostPath(%q) = %q decodes to %q, which path cleaning could change", tt.id, p, u.Path)
			}
			got, ok := hostIDFromPath(seg)
			if !ok || got != tt.id {
				t.Errorf("hostIDFromPath(%q) = %q, %v; want %q", seg, got, ok, tt.id)
			}
		})
	}
	for _, seg := range []string{"", "~", "~!!", "a/b"} {
		if id, ok := hostIDFromPath(seg); ok {
			t.Errorf("hostIDFromPath(%q) = %q, true; want false", seg, id)
		}
	}
}
