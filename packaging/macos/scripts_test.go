package macos

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The install scripts run for real under sh and dash; only launchctl is a
// stand-in (testdata/launchctl records its arguments), because launchctl
// cannot run on Linux. Every other command (chown, chmod, mkdir, ln) is
// the real one, acting on a temporary target volume passed as $3.

const label = "io.avscout.agent"

func TestScriptsParse(t *testing.T) {
	for _, shell := range []string{"sh", "dash"} {
		if _, err := exec.LookPath(shell); err != nil {
			t.Fatalf("%s is needed to check the install scripts: %v", shell, err)
		}
		for _, s := range []string{"preinstall", "postinstall"} {
			if out, err := exec.Command(shell, "-n", filepath.Join("scripts", s)).CombinedOutput(); err != nil {
				t.Errorf("%s -n %s: %v\n%s", shell, s, err, out)
			}
			if st, err := os.Stat(filepath.Join("scripts", s)); err != nil || st.Mode().Perm() != 0o755 {
				t.Errorf("scripts/%s: want mode 0755 (%v)", s, err)
			}
		}
	}
}

type scriptRun struct {
	code   int
	stderr string
	calls  []string
}

// runScript runs scripts/<name> under sh with the launchctl stand-in
// first on PATH, Installer's arguments and target volume root.
func runScript(t *testing.T, name, root string, env ...string) scriptRun {
	t.Helper()
	bin := t.TempDir()
	stub, err := os.ReadFile("testdata/launchctl")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "launchctl"), stub, 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(t.TempDir(), "launchctl.log")
	script, _ := filepath.Abs(filepath.Join("scripts", name))
	cmd := exec.Command("sh", script, "/tmp/avscout.pkg", "/", root, "/")
	cmd.Env = append([]string{"PATH=" + bin + ":" + os.Getenv("PATH"), "LAUNCHCTL_LOG=" + log}, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	rec, _ := os.ReadFile(log)
	calls := strings.Split(strings.TrimSpace(string(rec)), "\n")
	if len(rec) == 0 {
		calls = nil
	}
	return scriptRun{code: code, stderr: stderr.String(), calls: calls}
}

func TestPreinstall(t *testing.T) {
	for _, tc := range []struct {
		name, bootout string
		warn          bool
	}{
		{"loaded", "ok", false},
		{"first install, not loaded", "notloaded", false},
		{"other launchctl failure is reported, install goes on", "error", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runScript(t, "preinstall", "/", "FAKE_BOOTOUT="+tc.bootout)
			if r.code != 0 {
				t.Errorf("exit %d, want 0 (stderr %q)", r.code, r.stderr)
			}
			if want := []string{"bootout system/" + label}; strings.Join(r.calls, "|") != strings.Join(want, "|") {
				t.Errorf("launchctl calls %q, want %q", r.calls, want)
			}
			if got := r.stderr != ""; got != tc.warn {
				t.Errorf("stderr %q, want a warning: %v", r.stderr, tc.warn)
			}
		})
	}
}

// targetVolume lays out what Installer has put in place before postinstall.
func targetVolume(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for p, mode := range map[string]os.FileMode{
		"opt/avscout/bin/avscout":                      0o700, // postinstall corrects it
		"Library/LaunchDaemons/io.avscout.agent.plist": 0o600,
	} {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte("x"), mode); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestPostinstall(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the postinstall test runs the real chown to uid 0 and needs root (run the tests as root, as CI does)")
	}
	for _, tc := range []struct {
		name  string
		env   []string
		calls func(plist string) []string
	}{
		{"fresh install", nil, func(plist string) []string {
			return []string{"enable system/" + label, "bootstrap system " + plist, "kickstart -k system/" + label}
		}},
		{"bootstrap fails twice while the old job goes away", []string{"FAKE_BOOTSTRAP_FAILS=2"}, func(plist string) []string {
			return []string{"enable system/" + label,
				"bootstrap system " + plist, "print system/" + label,
				"bootstrap system " + plist, "print system/" + label,
				"bootstrap system " + plist, "kickstart -k system/" + label}
		}},
		{"old job still loaded: unloaded, then the new plist loaded", []string{"FAKE_BOOTSTRAP_FAILS=1", "FAKE_LOADED=1"}, func(plist string) []string {
			return []string{"enable system/" + label, "bootstrap system " + plist, "print system/" + label, "bootout system/" + label,
				"bootstrap system " + plist, "kickstart -k system/" + label}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := targetVolume(t)
			r := runScript(t, "postinstall", root, tc.env...)
			if r.code != 0 {
				t.Fatalf("exit %d (stderr %q)", r.code, r.stderr)
			}
			plist := root + "/Library/LaunchDaemons/" + label + ".plist"
			if want := tc.calls(plist); strings.Join(r.calls, "\n") != strings.Join(want, "\n") {
				t.Errorf("launchctl calls:\n%s\nwant:\n%s", strings.Join(r.calls, "\n"), strings.Join(want, "\n"))
			}
			for p, want := range map[string]os.FileMode{
				"opt/avscout/bin/avscout": 0o755, "Library/LaunchDaemons/" + label + ".plist": 0o644,
				"Library/Logs/avscout": os.ModeDir | 0o755,
			} {
				st, err := os.Lstat(filepath.Join(root, p))
				if err != nil || st.Mode() != want {
					t.Errorf("%s: %v, want mode %v (%v)", p, st.Mode(), want, err)
				}
			}
			if target, err := os.Readlink(filepath.Join(root, "usr/local/bin/avscout")); err != nil || target != "/opt/avscout/bin/avscout" {
				t.Errorf("usr/local/bin/avscout → %q (%v)", target, err)
			}
		})
	}
	t.Run("launchctl refuses: the install fails, saying why", func(t *testing.T) {
		r := runScript(t, "postinstall", targetVolume(t), "FAKE_ENABLE=error")
		if r.code != 1 || !strings.Contains(r.stderr, "avscout postinstall: launchctl enable system/"+label) {
			t.Errorf("exit %d, stderr %q; want 1 and the failing step", r.code, r.stderr)
		}
	})
}
