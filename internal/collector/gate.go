package collector

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"
)

// errBusy says the gate stayed shut for longer than a request may wait.
var errBusy = errors.New("collector busy")

// gate bounds the ingest work in flight on this replica: how many
// requests read, decode and store reports at once, and how many bytes of
// decompressed reports they hold. A request waits at most wait for room,
// then is turned away (503 and Retry-After: the agent keeps its report
// and comes back), so that a flood of hostile requests costs a bounded
// amount of memory and leaves room for /healthz and the read API.
type gate struct {
	slots    chan struct{}
	maxBytes int64
	wait     time.Duration

	mu      sync.Mutex
	used    int64
	changed chan struct{} // closed, and replaced, when bytes are released
}

func newGate(requests int, maxBytes int64, wait time.Duration) *gate {
	return &gate{slots: make(chan struct{}, requests), maxBytes: maxBytes, wait: wait, changed: make(chan struct{})}
}

// enter takes a request's slot, waiting at most g.wait; the caller calls
// leave when done. It fails with errBusy, or ctx's error when the client
// went away.
func (g *gate) enter(ctx context.Context) error {
	select {
	case g.slots <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return errBusy
	}
}

func (g *gate) leave() { <-g.slots }

// inUse returns how many requests hold a place and how many bytes of
// the budget they hold: what /metrics shows of the gate.
func (g *gate) inUse() (requests int, bytes int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.slots), g.used
}

// acquire reserves n bytes of the budget, waiting at most g.wait.
func (g *gate) acquire(ctx context.Context, n int64) error {
	if n > g.maxBytes {
		return errBusy
	}
	var timeout <-chan time.Time
	for {
		g.mu.Lock()
		if g.used+n <= g.maxBytes {
			g.used += n
			g.mu.Unlock()
			return nil
		}
		changed := g.changed
		g.mu.Unlock()
		if timeout == nil {
			t := time.NewTimer(g.wait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		case <-timeout:
			return errBusy
		}
	}
}

// release gives back n bytes of the budget.
func (g *gate) release(n int64) {
	if n == 0 {
		return
	}
	g.mu.Lock()
	g.used -= n
	close(g.changed)
	g.changed = make(chan struct{})
	g.mu.Unlock()
}

// firstRead is the buffer a body is first read into; it doubles as the
// body grows.
const firstRead = 32 << 10

// readAll reads body, up to limit bytes and one more (so that the caller
// can tell a body over the limit), into a buffer charged to the byte
// budget as it grows. It returns the bytes charged, which the caller
// releases once done with the buffer, also on error. A wait for budget
// that times out gives errBusy.
func (g *gate) readAll(ctx context.Context, body io.Reader, limit int64) (buf []byte, charged int64, err error) {
	size := min(firstRead, limit+1)
	if err := g.acquire(ctx, size); err != nil {
		return nil, 0, err
	}
	charged = size
	buf = make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				return buf, charged, nil
			}
			next := min(2*int64(cap(buf)), limit+1)
			if err := g.acquire(ctx, next-int64(cap(buf))); err != nil {
				return nil, charged, err
			}
			charged += next - int64(cap(buf))
			grown := make([]byte, len(buf), next)
			copy(grown, buf)
			buf = grown
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case errors.Is(err, io.EOF):
			return buf, charged, nil
		case err != nil:
			return nil, charged, err
		}
	}
}
