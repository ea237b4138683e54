package processes

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/text"
)

// fakeLister returns recorded rows, like host.Process values read on real
// machines, and optionally an error after them.
type fakeLister struct {
	procs []host.Process
	err   error
}

func (f fakeLister) Processes(ctx context.Context) ([]host.Process, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return f.procs, f.err
}

// Rows as the live lister reports them on each OS.
var (
	windowsRows = []host.Process{
		{PID: 0, Name: "System Idle Process"},
		{PID: 4, Name: "System"},
		{PID: 124, Name: "Registry"},
		{PID: 1012, Name: "svchost.exe", Exe: `C:\Windows\System32\svchost.exe`, Cmdline: `C:\Windows\system32\svchost.exe -k DcomLaunch -p`},
		{PID: 3120, Name: "avp.exe", Exe: `C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0\avp.exe`,
			Cmdline: `"C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0\avp.exe" -r`},
		{PID: 5232, Name: "avpui.exe", Exe: `C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0\avpui.exe`,
			Cmdline: `"C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0\avpui.exe" -startup`},
		{PID: 2844, Name: "klnagent.exe", Exe: `C:\Program Files (x86)\Kaspersky Lab\NetworkAgent\klnagent.exe`,
			Cmdline: `"C:\Program Files (x86)\Kaspersky Lab\NetworkAgent\klnagent.exe"`},
		// a protected process: its command line cannot be read
		{PID: 3344, Name: "MsMpEng.exe", Exe: `C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MsMpEng.exe`},
	}
	darwinRows = []host.Process{
		{PID: 1, Name: "launchd", Exe: "/sbin/launchd", Cmdline: "/sbin/launchd"},
		{PID: 412, Name: "kav", Exe: "/Library/Application Support/Kaspersky Lab/KAV/Binaries/kav",
			Cmdline: "/Library/Application Support/Kaspersky Lab/KAV/Binaries/kav -d"},
		// p_comm keeps 16 bytes on macOS
		{PID: 530, Name: "com.kaspersky.ka",
			Exe:     "/Library/SystemExtensions/5B0A1D3C-8E61-4D8B-9A0C-2F8E0A6C1B7E/com.kaspersky.kav.sysext.systemextension/Contents/MacOS/com.kaspersky.kav.sysext",
			Cmdline: "/Library/SystemExtensions/5B0A1D3C-8E61-4D8B-9A0C-2F8E0A6C1B7E/com.kaspersky.kav.sysext.systemextension/Contents/MacOS/com.kaspersky.kav.sysext"},
	}
	linuxRows = []host.Process{
		{PID: 1, Name: "systemd", Exe: "/usr/lib/systemd/systemd", Cmdline: "/sbin/init"},
		{PID: 2, Name: "kthreadd"},
		{PID: 14, Name: "kworker/0:1-eve"},
		{PID: 301, Name: "systemd-journal", Exe: "/usr/lib/systemd/systemd-journald", Cmdline: "/lib/systemd/systemd-journald"},
		{PID: 8410, Name: "kesl", Exe: "/opt/kaspersky/kesl/libexec/kesl", Cmdline: "/opt/kaspersky/kesl/libexec/kesl -d"},
		{PID: 8415, Name: "klnagent_srv_da", Exe: "/opt/kaspersky/klnagent64/sbin/klnagent_srv_daemon", Cmdline: "klnagent"},
		{PID: 8420, Name: "kesl", Exe: "/opt/kaspersky/kesl/libexec/kesl (deleted)", Cmdline: "/opt/kaspersky/kesl/libexec/kesl -d"},
		{PID: 900, Name: "python3", Exe: "/usr/bin/python3.11", Cmdline: "python3 /usr/bin/unattended-upgrade --download-only"},
		{PID: 901, Name: "Web Content", Exe: "/usr/lib/firefox-esr/firefox-esr", Cmdline: "/usr/lib/firefox-esr/firefox-esr -contentproc"},
		// exe unreadable (another user's process, agent not root)
		{PID: 902, Name: "clamd", Cmdline: "/usr/sbin/clamd --foreground=true"},
		// a truncated name that is not a prefix of the executable stays
		{PID: 903, Name: "falcon-sensor-b", Exe: "/opt/CrowdStrike/falcond", Cmdline: "/opt/CrowdStrike/falcond"},
	}
)

