//go:build unix

package scan_test

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/catalog"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/hostile"
	"github.com/avscout/avscout/internal/scan"
)

// Scanning each root of the hostile corpus, with every source given a
// millisecond (so that each times out in the middle of its work) and
// with the usual 30 seconds, leaves no goroutine behind: a source that
// times out has returned before the scan does, and none is abandoned.
func TestHostileScansLeaveNoGoroutines(t *testing.T) {
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	var roots []string
	for _, c := range hostile.Cases() {
		root, err := os.MkdirTemp("", "h")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(root) })
		if err := c.Build(root); err != nil && !errors.Is(err, hostile.ErrNoDevice) {
			t.Fatal(err)
		}
		roots = append(roots, root)
	}
	before := runtime.NumGoroutine()
	for i, c := range hostile.Cases() {
		for _, timeout := range []time.Duration{time.Millisecond, 30 * time.Second} {
			h, err := host.OpenRoot(roots[i], host.OS(c.OS))
			if err != nil {
				t.Fatal(err)
			}
			r, err := scan.Run(context.Background(), scan.Options{Host: h, Catalog: cat, SourceTimeout: timeout})
			if err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			for _, s := range r.Sources {
				if strings.Contains(s.Error, "abandoned") {
					t.Errorf("%s, timeout %s: %s ignored its context: %s", c.Name, timeout, s.Name, s.Error)
				}
			}
		}
	}
	if after := settled(before); after > before {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines before the scans, %d after:\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}

func settled(want int) int {
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(2 * time.Second); n > want && time.Now().Before(deadline); n = runtime.NumGoroutine() {
		time.Sleep(10 * time.Millisecond)
	}
	return n
}
