// Package workers runs a source's per-item work on a few goroutines. The
// Windows sources need it: under Wine (and on a busy host) every registry
// call waits on another process, so reading keys one at a time makes a
// scan several times slower.
package workers

import (
	"context"
	"sync"
	"sync/atomic"
)

// ForEach calls fn(i) for each i in [0, n) from at most max goroutines,
// stopping early when ctx is done. fn must be safe to call concurrently.
func ForEach(ctx context.Context, n, max int, fn func(i int)) {
	ForEachWorker(ctx, n, max, func(_, i int) { fn(i) })
}

// ForEachWorker is [ForEach], fn being told too which worker calls it:
// w is in [0, max), and calls with the same w never run at once, so fn
// may reuse a buffer per worker. The calling goroutine is worker 0:
// max-1 goroutines are started (none for one worker or one item), as a
// fresh goroutine costs a stack and often an OS thread, which a short
// scan pays for in page faults.
func ForEachWorker(ctx context.Context, n, max int, fn func(w, i int)) {
	var next atomic.Int64
	work := func(w int) {
		for ctx.Err() == nil {
			i := int(next.Add(1) - 1)
			if i >= n {
				return
			}
			fn(w, i)
		}
	}
	var wg sync.WaitGroup
	for w := 1; w < min(max, n); w++ {
		wg.Go(func() { work(w) })
	}
	work(0)
	wg.Wait()
}