func TestObserve(t *testing.T) {
	tests := []struct {
		os     host.OS
		in     host.Process
		skip   bool
		name   string
		path   string
		detail string
	}{
		{os: host.Windows, in: windowsRows[0], skip: true},
		{os: host.Windows, in: windowsRows[1], skip: true},
		{os: host.Windows, in: windowsRows[3], name: "svchost.exe", path: `C:\Windows\System32\svchost.exe`,
			detail: `svchost.exe (pid 1012) C:\Windows\System32\svchost.exe: C:\Windows\system32\svchost.exe -k DcomLaunch -p`},
		{os: host.Windows, in: windowsRows[4], name: "avp.exe", path: `C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0\avp.exe`,
			detail: `avp.exe (pid 3120) C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0\avp.exe: "C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0\avp.exe" -r`},
		{os: host.Windows, in: windowsRows[7], name: "MsMpEng.exe", path: windowsRows[7].Exe,
			detail: `MsMpEng.exe (pid 3344) C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MsMpEng.exe`},
		{os: host.Windows, in: host.Process{PID: 77, Exe: `C:\Program Files\Kaspersky Lab\kavfswp.exe`, Cmdline: "kavfswp.exe"},
			name: "kavfswp.exe", path: `C:\Program Files\Kaspersky Lab\kavfswp.exe`,
			detail: `kavfswp.exe (pid 77) C:\Program Files\Kaspersky Lab\kavfswp.exe: kavfswp.exe`},
		{os: host.Darwin, in: darwinRows[1], name: "kav", path: darwinRows[1].Exe,
			detail: "kav (pid 412) /Library/Application Support/Kaspersky Lab/KAV/Binaries/kav: /Library/Application Support/Kaspersky Lab/KAV/Binaries/kav -d"},
		{os: host.Darwin, in: darwinRows[2], name: "com.kaspersky.kav.sysext", path: darwinRows[2].Exe,
			detail: "com.kaspersky.kav.sysext (pid 530) " + darwinRows[2].Exe + ": " + darwinRows[2].Cmdline},
		{os: host.Linux, in: linuxRows[1], skip: true},
		{os: host.Linux, in: linuxRows[2], skip: true},
		{os: host.Linux, in: linuxRows[3], name: "systemd-journald", path: "/usr/lib/systemd/systemd-journald",
			detail: "systemd-journald (pid 301) /usr/lib/systemd/systemd-journald: /lib/systemd/systemd-journald"},
		{os: host.Linux, in: linuxRows[4], name: "kesl", path: "/opt/kaspersky/kesl/libexec/kesl",
			detail: "kesl (pid 8410) /opt/kaspersky/kesl/libexec/kesl: /opt/kaspersky/kesl/libexec/kesl -d"},
		{os: host.Linux, in: linuxRows[5], name: "klnagent_srv_daemon", path: "/opt/kaspersky/klnagent64/sbin/klnagent_srv_daemon",
			detail: "klnagent_srv_daemon (pid 8415) /opt/kaspersky/klnagent64/sbin/klnagent_srv_daemon: klnagent"},
		{os: host.Linux, in: linuxRows[6], name: "kesl", path: "/opt/kaspersky/kesl/libexec/kesl",
			detail: "kesl (pid 8420) /opt/kaspersky/kesl/libexec/kesl (deleted): /opt/kaspersky/kesl/libexec/kesl -d"},
		{os: host.Linux, in: linuxRows[7], name: "python3", path: "/usr/bin/python3.11",
			detail: "python3 (pid 900) /usr/bin/python3.11: python3 /usr/bin/unattended-upgrade --download-only"},
		{os: host.Linux, in: linuxRows[8], name: "Web Content", path: "/usr/lib/firefox-esr/firefox-esr",
			detail: "Web Content (pid 901) /usr/lib/firefox-esr/firefox-esr: /usr/lib/firefox-esr/firefox-esr -contentproc"},
		{os: host.Linux, in: linuxRows[9], name: "clamd", path: "",
			detail: "clamd (pid 902): /usr/sbin/clamd --foreground=true"},
		{os: host.Linux, in: linuxRows[10], name: "falcon-sensor-b", path: "/opt/CrowdStrike/falcond",
			detail: "falcon-sensor-b (pid 903) /opt/CrowdStrike/falcond: /opt/CrowdStrike/falcond"},
		// a Linux file name may hold a backslash: not a separator there
		{os: host.Linux, in: host.Process{PID: 5, Name: `a\b`, Exe: `/opt/a\b`}, name: `a\b`, path: `/opt/a\b`,
			detail: `a\b (pid 5) /opt/a\b`},
		// "(deleted)" is only Linux's
		{os: host.Darwin, in: host.Process{PID: 6, Name: "x", Exe: "/opt/x (deleted)"}, name: "x", path: "/opt/x (deleted)",
			detail: "x (pid 6) /opt/x (deleted)"},
		{os: host.Linux, in: host.Process{PID: 7, Name: "sh", Exe: "/bin/dash", Cmdline: "sh -c echo a\necho b\t"},
			name: "sh", path: "/bin/dash", detail: "sh (pid 7) /bin/dash: sh -c echo a echo b"},
	}
	for _, tt := range tests {
		t.Run(string(tt.os)+"/"+tt.in.Name, func(t *testing.T) {
			o, ok := Observe(tt.os, tt.in)
			if ok == tt.skip {
				t.Fatalf("kept = %v, want %v", ok, !tt.skip)
			}
			if tt.skip {
				return
			}
			if o.Kind != detect.KindProcess || o.Status != detect.Running {
				t.Errorf("kind %s status %s, want process running", o.Kind, o.Status)
			}
			if o.Name != tt.name || o.Path != tt.path || o.Detail != tt.detail {
				t.Errorf("\n got name %q path %q detail %q\nwant name %q path %q detail %q",
					o.Name, o.Path, o.Detail, tt.name, tt.path, tt.detail)
			}
			if want := "process " + strconv.Itoa(int(tt.in.PID)); o.Location != want {
				t.Errorf("location %q, want %q", o.Location, want)
			}
		})
	}
}

