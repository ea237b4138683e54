package regf

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestScanChild is the child process of BenchmarkScanSoftwareHiveRSS: it
// scans the hive named by REGF_SCAN_CHILD and writes its peak resident
// memory (VmHWM, KiB) to the file named by REGF_SCAN_RSS. Without them it
// does nothing.
func TestScanChild(t *testing.T) {
	path, out := os.Getenv("REGF_SCAN_CHILD"), os.Getenv("REGF_SCAN_RSS")
	if path == "" || out == "" {
		return
	}
	if _, err := scanHive(path); err != nil {
		t.Fatal(err)
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			if err := os.WriteFile(out, []byte(strings.TrimSuffix(strings.TrimSpace(v), " kB")), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
}

// BenchmarkScanSoftwareHiveRSS scans the ~100 MB SOFTWARE hive in a fresh
// process each time and reports the process's peak resident memory (Go
// runtime and test binary included) and its wall time, start to exit.
// The child reads its own VmHWM: the rusage of a child started with
// vfork counts the parent's memory too.
func BenchmarkScanSoftwareHiveRSS(b *testing.B) {
	path := benchHive(b)
	rssFile := filepath.Join(b.TempDir(), "rss")
	var maxRSS int64
	var wall time.Duration
	for b.Loop() {
		cmd := exec.Command(os.Args[0], "-test.run=^TestScanChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "REGF_SCAN_CHILD="+path, "REGF_SCAN_RSS="+rssFile)
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
		wall += time.Since(start)
		s, err := os.ReadFile(rssFile)
		if err != nil {
			b.Fatal(err)
		}
		kb, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		maxRSS = max(maxRSS, kb)
	}
	b.ReportMetric(float64(maxRSS)/1024, "peak-RSS-MB")
	b.ReportMetric(float64(wall.Milliseconds())/float64(b.N), "process-ms/op")
}
