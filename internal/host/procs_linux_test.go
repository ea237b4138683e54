//go:build linux

package host

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The live lister sees a real process under a name longer than the
// kernel keeps, with its executable and command line.
func TestLiveProcessesLinux(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "kav4proxy-kavicapserver")
	sleep, err := os.ReadFile("/bin/sleep")
	if err != nil {
		t.Fatalf("this test copies /bin/sleep: %v", err)
	}
	if err := os.WriteFile(exe, sleep, 0o755); err != nil {
		t.Fatal(err)
	}
	// 4,000 more arguments of "0" (sleep sums them): a command line of
	// 8 KiB, over page boundaries, which the lister reads in one read.
	zeros := slices.Repeat([]string{"0"}, 4000)
	cmd := exec.Command(exe, append([]string{"60"}, zeros...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	time.Sleep(50 * time.Millisecond) // let exec finish so /proc shows the new image

	procs, p := liveProcess(t, cmd.Process.Pid)
	if want := strings.Join(append([]string{exe, "60"}, zeros...), " "); p.Name != "kav4proxy-kavicapserver" || p.Exe != exe || p.Cmdline != want {
		t.Errorf("process = %+v", p)
	}
	if !slices.ContainsFunc(procs, func(p Process) bool { return p.PID == 1 }) {
		t.Error("pid 1 not listed")
	}
}

func TestProcessName(t *testing.T) {
	for _, tt := range []struct {
		comm string
		args []string
		want string
	}{
		{"sshd", []string{"/usr/sbin/sshd", "-D"}, "sshd"},
		{"kav4proxy-kavic", []string{"/opt/kaspersky/kav4proxy/sbin/kav4proxy-kavicapserver"}, "kav4proxy-kavicapserver"},
		{"kav4proxy-kavic", []string{"/opt/kaspersky/kav4proxy/sbin/kav4proxy-kavicapserver -c /etc/x.conf"}, "kav4proxy-kavicapserver"},
		{"kworker/0:1-eve", nil, "kworker/0:1-eve"},
		{"systemd-journal", []string{"/lib/systemd/systemd-journald"}, "systemd-journald"},
		{"averyveryverylo", []string{"python3", "x.py"}, "averyveryverylo"},
		// An empty or blank argv[0] (exec -a "") leaves the kernel's name.
		{"averyveryverylo", []string{"", "averyveryverylong"}, "averyveryverylo"},
		{"averyveryverylo", []string{" \t", "x"}, "averyveryverylo"},
		{"averyveryverylo", []string{"\u00a0averyveryverylong"}, "averyveryverylo"},
	} {
		cmdline := []byte(strings.Join(tt.args, "\x00"))
		if tt.args != nil {
			cmdline = append(cmdline, 0)
		}
		if got := processName(tt.comm, cmdline); got != tt.want {
			t.Errorf("processName(%q, %q) = %q, want %q", tt.comm, tt.args, got, tt.want)
		}
	}
}

// A real process whose arguments fill a megabyte is listed with the first
// 64 KiB of its command line: any user can start such processes, a
// thousand of them, and the scan must not read gigabytes.
func TestLiveProcessesLongCommandLine(t *testing.T) {
	arg := strings.Repeat("x", 100<<10)   // one argument may have 128 KiB
	args := []string{"-c", "sleep 60; :"} // the ":" keeps the shell from exec'ing sleep
	for range 10 {
		args = append(args, arg)
	}
	cmd := exec.Command("/bin/sh", args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	time.Sleep(50 * time.Millisecond)
	if _, p := liveProcess(t, cmd.Process.Pid); len(p.Cmdline) > maxCmdline || !strings.HasPrefix(p.Cmdline, "/bin/sh -c sleep 60; : xxx") {
		t.Errorf("%s: %d bytes of command line starting %.30q", p.Name, len(p.Cmdline), p.Cmdline)
	}
}

// BenchmarkLiveProcesses lists this machine's processes.
func BenchmarkLiveProcesses(b *testing.B) {
	l := newLiveProcesses()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Processes(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// A real program whose main thread has exited (testdata/headless, built
// with gcc) is listed with its executable and command line, which only
// its running thread still has.
func TestLiveProcessesHeadless(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Fatalf("this test builds a C program: %v (scripts/install-deps.sh installs gcc)", err)
	}
	exe := filepath.Join(t.TempDir(), "klnagent")
	if out, err := exec.Command(gcc, "-O2", "-pthread", "-o", exe, "testdata/headless/headless.c").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	cmd := exec.Command(exe, "-d")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	stat := fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		b, err := os.ReadFile(stat)
		if err != nil {
			t.Fatal(err)
		}
		if st, err := parseProcStat(b); err == nil && st.State == 'Z' && st.Threads == 2 {
			break // main has exited, its thread runs on
		}
		if time.Now().After(deadline) {
			t.Fatalf("the program's main thread did not exit: %s", b)
		}
	}
	if _, p := liveProcess(t, cmd.Process.Pid); p.Name != "klnagent" || p.Exe != exe || p.Cmdline != exe+" -d" {
		t.Errorf("process = %+v", p)
	}
}

// liveProcess lists this machine's processes and returns them and the one
// of pid, failing the test when it is not listed.
func liveProcess(t *testing.T, pid int) ([]Process, Process) {
	t.Helper()
	procs, err := newLiveProcesses().Processes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(procs, func(p Process) bool { return int(p.PID) == pid })
	if i < 0 {
		t.Fatalf("pid %d not listed among %d processes", pid, len(procs))
	}
	return procs, procs[i]
}
