//go:build linux

package agent

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/config"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/hostile"
	"github.com/avscout/avscout/internal/report"
)

// The service loop — the daemon wired as `service run` wires it, in this
// process so its goroutines can be counted — scans a hostile root 50
// times: a named pipe as the apk database and as a unit, an rpm header
// with huge counts, and a dpkg status file of 30,000 packages that no
// source can read within the 20 ms each is given, so that every scan
// times sources out in the middle of their work. Before, each scan left
// a goroutine blocked for ever on a pipe; now the count of goroutines
// after the 50th scan is what it was after the first.
func TestServiceLoopLeavesNoGoroutines(t *testing.T) {
	root, err := os.MkdirTemp("", "h")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	writeFile(t, filepath.Join(root, "etc/os-release"), debian12OSRelease)
	var status strings.Builder
	for i := range 30_000 {
		status.WriteString("Package: lib" + strconv.Itoa(i) + "\nStatus: install ok installed\nVersion: 1.0-" + strconv.Itoa(i) + "\nMaintainer: Debian <d@debian.org>\nArchitecture: amd64\nDescription: library\n\n")
	}
	status.WriteString("Package: kesl\nStatus: install ok installed\nVersion: 12.1.0-2968\nMaintainer: " + kasperskyMaintainer + "\nArchitecture: amd64\n\n")
	// Written by hand: 30,000 packages through dpkg would take minutes.
	writeFile(t, filepath.Join(root, "var/lib/dpkg/status"), status.String())
	for _, p := range []string{"lib/apk/db/installed", "etc/systemd/system/evil.service"} {
		if err := hostile.Fifo(filepath.Join(root, p)); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(root, "var/lib/rpm/Packages.db"), string(hostile.NDB(hostile.KESLHeader(), hostile.RPMHeaderHugeCounts())))

	cfg := config.Defaults(config.Linux)
	cfg.StateDir = t.TempDir()
	cfg.Scan.SourceTimeout = config.Duration(20 * time.Millisecond)
	prevLimit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prevLimit) })
	splay := time.Duration(0)
	d, err := NewDaemon(cfg, DaemonOptions{Root: root, Target: host.Linux, Interval: time.Millisecond, Splay: &splay,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if l := debug.SetMemoryLimit(-1); l != config.DefaultMemoryLimit {
		t.Errorf("GOMEMLIMIT %d after the daemon started, want the config's %d", l, config.DefaultMemoryLimit)
	}

	const scans = 50
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu         sync.Mutex
		goroutines []int
		timeouts   int
		reports    []*report.Report
	)
	before := runtime.NumGoroutine()
	scanOnce := d.agent.Scan
	d.agent.Scan = func(ctx context.Context) (*report.Report, error) {
		r, err := scanOnce(ctx)
		mu.Lock()
		defer mu.Unlock()
		goroutines = append(goroutines, runtime.NumGoroutine())
		if r != nil {
			reports = append(reports, r)
			for _, s := range r.Sources {
				if s.Status == "timeout" {
					timeouts++
				}
				if strings.Contains(s.Error, "abandoned") {
					t.Errorf("scan %d: %s abandoned: %s", len(goroutines), s.Name, s.Error)
				}
			}
		}
		if len(goroutines) == scans {
			cancel()
		}
		return r, err
	}
	done := make(chan error, 1)
	go func() { done <- d.agent.Run(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Minute):
		t.Fatal("50 scans did not finish in 5 minutes")
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("goroutines: %d before, after each scan %v; %d sources timed out over %d scans", before, goroutines, timeouts, len(goroutines))
	if len(goroutines) != scans || len(reports) != scans {
		t.Fatalf("%d scans, %d reports, want %d", len(goroutines), len(reports), scans)
	}
	if timeouts < scans {
		t.Errorf("only %d sources timed out in %d scans: the test does not time sources out mid-work", timeouts, scans)
	}
	// A goroutine may be passing through when a count is taken (the
	// sender, a timer), so compare the least of the last ten counts with
	// the most of the first ten: a leak of one goroutine per scan, or
	// per timed-out source, lifts the first far above the second.
	if first, last := slices.Max(goroutines[:10]), slices.Min(goroutines[scans-10:]); last > first {
		t.Errorf("at most %d goroutines after the first ten scans, at least %d after the last ten: scans leave goroutines behind", first, last)
	}
	if after := settledCount(before); after > before {
		t.Errorf("%d goroutines before the loop, %d after it ended", before, after)
	}
}

func settledCount(want int) int {
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(2 * time.Second); n > want && time.Now().Before(deadline); n = runtime.NumGoroutine() {
		time.Sleep(10 * time.Millisecond)
	}
	return n
}
