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
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(max, n) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}
