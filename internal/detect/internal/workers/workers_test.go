package workers

import (
	"context"
	"sync/atomic"
	"testing"
)

func TestForEachVisitsEachOnce(t *testing.T) {
	for _, n := range []int{0, 1, 3, 100} {
		seen := make([]atomic.Int32, n)
		ForEach(context.Background(), n, 4, func(i int) { seen[i].Add(1) })
		for i := range seen {
			if c := seen[i].Load(); c != 1 {
				t.Errorf("n=%d: item %d visited %d times", n, i, c)
			}
		}
	}
}

func TestForEachStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	ForEach(ctx, 1000, 1, func(int) {
		if calls.Add(1) == 10 {
			cancel()
		}
	})
	if c := calls.Load(); c != 10 {
		t.Errorf("%d calls after cancelling at the 10th, want 10", c)
	}
}

// TestForEachWorker: every item once, each worker number in [0, max),
// and no two calls with one worker number at once.
func TestForEachWorker(t *testing.T) {
	for _, max := range []int{1, 2, 4} {
		for _, n := range []int{0, 1, 3, 100} {
			seen := make([]atomic.Int32, n)
			busy := make([]atomic.Int32, max)
			ForEachWorker(context.Background(), n, max, func(w, i int) {
				if w < 0 || w >= max {
					t.Errorf("worker %d of %d", w, max)
					return
				}
				if busy[w].Add(1) != 1 {
					t.Errorf("worker %d called twice at once", w)
				}
				seen[i].Add(1)
				busy[w].Add(-1)
			})
			for i := range seen {
				if c := seen[i].Load(); c != 1 {
					t.Errorf("max=%d n=%d: item %d visited %d times", max, n, i, c)
				}
			}
		}
	}
}