func TestObserveLongCmdline(t *testing.T) {
	// 600 bytes of two-byte characters: the cut must not split one.
	long := "/opt/kaspersky/kesl/libexec/kesl --path=" + strings.Repeat("é", 300)
	o, ok := Observe(host.Linux, host.Process{PID: 9, Name: "kesl", Exe: "/opt/kaspersky/kesl/libexec/kesl", Cmdline: long})
	if !ok {
		t.Fatal("dropped")
	}
	_, cmd, _ := strings.Cut(o.Detail, ": ")
	if !strings.HasSuffix(cmd, text.Ellipsis) {
		t.Errorf("command line not marked as cut: %q", cmd)
	}
	body := strings.TrimSuffix(cmd, text.Ellipsis)
	if len(body) > MaxCmdline || len(body) < MaxCmdline-1 || !strings.HasPrefix(long, body) {
		t.Errorf("cut to %d bytes, want %d or one less, a prefix of the original", len(body), MaxCmdline)
	}
	if !strings.HasSuffix(body, "é") {
		t.Errorf("cut inside a character: %q", body[len(body)-4:])
	}
}

func TestCollect(t *testing.T) {
	listErr := errors.New("open /proc: too many open files")
	tests := []struct {
		name      string
		h         *host.Host
		wantNames []string
		wantErr   []error
	}{
		{
			name:      "windows",
			h:         &host.Host{OS: host.Windows, Live: true, Processes: fakeLister{procs: windowsRows}},
			wantNames: []string{"svchost.exe", "avp.exe", "avpui.exe", "klnagent.exe", "MsMpEng.exe"},
		},
		{
			name:      "darwin",
			h:         &host.Host{OS: host.Darwin, Live: true, Processes: fakeLister{procs: darwinRows}},
			wantNames: []string{"launchd", "kav", "com.kaspersky.kav.sysext"},
		},
		{
			name:      "lister fails part way: what it listed is kept",
			h:         &host.Host{OS: host.Linux, Live: true, Processes: fakeLister{procs: linuxRows[:5], err: listErr}},
			wantNames: []string{"systemd", "systemd-journald", "kesl"},
			wantErr:   []error{listErr},
		},
		{
			name:    "not live",
			h:       &host.Host{OS: host.Linux, Root: "/mnt/image"},
			wantErr: []error{detect.ErrUnavailable, host.ErrNotLive},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var names []string
			err := New().Collect(context.Background(), tt.h, func(o detect.Observation) { names = append(names, o.Name) })
			if strings.Join(names, ",") != strings.Join(tt.wantNames, ",") {
				t.Errorf("names %v, want %v", names, tt.wantNames)
			}
			if len(tt.wantErr) == 0 && err != nil {
				t.Errorf("error %v", err)
			}
			for _, want := range tt.wantErr {
				if !errors.Is(err, want) {
					t.Errorf("error %v, want %v", err, want)
				}
			}
			if err != nil && !strings.HasPrefix(err.Error(), "processes: ") {
				t.Errorf("error %q does not name the source", err)
			}
		})
	}
}

func TestCollectCanceled(t *testing.T) {
	h := &host.Host{OS: host.Windows, Live: true, Processes: fakeLister{procs: windowsRows}}

	t.Run("before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		n := 0
		err := New().Collect(ctx, h, func(detect.Observation) { n++ })
		if !errors.Is(err, context.Canceled) || n != 0 {
			t.Errorf("%d observations, error %v; want none and context.Canceled", n, err)
		}
	})
	t.Run("while emitting", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		n := 0
		err := New().Collect(ctx, h, func(detect.Observation) { n++; cancel() })
		if !errors.Is(err, context.Canceled) || n != 1 {
			t.Errorf("%d observations, error %v; want 1 and context.Canceled", n, err)
		}
	})
}

// TestRunner checks the source through the runner, as the agent runs it.
func TestRunner(t *testing.T) {
	r := detect.Runner{Sources: []detect.Source{New()}}
	for _, tt := range []struct {
		h      *host.Host
		status string
		items  int
	}{
		{&host.Host{OS: host.Windows, Live: true, Processes: fakeLister{procs: windowsRows}}, detect.StatusOK, 5},
		{&host.Host{OS: host.Linux}, detect.StatusUnavailable, 0},
	} {
		obs, res := r.Run(context.Background(), tt.h)
		if res[0].Status != tt.status || res[0].Items != tt.items || len(obs) != tt.items {
			t.Errorf("%s: status %s items %d (%d kept), want %s %d", tt.h.OS, res[0].Status, res[0].Items, len(obs), tt.status, tt.items)
		}
		for _, o := range obs {
			if o.Source != "processes" {
				t.Errorf("source %q", o.Source)
			}
		}
	}
}
