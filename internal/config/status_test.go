package config

import (
	"testing"
	"time"
)

func TestStaleAfter(t *testing.T) {
	for _, tt := range []struct {
		s    Schedule
		want time.Duration
	}{
		{Schedule{Interval: Duration(time.Hour)}, 2 * time.Hour},
		{Schedule{Interval: Duration(6 * time.Hour), Jitter: Duration(30 * time.Minute), Splay: Duration(2 * time.Minute)}, 12*time.Hour + 32*time.Minute},
		{Schedule{Interval: Duration(time.Hour), Jitter: Duration(10 * time.Minute), Splay: Duration(time.Minute)}, 2*time.Hour + 11*time.Minute},
	} {
		if got := tt.s.StaleAfter(); got != tt.want {
			t.Errorf("%+v.StaleAfter() = %v, want %v", tt.s, got, tt.want)
		}
	}
	for goos, want := range map[string]string{"linux": "/run/avscout/status.json", "darwin": "", "windows": ""} {
		if got := PublicStatusFile(goos); got != want {
			t.Errorf("PublicStatusFile(%s) = %q, want %q", goos, got, want)
		}
	}
}
