//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/winreg/regf/regftest"
)

// BenchmarkOfflineLargeHive measures an offline scan, by the real
// binary, of a Windows root whose SOFTWARE hive is large: 4,000
// uninstall entries (or AVSCOUT_OFFLINE_PERF of them), each with a 3 KB
// binary value and a subkey, which makes a hive of about 90 MB, written
// by hivexregedit. It reports the scan's peak RSS beside its time, and
// fails when the scan fails or misses the Kaspersky entry among the
// others.
//
//	go test -run '^$' -bench OfflineLargeHive -benchtime 3x ./cmd/agent
func BenchmarkOfflineLargeHive(t *testing.B) {
	size := os.Getenv("AVSCOUT_OFFLINE_PERF")
	entries := 4000
	if size != "" && size != "1" {
		n, err := strconv.Atoi(size)
		if err != nil {
			t.Fatalf("AVSCOUT_OFFLINE_PERF=%q: %v", size, err)
		}
		entries = n
	}
	root := t.TempDir()
	config := filepath.Join(root, "Windows", "System32", "config")
	if err := os.MkdirAll(config, 0o755); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("Windows Registry Editor Version 5.00\n\n")
	blob := strings.TrimSuffix(strings.Repeat("ab,", 3000), ",")
	for i := range entries {
		key := fmt.Sprintf(`HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\{%08X-1111-2222-3333-444455556666}`, i)
		fmt.Fprintf(&b, "[%s]\n\"DisplayName\"=\"Example Product %d\"\n\"DisplayVersion\"=\"1.%d.0\"\n\"Publisher\"=\"Example Corp %d\"\n"+
			"\"InstallLocation\"=\"C:\\\\Program Files\\\\Example %d\"\n\"UninstallString\"=\"MsiExec.exe /X{%08X-1111-2222-3333-444455556666}\"\n\"Blob\"=hex:%s\n\n"+
			"[%s\\Details]\n\"Note\"=\"%d\"\n\n", key, i, i, i%300, i, i, blob, key, i)
	}
	b.WriteString(`[HKEY_LOCAL_MACHINE\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\AVP21.3]
"DisplayName"="Kaspersky Total Security"
"Publisher"="AO Kaspersky Lab"
"DisplayVersion"="21.3.10.391"
`)
	began := time.Now()
	if err := regftest.WriteHive(filepath.Join(config, "SOFTWARE"), regftest.SoftwarePrefix, []byte(b.String())); err != nil {
		t.Fatal(err)
	}
	if err := regftest.WriteHive(filepath.Join(config, "SYSTEM"), regftest.SystemPrefix, []byte("Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]\n\"Current\"=dword:00000001\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services]\n")); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(config, "SOFTWARE"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("SOFTWARE hive: %d entries, %.1f MB, written in %s", entries, float64(st.Size())/1e6, time.Since(began).Round(time.Second))
	var maxPeak int64
	for run := 0; t.Loop(); run++ {
		cmd := exec.Command(binary, "scan", "--format", "json", "--root", root, "--os", "windows")
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		start := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		peak := watchPeakRSS(cmd.Process.Pid)
		err := cmd.Wait()
		took := time.Since(start)
		if err != nil {
			t.Fatalf("offline scan: %v\n%s", err, errOut.String())
		}
		r := decodeReport(t, []byte(out.String()))
		if _, ok := product(r, "kaspersky-total-security"); !ok {
			t.Fatalf("Total Security not found among %d entries: %v", entries, productIDs(r))
		}
		if s := sourceStatus(r, "uninstall"); s.Status != "ok" || s.Items != entries+1 {
			t.Errorf("uninstall: %+v, want ok with %d items", s, entries+1)
		}
		var per []string
		for _, s := range r.Sources {
			per = append(per, fmt.Sprintf("%s %d ms", s.Name, s.DurationMS))
		}
		kib := peak()
		maxPeak = max(maxPeak, kib)
		t.Logf("run %d: offline scan %s (agent %d ms; %s), peak RSS %d KiB", run+1, took.Round(time.Millisecond), r.DurationMS, strings.Join(per, ", "), kib)
	}
	t.ReportMetric(float64(maxPeak)/1024, "peak-RSS-MiB")
}
