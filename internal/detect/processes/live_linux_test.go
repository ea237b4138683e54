package processes

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/host"
)

// startFake runs a copy of /bin/sleep at root/rel, as an AV daemon would run,
// with argv[0] set to argv0 when not empty. The process is killed when the
// test ends.
func startFake(t testing.TB, rel, argv0 string) (pid int, exe string) {
	t.Helper()
	root, err := filepath.EvalSymlinks(t.TempDir()) // /proc/<pid>/exe is canonical
	if err != nil {
		t.Fatal(err)
	}
	exe = filepath.Join(root, filepath.FromSlash(rel))
	bin, err := os.ReadFile("/bin/sleep")
	if err != nil {
		t.Skipf("no /bin/sleep to copy: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(exe), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "30")
	if argv0 != "" {
		cmd.Args[0] = argv0
	}
	// Another test's fork may briefly hold the new file open for writing.
	for i := 0; ; i++ {
		err = cmd.Start()
		if !errors.Is(err, syscall.ETXTBSY) || i == 20 {
			break
		}
		time.Sleep(10 * time.Millisecond)
		cmd = exec.Command(exe, cmd.Args[1:]...)
		if argv0 != "" {
			cmd.Args[0] = argv0
		}
	}
	if err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	// Start returns once the exec is past closing the parent's pipe,
	// which the kernel does before it lays out the new argv: until then
	// /proc/<pid>/cmdline reads empty.
	cmdline := fmt.Sprintf("/proc/%d/cmdline", cmd.Process.Pid)
	for i := 0; ; i++ {
		if b, err := os.ReadFile(cmdline); err == nil && len(b) > 0 || i == 200 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	return cmd.Process.Pid, exe
}

func liveHost(t testing.TB) *host.Host {
	t.Helper()
	h, err := host.Live(host.Linux)
	if err != nil {
		t.Fatal(err)
	}
	if h.Processes == nil {
		t.Fatal("live host without a process lister")
	}
	return h
}

// findPID runs the source on the live host and returns what it says of pid.
func findPID(t *testing.T, h *host.Host, pid int) (detect.Observation, int) {
	t.Helper()
	var (
		found detect.Observation
		ok    bool
		n     int
	)
	loc := "process " + strconv.Itoa(pid)
	err := New().Collect(context.Background(), h, func(o detect.Observation) {
		n++
		if o.Location == loc {
			found, ok = o, true
		}
	})
	if err != nil {
		t.Fatalf("collect: %v", err)
	}
	if !ok {
		t.Fatalf("pid %d not among %d processes", pid, n)
	}
	return found, n
}

func TestLiveProcess(t *testing.T) {
	h := liveHost(t)
	tests := []struct {
		name     string
		rel      string
		argv0    string // "" keeps the path
		wantName string
		wantComm string // what the lister itself reports
	}{
		{"kesl daemon", "opt/kaspersky/kesl/libexec/kesl", "", "kesl", "kesl"},
		// the lister already extends a 15-byte comm from argv[0] when it can...
		{"long name, argv0 is the path", "opt/kaspersky/klnagent64/sbin/klnagent_srv_daemon", "", "klnagent_srv_daemon", "klnagent_srv_daemon"},
		// ...but not when argv[0] says something else: then the source's own
		// rule (comm is a prefix of the executable's name) is what restores it.
		{"long name, other argv0", "opt/kaspersky/klnagent64/sbin/klnagent_srv_daemon", "klnagent", "klnagent_srv_daemon", "klnagent_srv_da"},
		{"exactly 15 bytes", "opt/kaspersky/kesl/libexec/kesl-supervisor", "supervisor", "kesl-supervisor", "kesl-supervisor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pid, exe := startFake(t, tt.rel, tt.argv0)
			o, n := findPID(t, h, pid)
			if o.Name != tt.wantName || o.Path != exe || o.Status != detect.Running || o.Kind != detect.KindProcess {
				t.Errorf("got name %q path %q %s %s; want %q %q running process", o.Name, o.Path, o.Kind, o.Status, tt.wantName, exe)
			}
			if !strings.Contains(o.Detail, exe) || !strings.HasSuffix(o.Detail, " 30") {
				t.Errorf("detail %q lacks the executable or the command line", o.Detail)
			}
			procs, err := h.Processes.Processes(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range procs {
				if int(p.PID) == pid && p.Name != tt.wantComm {
					t.Errorf("lister name %q, want %q", p.Name, tt.wantComm)
				}
			}
			t.Logf("%s among %d processes", o.Detail, n)
		})
	}
}

// TestLiveDeleted checks a daemon whose executable was removed while it
// runs, as after an uninstall that could not stop it.
func TestLiveDeleted(t *testing.T) {
	h := liveHost(t)
	pid, exe := startFake(t, "opt/kaspersky/kesl/libexec/kesl", "")
	if err := os.Remove(exe); err != nil {
		t.Fatal(err)
	}
	o, _ := findPID(t, h, pid)
	if o.Name != "kesl" || o.Path != exe || !strings.Contains(o.Detail, exe+" (deleted)") {
		t.Errorf("got name %q path %q detail %q", o.Name, o.Path, o.Detail)
	}
}

// BenchmarkLiveList measures the live lister alone; BenchmarkLiveCollect
// the whole source. Both report the process count.
func BenchmarkLiveList(b *testing.B) {
	h := liveHost(b)
	ctx := context.Background()
	n := 0
	for b.Loop() {
		procs, err := h.Processes.Processes(ctx)
		if err != nil {
			b.Fatal(err)
		}
		n = len(procs)
	}
	b.ReportMetric(float64(n), "procs")
}

func BenchmarkLiveCollect(b *testing.B) {
	h := liveHost(b)
	ctx := context.Background()
	src := New()
	n := 0
	for b.Loop() {
		n = 0
		if err := src.Collect(ctx, h, func(detect.Observation) { n++ }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n), "observations")
}
