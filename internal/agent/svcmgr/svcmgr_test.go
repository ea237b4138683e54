package svcmgr

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/agent/unit"
)

// answer is what a recorded tool says to one command line.
type answer struct {
	out, stderr string
	code        int
	err         error
}

// fakeRunner answers command lines from a table and records them; a
// command it has no answer for exits 0 with no output.
type fakeRunner struct {
	answers map[string]answer
	calls   []string
}

func (f *fakeRunner) Run(_ context.Context, name string, args ...string) ([]byte, []byte, int, error) {
	line := strings.Join(append([]string{name}, args...), " ")
	f.calls = append(f.calls, line)
	a := f.answers[line]
	return []byte(a.out), []byte(a.stderr), a.code, a.err
}

func testdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func newSystemd(t *testing.T, answers map[string]answer) (*Systemd, *fakeRunner) {
	r := &fakeRunner{answers: answers}
	return &Systemd{Service: unit.For("linux", ""), Exe: "/usr/bin/avscout", UnitDir: t.TempDir(), Runner: r}, r
}

func TestSystemdInstall(t *testing.T) {
	ctx := context.Background()
	d, r := newSystemd(t, nil)
	if err := d.Install(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(d.UnitDir, "avscout.service"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := unit.Render(unit.Systemd, d.Service, d.Exe)
	if string(b) != want {
		t.Errorf("unit written:\n%s\nwant what `service unit` prints:\n%s", b, want)
	}
	if fi, _ := os.Stat(filepath.Join(d.UnitDir, "avscout.service")); fi.Mode().Perm() != 0o644 {
		t.Errorf("unit mode %v, want 0644", fi.Mode().Perm())
	}
	if got := strings.Join(r.calls, "; "); got != "systemctl daemon-reload; systemctl enable avscout.service" {
		t.Errorf("calls: %s", got)
	}
	// A second install leaves the first unit alone.
	if err := d.Install(ctx); !errors.Is(err, ErrInstalled) {
		t.Errorf("second install: %v, want ErrInstalled", err)
	}
	if b2, _ := os.ReadFile(filepath.Join(d.UnitDir, "avscout.service")); string(b2) != want {
		t.Error("the second install changed the unit")
	}
}

func TestSystemdInstallRefused(t *testing.T) {
	d, _ := newSystemd(t, map[string]answer{
		"systemctl enable avscout.service": {stderr: "Failed to enable unit: Unit file avscout.service is masked.", code: 1},
	})
	err := d.Install(context.Background())
	if err == nil || !strings.Contains(err.Error(), "masked") {
		t.Fatalf("install with enable refused: %v", err)
	}
	if _, err := os.Stat(filepath.Join(d.UnitDir, "avscout.service")); !os.IsNotExist(err) {
		t.Errorf("the refused unit was left behind: %v", err)
	}
}

func TestSystemdStatus(t *testing.T) {
	show := "systemctl show --property=LoadState avscout.service"
	for _, tc := range []struct {
		name    string
		answers map[string]answer
		want    Status
		wantErr bool
	}{
		{"running", map[string]answer{"systemctl is-active avscout.service": {out: "active\n"}}, Running, false},
		{"starting", map[string]answer{"systemctl is-active avscout.service": {out: "activating\n", code: 3}}, Running, false},
		{"stopped", map[string]answer{
			"systemctl is-active avscout.service": {out: "inactive\n", code: 3},
			show:                                  {out: "LoadState=loaded\n"},
		}, Stopped, false},
		{"failed", map[string]answer{
			"systemctl is-active avscout.service": {out: "failed\n", code: 3},
			show:                                  {out: "LoadState=loaded\n"},
		}, Stopped, false},
		{"not installed", map[string]answer{
			"systemctl is-active avscout.service": {out: "inactive\n", code: 3},
			show:                                  {out: "LoadState=not-found\n"},
		}, NotInstalled, false},
		{"a warning on standard error", map[string]answer{
			"systemctl is-active avscout.service": {out: "active\n", stderr: "Warning: The unit file changed on disk. Run 'systemctl daemon-reload'.\n"},
		}, Running, false},
		{"systemctl missing", map[string]answer{
			"systemctl is-active avscout.service": {code: -1, err: errors.New(`exec: "systemctl": executable file not found in $PATH`)},
		}, StatusUnknown, true},
		{"show fails", map[string]answer{
			"systemctl is-active avscout.service": {out: "inactive\n", code: 3},
			show:                                  {stderr: "Failed to connect to bus: No such file or directory\n", code: 1},
		}, StatusUnknown, true},
		{"an answer it cannot read", map[string]answer{
			"systemctl is-active avscout.service": {out: "inactive\n", code: 3},
			show:                                  {out: "not-found\n"},
		}, StatusUnknown, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, _ := newSystemd(t, tc.answers)
			got, err := d.Status(context.Background())
			if got != tc.want || (err != nil) != tc.wantErr {
				t.Errorf("Status() = %v, %v; want %v, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestSystemdUninstall(t *testing.T) {
	ctx := context.Background()
	d, r := newSystemd(t, map[string]answer{"systemctl is-active avscout.service": {out: "active\n"}})
	if err := d.Uninstall(ctx); !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("uninstall with no unit: %v, want ErrNotInstalled", err)
	}
	if len(r.calls) != 0 {
		t.Errorf("uninstall with no unit ran %v", r.calls)
	}
	if err := os.WriteFile(filepath.Join(d.UnitDir, "avscout.service"), []byte("[Service]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.Uninstall(ctx); err != nil {
		t.Fatal(err)
	}
	want := "systemctl is-active avscout.service; systemctl stop avscout.service; systemctl disable avscout.service; systemctl daemon-reload"
	if got := strings.Join(r.calls, "; "); got != want {
		t.Errorf("calls:\n%s\nwant:\n%s", got, want)
	}
	if _, err := os.Stat(filepath.Join(d.UnitDir, "avscout.service")); !os.IsNotExist(err) {
		t.Errorf("unit still there: %v", err)
	}
}

func newLaunchd(t *testing.T, answers map[string]answer) (*Launchd, *fakeRunner) {
	r := &fakeRunner{answers: answers}
	return &Launchd{Service: unit.For("darwin", ""), Exe: "/opt/avscout/bin/avscout", Dir: t.TempDir(), Runner: r}, r
}

const printCmd = "launchctl print system/io.avscout.agent"

func TestLaunchdInstall(t *testing.T) {
	l, r := newLaunchd(t, nil)
	if err := l.Install(context.Background()); err != nil {
		t.Fatal(err)
	}
	// What the plist says is internal/agent/unit's to test; here, that
	// it is the one `service unit` prints.
	b, err := os.ReadFile(filepath.Join(l.Dir, "io.avscout.agent.plist"))
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := unit.Render(unit.Launchd, l.Service, l.Exe); string(b) != want {
		t.Errorf("plist written:\n%s\nwant what `service unit` prints:\n%s", b, want)
	}
	if len(r.calls) != 0 {
		t.Errorf("install ran %v; launchd loads the job at boot or on start", r.calls)
	}
	if err := l.Install(context.Background()); !errors.Is(err, ErrInstalled) {
		t.Errorf("second install: %v, want ErrInstalled", err)
	}
}

func TestLaunchdStatus(t *testing.T) {
	for _, tc := range []struct {
		name    string
		print   answer
		plist   bool
		want    Status
		wantErr bool
	}{
		{"running", answer{out: testdata(t, "launchctl-print-running.txt")}, true, Running, false},
		{"loaded, not running", answer{out: testdata(t, "launchctl-print-stopped.txt")}, true, Stopped, false},
		{"not loaded", answer{out: testdata(t, "launchctl-print-notfound.txt"), code: notFound}, true, Stopped, false},
		{"not installed", answer{out: testdata(t, "launchctl-print-notfound.txt"), code: notFound}, false, NotInstalled, false},
		{"launchctl fails", answer{out: "Unrecognized target specifier.\n", code: 64}, true, StatusUnknown, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, _ := newLaunchd(t, map[string]answer{printCmd: tc.print})
			if tc.plist {
				if err := os.WriteFile(filepath.Join(l.Dir, "io.avscout.agent.plist"), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := l.Status(context.Background())
			if got != tc.want || (err != nil) != tc.wantErr {
				t.Errorf("Status() = %v, %v; want %v, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestLaunchdControl(t *testing.T) {
	loaded := answer{out: testdata(t, "launchctl-print-running.txt")}
	unloaded := answer{out: testdata(t, "launchctl-print-notfound.txt"), code: notFound}
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		print answer
		do    func(*Launchd) error
		want  string
	}{
		{"start unloaded", unloaded, func(l *Launchd) error { return l.Start(ctx) }, "enable system/io.avscout.agent; bootstrap system {dir}/io.avscout.agent.plist"},
		{"start loaded", loaded, func(l *Launchd) error { return l.Start(ctx) }, "kickstart system/io.avscout.agent"},
		{"stop loaded", loaded, func(l *Launchd) error { return l.Stop(ctx) }, "bootout system/io.avscout.agent"},
		{"stop unloaded", unloaded, func(l *Launchd) error { return l.Stop(ctx) }, ""},
		{"restart loaded", loaded, func(l *Launchd) error { return l.Restart(ctx) }, "kickstart -k system/io.avscout.agent"},
		{"restart unloaded", unloaded, func(l *Launchd) error { return l.Restart(ctx) }, "enable system/io.avscout.agent; bootstrap system {dir}/io.avscout.agent.plist"},
		{"uninstall loaded", loaded, func(l *Launchd) error { return l.Uninstall(ctx) }, "bootout system/io.avscout.agent"},
		{"uninstall unloaded", unloaded, func(l *Launchd) error { return l.Uninstall(ctx) }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, r := newLaunchd(t, map[string]answer{printCmd: tc.print})
			if err := l.Install(ctx); err != nil {
				t.Fatal(err)
			}
			if err := tc.do(l); err != nil {
				t.Fatal(err)
			}
			var acted []string
			for _, c := range r.calls {
				if c != printCmd {
					acted = append(acted, strings.TrimPrefix(c, "launchctl "))
				}
			}
			if got, want := strings.Join(acted, "; "), strings.ReplaceAll(tc.want, "{dir}", l.Dir); got != want {
				t.Errorf("launchctl %q, want %q", got, want)
			}
			_, err := os.Stat(filepath.Join(l.Dir, "io.avscout.agent.plist"))
			if uninstalled := strings.HasPrefix(tc.name, "uninstall"); uninstalled != os.IsNotExist(err) {
				t.Errorf("plist after %s: %v", tc.name, err)
			}
		})
	}
}

func TestLaunchdStartNotInstalled(t *testing.T) {
	l, r := newLaunchd(t, map[string]answer{printCmd: {out: testdata(t, "launchctl-print-notfound.txt"), code: notFound}})
	if err := l.Start(context.Background()); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("start with no plist: %v, want ErrNotInstalled", err)
	}
	if len(r.calls) != 1 {
		t.Errorf("start with no plist ran %v", r.calls)
	}
}

func TestPrintState(t *testing.T) {
	for name, want := range map[string]string{
		"launchctl-print-running.txt":  "running",
		"launchctl-print-stopped.txt":  "not running", // and not its "jetsam state = active"
		"launchctl-print-notfound.txt": "",
	} {
		if got := printState([]byte(testdata(t, name))); got != want {
			t.Errorf("%s: state %q, want %q", name, got, want)
		}
	}
}

func TestExecRunner(t *testing.T) {
	ctx := context.Background()
	out, errOut, code, err := ExecRunner{}.Run(ctx, "sh", "-c", "echo inactive; echo warning >&2; exit 3")
	if err != nil || code != 3 || string(out) != "inactive\n" || string(errOut) != "warning\n" {
		t.Errorf("exit 3: %q, %q, %d, %v", out, errOut, code, err)
	}
	// Output past the cap is dropped, not kept.
	out, _, code, err = ExecRunner{}.Run(ctx, "sh", "-c", "head -c 1000000 /dev/zero")
	if err != nil || code != 0 || len(out) != maxOutput {
		t.Errorf("a chatty tool: %d bytes, %d, %v", len(out), code, err)
	}
	if _, _, _, err := (ExecRunner{}).Run(ctx, "avscout-no-such-tool"); err == nil {
		t.Error("a missing tool ran")
	}
}
