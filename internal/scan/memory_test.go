package scan

import (
	"context"
	"errors"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/host"
)

// hungry allocates a MiB at a time and keeps it, until its context ends,
// as a parser without budgets would on a planted file.
type hungry struct{ returned chan struct{} }

func (*hungry) Name() string { return "hungry" }

func (s *hungry) Collect(ctx context.Context, _ *host.Host, emit func(detect.Observation)) error {
	defer close(s.returned)
	var keep [][]byte
	for ctx.Err() == nil {
		keep = append(keep, make([]byte, 1<<20))
		if len(keep) > 4096 {
			return errors.New("4 GiB allocated and still not stopped")
		}
		time.Sleep(time.Millisecond)
	}
	emit(detect.Observation{Kind: detect.KindPackage, Name: "kept", Version: string(rune('0' + len(keep)%10))})
	return ctx.Err()
}

// calm honours its context and returns at once.
type calm struct{}

func (calm) Name() string { return "calm" }

func (calm) Collect(ctx context.Context, _ *host.Host, _ func(detect.Observation)) error {
	<-ctx.Done()
	return ctx.Err()
}

// A scan whose memory passes the limit is stopped with an error saying
// so, which names the limit and the sources cut short; the sources have
// returned and their memory can be freed.
func TestScanStopsAtMemoryLimit(t *testing.T) {
	before := runtime.NumGoroutine()
	const limit = 96 << 20
	h := &hungry{returned: make(chan struct{})}
	runner := &detect.Runner{Sources: []detect.Source{h, calm{}}, Timeout: time.Minute}
	start := time.Now()
	_, _, err := runGuarded(context.Background(), runner, &host.Host{}, limit)
	t.Logf("%v after %s", err, time.Since(start))
	if !errors.Is(err, ErrMemoryLimit) || !strings.Contains(err.Error(), "limit 96 MiB") ||
		!strings.Contains(err.Error(), "sources cut short: hungry, calm") {
		t.Errorf("err = %v", err)
	}
	select {
	case <-h.returned:
	default:
		t.Error("the hungry source still runs after the scan returned")
	}
	debug.FreeOSMemory()
	if after := settled(before); after > before {
		t.Errorf("%d goroutines before, %d after", before, after)
	}
}

// Below the limit nothing changes.
func TestScanUnderMemoryLimit(t *testing.T) {
	runner := &detect.Runner{Sources: []detect.Source{quick{}}}
	obs, results, err := runGuarded(context.Background(), runner, &host.Host{}, 1<<30)
	if err != nil || len(obs) != 1 || results[0].Status != detect.StatusOK {
		t.Errorf("%v %v %v", obs, results, err)
	}
}

type quick struct{}

func (quick) Name() string { return "quick" }

func (quick) Collect(_ context.Context, _ *host.Host, emit func(detect.Observation)) error {
	emit(detect.Observation{Kind: detect.KindPackage, Name: "x"})
	return nil
}

func settled(want int) int {
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(time.Second); n > want && time.Now().Before(deadline); n = runtime.NumGoroutine() {
		time.Sleep(10 * time.Millisecond)
	}
	return n
}

// churn keeps live bytes alive and allocates garbage as fast as it can
// until its context ends or it has allocated total bytes.
type churn struct{ live, total int }

func (churn) Name() string { return "churn" }

func (c churn) Collect(ctx context.Context, _ *host.Host, emit func(detect.Observation)) error {
	keep := make([][]byte, 0, c.live>>20)
	for range c.live >> 20 {
		keep = append(keep, make([]byte, 1<<20))
	}
	var sink []byte
	for n := 0; n < c.total && ctx.Err() == nil; n += 1 << 20 {
		sink = make([]byte, 1<<20)
		sink[0] = byte(n)
	}
	emit(detect.Observation{Kind: detect.KindPackage, Name: "churn", Version: strconv.Itoa(len(keep) + int(sink[0]))})
	return ctx.Err()
}

// With the runtime's soft limit set to the scan's, as the service sets
// it, a source that keeps what it allocates is stopped (the collector
// holds the memory in use near the limit, running back to back), and one
// whose live heap stays well under the limit while it allocates garbage
// many times the limit is not.
func TestScanMemoryUnderSoftLimit(t *testing.T) {
	const limit = 128 << 20
	prev := debug.SetMemoryLimit(limit)
	t.Cleanup(func() { debug.SetMemoryLimit(prev); debug.FreeOSMemory() })

	runner := &detect.Runner{Sources: []detect.Source{churn{live: limit * 4 / 10, total: 40 * limit}}, Timeout: time.Minute}
	obs, results, err := runGuarded(context.Background(), runner, &host.Host{}, limit)
	if err != nil || len(obs) != 1 || results[0].Status != detect.StatusOK {
		t.Errorf("a live heap of 40%% of the limit: %v %v %v", obs, results, err)
	}
	debug.FreeOSMemory()

	h := &hungry{returned: make(chan struct{})}
	runner = &detect.Runner{Sources: []detect.Source{h}, Timeout: time.Minute}
	_, _, err = runGuarded(context.Background(), runner, &host.Host{}, limit)
	t.Log(err)
	if !errors.Is(err, ErrMemoryLimit) {
		t.Errorf("err = %v, want %v", err, ErrMemoryLimit)
	}
}
