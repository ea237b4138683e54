package transport

import (
	"testing"
	"time"
)

func TestBackoffNext(t *testing.T) {
	var asked int64
	top := func(n int64) int64 { asked = n; return n - 1 } // the largest draw
	tests := []struct {
		name    string
		b       Backoff
		attempt int
		want    time.Duration // with the largest draw
	}{
		{"defaults_first", Backoff{}, 0, time.Second},
		{"defaults_second", Backoff{}, 1, 2 * time.Second},
		{"defaults_eighth", Backoff{}, 8, 256 * time.Second},
		{"defaults_capped", Backoff{}, 9, 5 * time.Minute},
		{"defaults_far", Backoff{}, 1000, 5 * time.Minute},
		{"negative_attempt", Backoff{}, -3, time.Second},
		{"custom", Backoff{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond}, 2, 40 * time.Millisecond},
		{"custom_capped", Backoff{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond}, 3, 50 * time.Millisecond},
		{"base_over_max", Backoff{Base: time.Minute, Max: time.Second}, 0, time.Minute},
		{"huge_base_no_overflow", Backoff{Base: 1 << 60, Max: 1<<63 - 1}, 62, 1<<63 - 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.b.Rand = top
			if got := tc.b.Next(tc.attempt); got != tc.want {
				t.Fatalf("Next(%d) = %v, want %v", tc.attempt, got, tc.want)
			}
			if asked != int64(tc.want)+1 {
				t.Fatalf("drew from [0, %d), want [0, %d]: the bound is inclusive", asked, tc.want)
			}
			tc.b.Rand = func(int64) int64 { return 0 }
			if got := tc.b.Next(tc.attempt); got != 0 {
				t.Fatalf("with the smallest draw Next = %v, want 0 (full jitter)", got)
			}
		})
	}
}

func TestBackoffDefaultRandInRange(t *testing.T) {
	b := Backoff{Base: time.Millisecond, Max: 8 * time.Millisecond}
	seen := map[bool]bool{}
	for range 1000 {
		d := b.Next(2)
		if d < 0 || d > 4*time.Millisecond {
			t.Fatalf("Next(2) = %v, outside [0, 4ms]", d)
		}
		seen[d < 2*time.Millisecond] = true
	}
	if len(seen) != 2 {
		t.Fatal("1000 draws all fell in one half of the range: not jittered")
	}
}
