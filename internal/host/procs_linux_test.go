//go:build linux

package host

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
	cmd := exec.Command(exe, "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	time.Sleep(50 * time.Millisecond) // let exec finish so /proc shows the new image

	procs, err := newLiveProcesses().Processes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(procs, func(p Process) bool { return int(p.PID) == cmd.Process.Pid })
	if i < 0 {
		t.Fatalf("pid %d not listed among %d processes", cmd.Process.Pid, len(procs))
	}
	p := procs[i]
	if p.Name != "kav4proxy-kavicapserver" || p.Exe != exe || p.Cmdline != exe+" 60" {
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
	} {
		if got := processName(tt.comm, tt.args); got != tt.want {
			t.Errorf("processName(%q, %q) = %q, want %q", tt.comm, tt.args, got, tt.want)
		}
	}
}
