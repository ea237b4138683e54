//go:build linux

package main

// The hostile-input corpus (internal/hostile) through the real binary:
// each case's root — a planted plist bomb, named pipe, socket, link to a
// device, 2 GiB sparse file, quadratic PE resources or rpm header with
// huge counts, beside a planted Kaspersky product — is scanned with
// `avscout scan --root` under a 256 MiB data limit (prlimit, util-linux).
// Each scan must end on its own with the planted file reported as that
// item's error (or the database's, when the planted file is the whole
// database) and Kaspersky still reported restricted, --fail-on
// restricted exiting 1. The time and peak RSS of each are logged: they
// are figures for the issue, not thresholds (a 60 s guard only stops a
// hang from stalling the run).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/hostile"
	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/report/schema"
)

// hostileMemoryLimit is the data limit each hostile scan runs under: the
// service unit's MemoryMax. (RLIMIT_AS cannot be used: the Go runtime
// reserves more address space than that at start.)
const hostileMemoryLimit = 256 << 20

// hangGuard stops a scan that hangs; no finished scan comes near it.
const hangGuard = 60 * time.Second

func TestHostileCorpus(t *testing.T) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Fatalf("prlimit not found (%v): it is in util-linux, which scripts/install-deps.sh installs", err)
	}
	for _, c := range hostile.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			// Short: a socket's path has at most 108 bytes.
			root, err := os.MkdirTemp("", "h")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(root) })
			noDevice := false
			if err := c.Build(root); errors.Is(err, hostile.ErrNoDevice) {
				t.Logf("no device node in the root, the link to /dev/zero leads nowhere in it: %v", err)
				noDevice = true
			} else if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
			defer cancel()
			cmd := exec.CommandContext(ctx, prlimit, "--data="+itoa(hostileMemoryLimit), binary,
				"scan", "--root", root, "--os", c.OS, "--format", "json", "--fail-on", "restricted")
			cmd.Env = append(os.Environ(), "GOMEMLIMIT=200MiB")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			start := time.Now()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			peak := watchPeakRSS(cmd.Process.Pid)
			err = cmd.Wait()
			elapsed := time.Since(start)
			if ctx.Err() != nil {
				t.Fatalf("the scan hung: killed after %s\n%s", hangGuard, stderr.String())
			}
			t.Logf("%s: %s, peak RSS %d KiB", c.Name, elapsed.Round(time.Millisecond), peak())
			if code := cmd.ProcessState.ExitCode(); code != 1 {
				t.Fatalf("exit %d (%v), want 1: a restricted product found\nstderr: %s\n%s", code, err, stderr.String(), stdout.String())
			}
			if err := schema.Validate(stdout.Bytes()); err != nil {
				t.Fatalf("report does not match the schema: %v", err)
			}
			var r report.Report
			if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
				t.Fatal(err)
			}
			p, ok := product(&r, c.Product)
			if !ok || !p.Restricted || (p.State != "installed" && p.State != "active") {
				t.Errorf("%s = %+v (found %v), want it installed and restricted beside the planted file: %v", c.Product, p, ok, productIDs(&r))
			}
			if r.Verdict != report.VerdictNonCompliant {
				t.Errorf("verdict %s, want non_compliant", r.Verdict)
			}
			if noDevice {
				c.Says = "" // the link leads nowhere: whatever the source says of it
			}
			checkPlanted(t, &r, c)
		})
	}
}

// checkPlanted checks that the report says what went wrong with the
// planted file: a warning of its source, or that source's error.
func checkPlanted(t *testing.T, r *report.Report, c hostile.Case) {
	t.Helper()
	if c.Source == "" {
		return
	}
	var src *report.Source
	for i := range r.Sources {
		if r.Sources[i].Name == c.Source {
			src = &r.Sources[i]
		}
	}
	if src == nil {
		t.Fatalf("no source %s in the report", c.Source)
	}
	if src.Status == "timeout" {
		t.Errorf("%s timed out: %s", c.Source, src.Error)
	}
	if c.Says == "" {
		return
	}
	if c.Item {
		if src.Status != "ok" || !containsAny(src.Warnings, c.Says) || !containsAny(src.Warnings, lastPart(c.Planted)) {
			t.Errorf("%s: status %s, error %q, warnings %q; want ok with a warning naming %s and saying %q",
				c.Source, src.Status, src.Error, src.Warnings, c.Planted, c.Says)
		}
		return
	}
	if src.Status != "error" || !strings.Contains(src.Error, c.Says) {
		t.Errorf("%s: status %s, error %q; want an error saying %q", c.Source, src.Status, src.Error, c.Says)
	}
}

// watchPeakRSS samples the peak resident set size (VmHWM) of process pid
// every millisecond until it exits, and returns a function giving the
// last value seen, in KiB. (The rusage of a waited-for child cannot be
// used: a child started with vfork inherits the parent's peak when it
// calls exec.)
func watchPeakRSS(pid int) func() int64 {
	var peak atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		status := "/proc/" + strconv.Itoa(pid) + "/status"
		for {
			b, err := os.ReadFile(status)
			if err != nil {
				return
			}
			_, after, ok := strings.Cut(string(b), "VmHWM:")
			if !ok {
				return // a zombie: its memory is gone
			}
			field, _, _ := strings.Cut(after, "kB")
			if n, err := strconv.ParseInt(strings.TrimSpace(field), 10, 64); err == nil {
				peak.Store(n)
			}
			time.Sleep(time.Millisecond)
		}
	}()
	return func() int64 {
		<-done
		return peak.Load()
	}
}

func containsAny(list []string, s string) bool {
	for _, l := range list {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// lastPart is the file name of a slash-separated path.
func lastPart(p string) string { return p[strings.LastIndex(p, "/")+1:] }

func itoa(n int) string { return strconv.Itoa(n) }
