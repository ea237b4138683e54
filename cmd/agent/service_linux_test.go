package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// `avscout service install` on a systemd machine writes our sandboxed unit
// and enables it; uninstall removes both. CI has no running systemd, so the
// install runs in a private mount namespace where /etc/systemd/system is an
// empty tmpfs and /run/systemd/system exists (how the agent, like
// sd_booted(3), detects systemd). The one thing that needs a running systemd, `systemctl
// daemon-reload`, is the only call the wrapper below skips; enable and
// disable are done by the real systemctl, offline. The unit is then checked
// by the real systemd-analyze: verify (no warnings) and its security
// exposure score.
func TestServiceInstallSystemdUnit(t *testing.T) {
	for _, tool := range []string{"unshare", "systemctl", "systemd-analyze"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("this test needs %s (Debian packages util-linux and systemd; scripts/install-deps.sh installs them): %v", tool, err)
		}
	}
	if os.Geteuid() != 0 {
		t.Fatal("this test mounts in a private namespace and needs root (CI runs as root)")
	}
	dir := t.TempDir()
	wrapper := filepath.Join(dir, "bin", "systemctl")
	writeFile(t, wrapper, fmt.Sprintf(`#!/bin/sh
echo "$@" >> %[1]s/systemctl.log
[ "$1" = daemon-reload ] && exit 0
exec %[2]s --root=/ "$@"
`, dir, mustLookPath(t, "systemctl")))
	if err := os.Chmod(wrapper, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, _ := agentConfig(t, "", "", "")
	script := fmt.Sprintf(`set -e
mount -t tmpfs tmpfs /etc/systemd/system
mkdir -p /run/systemd && mount -t tmpfs tmpfs /run/systemd && mkdir /run/systemd/system
export PATH=%[1]s/bin:$PATH
%[2]s service install --config %[3]s > %[1]s/install.out 2>&1
cp /etc/systemd/system/avscout.service %[1]s/avscout.service
readlink /etc/systemd/system/multi-user.target.wants/avscout.service > %[1]s/wants
systemd-analyze verify /etc/systemd/system/avscout.service > %[1]s/verify 2>&1
systemd-analyze security --offline=true /etc/systemd/system/avscout.service > %[1]s/security 2>&1 || true
%[2]s service install --config %[3]s > %[1]s/reinstall.out 2>&1 && echo reinstall-succeeded > %[1]s/reinstall.bad || true
%[2]s service uninstall > %[1]s/uninstall.out 2>&1
ls -A /etc/systemd/system > %[1]s/after
`, dir, binary, cfg)
	out, err := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", script).CombinedOutput()
	read := func(name string) string {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		return string(b)
	}
	if err != nil {
		t.Fatalf("install in a private namespace: %v\n%s\ninstall: %s\nuninstall: %s", err, out, read("install.out"), read("uninstall.out"))
	}

	unit := read("avscout.service")
	// The packages ship the unit `service unit` prints: it must be what
	// `service install` writes.
	var printed, errOut strings.Builder
	if code := run(context.Background(), []string{"service", "unit", "--init", "systemd", "--path", binary, "--config", cfg}, &printed, &errOut); code != 0 {
		t.Fatalf("service unit: exit %d: %s", code, errOut.String())
	}
	if printed.String() != unit {
		t.Errorf("service unit printed\n%s\nbut service install wrote\n%s", printed.String(), unit)
	}
	wantLines := []string{
		"ExecStart=" + binary + ` "service" "run" "--config" "` + cfg + `"`,
		"Restart=on-failure",
		"MemoryMax=256M",
		"NoNewPrivileges=yes",
		"ProtectSystem=strict",
		"StateDirectory=avscout",
		"IOSchedulingClass=idle",
		"Nice=10",
		"UMask=0077",
		"WantedBy=multi-user.target",
	}
	for _, want := range wantLines {
		if !strings.Contains(unit, want+"\n") {
			t.Errorf("unit lacks %q:\n%s", want, unit)
		}
	}
	if strings.Contains(unit, "{{") {
		t.Errorf("unit has unrendered template actions:\n%s", unit)
	}
	if got := strings.TrimSpace(read("wants")); got != "/etc/systemd/system/avscout.service" {
		t.Errorf("enable: multi-user.target.wants/avscout.service -> %q", got)
	}
	if v := strings.TrimSpace(read("verify")); v != "" {
		t.Errorf("systemd-analyze verify complains:\n%s", v)
	}
	m := regexp.MustCompile(`Overall exposure level for avscout.service: ([0-9.]+)`).FindStringSubmatch(read("security"))
	if m == nil {
		t.Fatalf("no exposure level from systemd-analyze security:\n%s", read("security"))
	}
	// systemd rates 0 (locked down) to 10 (exposed); a root daemon that
	// must read the whole filesystem and the process table cannot reach 0.
	if level, _ := strconv.ParseFloat(m[1], 64); level > 4 {
		t.Errorf("systemd exposure level %.1f, want ≤ 4 (MEDIUM or better):\n%s", level, read("security"))
	}
	t.Logf("systemd-analyze security: exposure %s", m[1])
	if read("reinstall.bad") != "" {
		t.Errorf("a second install over an existing unit succeeded: %s", read("reinstall.out"))
	}
	if after := strings.Fields(read("after")); len(after) != 1 || after[0] != "multi-user.target.wants" {
		// disable removes the link; the emptied folder may stay.
		if len(after) != 0 {
			t.Errorf("after uninstall /etc/systemd/system holds %v", after)
		}
	}
	if calls := read("systemctl.log"); !strings.Contains(calls, "enable avscout.service") || !strings.Contains(calls, "disable avscout.service") {
		t.Errorf("systemctl calls:\n%s", calls)
	}
}

func mustLookPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
