package units

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/rootpath"
	"github.com/avscout/avscout/internal/rootpath/roottest"
)

// Unit files as the products ship them (trimmed).
const (
	keslUnit = `[Unit]
Description=Kaspersky Endpoint Security for Linux
After=network.target

[Service]
Type=forking
ExecStart=/opt/kaspersky/kesl/libexec/kesl_launcher.sh
PIDFile=/var/run/kesl.pid
KillMode=process

[Install]
WantedBy=multi-user.target
`
	klnagentUnit = `[Unit]
Description=Kaspersky Security Center Network Agent
After=network.target

[Service]
Type=forking
ExecStart=/opt/kaspersky/klnagent64/sbin/klnagent -d
PIDFile=/var/run/klnagent.pid

[Install]
WantedBy=multi-user.target
`
	clamdUnit = `[Unit]
Description=Clam AntiVirus userspace daemon
Documentation=man:clamd(8) man:clamd.conf(5) https://docs.clamav.net/
ConditionPathExistsGlob=/var/lib/clamav/main.{c[vl]d,inc}

[Service]
ExecStart=/usr/sbin/clamd --foreground=true

[Install]
WantedBy=multi-user.target
`
	falconUnit = `[Unit]
Description=CrowdStrike Falcon Sensor
After=local-fs.target

[Service]
ExecStart=/opt/CrowdStrike/falcond
Type=forking

[Install]
WantedBy=multi-user.target
`
	sshUnit = `[Unit]
Description=OpenBSD Secure Shell server
After=network.target auditd.service

[Service]
ExecStart=/usr/sbin/sshd -D $SSHD_OPTS

[Install]
WantedBy=multi-user.target
Alias=sshd.service
`
	avahiUnit = `[Unit]
Description=Avahi mDNS/DNS-SD Stack
Requires=avahi-daemon.socket

[Service]
Type=dbus
BusName=org.freedesktop.Avahi
ExecStart=/usr/sbin/avahi-daemon -s

[Install]
WantedBy=multi-user.target
Also=avahi-daemon.socket
Alias=dbus-org.freedesktop.Avahi.service
`
	initScript = "#!/bin/sh\n### BEGIN INIT INFO\n# Provides: kesl\n### END INIT INFO\n"
	// keslInit runs KESL's launcher by path (testdata/init/kesl.sysv).
	keslInit = "#!/bin/sh\n. /lib/lsb/init-functions\ncase \"$1\" in\n  start) /opt/kaspersky/kesl/libexec/kesl_launcher.sh start ;;\nesac\n"
)

// readFixture returns testdata/init/name.
func readFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "init", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fixture builds a root in a temporary directory (see roottest.Tree).
func fixture(t *testing.T, tree map[string]string) string {
	t.Helper()
	return roottest.Tree(t, tree)
}

func collect(t *testing.T, h *host.Host) (map[string]detect.Observation, error) {
	t.Helper()
	got := make(map[string]detect.Observation)
	err := New().Collect(context.Background(), h, func(o detect.Observation) {
		if _, dup := got[o.Name]; dup {
			t.Errorf("%s emitted twice", o.Name)
		}
		if o.Kind != detect.KindService {
			t.Errorf("%s: kind %s, want service", o.Name, o.Kind)
		}
		got[o.Name] = o
	})
	return got, err
}

func openRoot(t *testing.T, dir string) *host.Host {
	t.Helper()
	h, err := host.OpenRoot(dir, host.Linux)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// want is what one observation should say.
type want struct {
	name     string
	status   detect.Status
	path     string
	location string
	detail   string
}

// check compares got with the wanted observations, and reports any other.
func check(t *testing.T, got map[string]detect.Observation, wants []want) {
	t.Helper()
	for _, w := range wants {
		o, ok := got[w.name]
		if !ok {
			t.Errorf("%s: not reported", w.name)
			continue
		}
		delete(got, w.name)
		if o.Status != w.status || o.Path != w.path || o.Location != w.location || o.Detail != w.detail {
			t.Errorf("%s:\n got %s path %q location %q detail %q\nwant %s path %q location %q detail %q",
				w.name, o.Status, o.Path, o.Location, o.Detail, w.status, w.path, w.location, w.detail)
		}
	}
	for name, o := range got {
		t.Errorf("unexpected observation %s: %+v", name, o)
	}
}

// elf is the start of an x86-64 executable: programs in the fixtures.
const elf = "exec:\x7fELF\x02\x01\x01"

// mergedUsr is a Debian 12 style root: /lib -> usr/lib, enable links with
// absolute targets, a masked unit, an override in /etc, a unit linked from
// /opt whose target is gone, and ordinary units as decoys. KESL is
// installed (its launcher is there); Network Agent was removed without
// its unit (the unit's program is gone); Security Center's administration
// server unit points at a missing klserver.
var mergedUsr = map[string]string{
	"etc/os-release": "file:ID=debian\n",
	"lib":            "link:usr/lib",
	"sbin":           "link:usr/sbin",

	"opt/kaspersky/kesl/libexec/kesl_launcher.sh": "file:#!/bin/sh\n",
	"opt/kaspersky/kesl/bin/kesl-control":         elf,
	"usr/sbin/clamd":                              elf,
	"usr/sbin/sshd":                               elf,
	"usr/sbin/agetty":                             elf,

	"usr/lib/systemd/system/kesl.service":               "file:" + keslUnit,
	"usr/lib/systemd/system/klnagent64.service":         "file:" + klnagentUnit,
	"usr/lib/systemd/system/clamav-daemon.service":      "file:" + clamdUnit,
	"usr/lib/systemd/system/falcon-sensor.service":      "file:" + falconUnit,
	"usr/lib/systemd/system/ssh.service":                "file:" + sshUnit,
	"usr/lib/systemd/system/avahi-daemon.service":       "file:" + avahiUnit,
	"usr/lib/systemd/system/avahi-daemon.socket":        "file:[Socket]\nListenStream=/run/avahi-daemon/socket\n",
	"usr/lib/systemd/system/getty@.service":             "file:[Service]\nExecStart=-/sbin/agetty -o '-p -- \\\\u' --noclear - $TERM\n",
	"usr/lib/systemd/system/multi-user.target":          "file:[Unit]\nDescription=Multi-User System\n",
	"usr/lib/systemd/system/multi-user.target.wants":    "dir", // static links: a directory, not a unit
	"usr/lib/systemd/system/kesl.service.d/limits.conf": "file:[Service]\nLimitNOFILE=65536\n",
	"usr/lib/systemd/system/README":                     "file:not a unit\n",
	"usr/lib/systemd/system/.keep":                      "file:",

	"usr/local/lib/systemd/system/kladminserver_srv.service": "file:[Service]\nExecStart=/opt/kaspersky/ksc64/sbin/klserver\n",

	"run/systemd/system/session-1.scope": "file:[Scope]\n",

	"etc/systemd/system/multi-user.target.wants/kesl.service":          "link:/lib/systemd/system/kesl.service",
	"etc/systemd/system/multi-user.target.wants/klnagent64.service":    "link:/lib/systemd/system/klnagent64.service",
	"etc/systemd/system/multi-user.target.wants/ssh.service":           "link:/lib/systemd/system/ssh.service",
	"etc/systemd/system/multi-user.target.wants/falcon-sensor.service": "link:/lib/systemd/system/falcon-sensor.service",
	"etc/systemd/system/sockets.target.wants/avahi-daemon.socket":      "link:/lib/systemd/system/avahi-daemon.socket",
	"etc/systemd/system/getty.target.wants/getty@tty1.service":         "link:/lib/systemd/system/getty@.service",
	"etc/systemd/system/sshd.service":                                  "link:/lib/systemd/system/ssh.service",
	"etc/systemd/system/dbus-org.freedesktop.Avahi.service":            "link:/lib/systemd/system/avahi-daemon.service",
	"etc/systemd/system/falcon-sensor.service":                         "link:/dev/null",
	"etc/systemd/system/clamav-daemon.service":                         "file:" + clamdUnit + "Nice=5\n",
	"etc/systemd/system/kesl-old.service":                              "link:/opt/kaspersky/kesl/lib/systemd/kesl-old.service",
	"etc/systemd/system/klnagent64.service.d/override.conf":            "file:[Service]\nRestart=always\n",

	"etc/init.d/kesl":          "file:" + keslInit,
	"etc/init.d/ssh":           "file:#!/bin/sh\n",
	"etc/init.d/klnagent64":    "link:/opt/kaspersky/klnagent64/lib/bin/klnagent64.init",
	"etc/init.d/README":        "file:",
	"etc/init.d/.depend.start": "file:",
	"etc/init.d/kesl~":         "file:",
	"etc/rc2.d/S01kesl":        "link:../init.d/kesl",
	"etc/rc3.d/K01ssh":         "link:../init.d/ssh",
	"etc/rc0.d/S01klnagent64":  "link:../init.d/klnagent64",
}

func TestCollectMergedUsr(t *testing.T) {
	got, err := collect(t, openRoot(t, fixture(t, mergedUsr)))
	if err != nil {
		t.Fatal(err)
	}
	I, P := detect.Installed, detect.Present
	check(t, got, []want{
		{"kesl.service", I, "/opt/kaspersky/kesl/libexec/kesl_launcher.sh", "usr/lib/systemd/system/kesl.service",
			"kesl.service (enabled, runs /opt/kaspersky/kesl/libexec/kesl_launcher.sh)"},
		// Decoy: an enabled unit whose program is gone is residue.
		{"klnagent64.service", P, "/opt/kaspersky/klnagent64/sbin/klnagent", "usr/lib/systemd/system/klnagent64.service",
			"klnagent64.service (enabled, program missing: /opt/kaspersky/klnagent64/sbin/klnagent)"},
		{"clamav-daemon.service", I, "/usr/sbin/clamd", "etc/systemd/system/clamav-daemon.service", "clamav-daemon.service (runs /usr/sbin/clamd)"},
		{"falcon-sensor.service", P, "/etc/systemd/system/falcon-sensor.service", "etc/systemd/system/falcon-sensor.service", "falcon-sensor.service (masked)"},
		{"kesl-old.service", P, "/etc/systemd/system/kesl-old.service", "etc/systemd/system/kesl-old.service",
			"kesl-old.service (link to /opt/kaspersky/kesl/lib/systemd/kesl-old.service, broken)"},
		{"kladminserver_srv.service", P, "/opt/kaspersky/ksc64/sbin/klserver", "usr/local/lib/systemd/system/kladminserver_srv.service",
			"kladminserver_srv.service (program missing: /opt/kaspersky/ksc64/sbin/klserver)"},
		{"ssh.service", I, "/usr/sbin/sshd", "usr/lib/systemd/system/ssh.service", "ssh.service (enabled, runs /usr/sbin/sshd)"},
		{"sshd.service", I, "/usr/sbin/sshd", "etc/systemd/system/sshd.service",
			"sshd.service (link to /lib/systemd/system/ssh.service, runs /usr/sbin/sshd)"},
		{"avahi-daemon.service", P, "/usr/sbin/avahi-daemon", "usr/lib/systemd/system/avahi-daemon.service",
			"avahi-daemon.service (program missing: /usr/sbin/avahi-daemon)"},
		// No program: enabled makes it installed.
		{"avahi-daemon.socket", I, "/usr/lib/systemd/system/avahi-daemon.socket", "usr/lib/systemd/system/avahi-daemon.socket", "avahi-daemon.socket (enabled)"},
		{"dbus-org.freedesktop.Avahi.service", P, "/usr/sbin/avahi-daemon", "etc/systemd/system/dbus-org.freedesktop.Avahi.service",
			"dbus-org.freedesktop.Avahi.service (link to /lib/systemd/system/avahi-daemon.service, program missing: /usr/sbin/avahi-daemon)"},
		// /sbin/agetty through the /sbin -> usr/sbin link.
		{"getty@.service", I, "/sbin/agetty", "usr/lib/systemd/system/getty@.service", "getty@.service (enabled, runs /sbin/agetty)"},
		{"multi-user.target", P, "/usr/lib/systemd/system/multi-user.target", "usr/lib/systemd/system/multi-user.target", "multi-user.target"},
		{"session-1.scope", P, "/run/systemd/system/session-1.scope", "run/systemd/system/session-1.scope", "session-1.scope"},
		{"kesl", I, "/opt/kaspersky/kesl/libexec/kesl_launcher.sh", "etc/init.d/kesl",
			"kesl (SysV init script, enabled, runs /opt/kaspersky/kesl/libexec/kesl_launcher.sh)"},
		{"ssh", P, "/etc/init.d/ssh", "etc/init.d/ssh", "ssh (SysV init script)"},
		{"klnagent64", P, "/etc/init.d/klnagent64", "etc/init.d/klnagent64",
			"klnagent64 (SysV init script, link to /opt/kaspersky/klnagent64/lib/bin/klnagent64.init, broken)"},
	})
}

// TestCollectSplitUsr checks precedence when /lib and /usr/lib are
// distinct directories (Debian 11, RHEL 7): the first directory wins.
func TestCollectSplitUsr(t *testing.T) {
	got, err := collect(t, openRoot(t, fixture(t, map[string]string{
		"lib/systemd/system/kesl.service":              "file:" + keslUnit,
		"lib/systemd/system/ssh.service":               "file:" + sshUnit,
		"usr/lib/systemd/system/ssh.service":           "file:" + sshUnit,
		"usr/lib/systemd/system/clamav-daemon.service": "file:" + clamdUnit,
		// RHEL: /etc/init.d -> rc.d/init.d, /etc/rc3.d -> rc.d/rc3.d
		"etc/init.d":                                     "link:rc.d/init.d",
		"etc/rc.d/init.d/kav4fs":                         "file:" + readFixture(t, "kav4fs.redhat"),
		"etc/rc.d/init.d/functions":                      "file:# sourced by scripts\n",
		"etc/rc3.d":                                      "link:rc.d/rc3.d",
		"etc/rc.d/rc3.d/S95kav4fs":                       "link:../init.d/kav4fs",
		"opt/kaspersky/kav4fs/bin/kav4fs-control":        elf,
		"opt/kaspersky/kav4fs/libexec/kav4fs-supervisor": elf,
	})))
	if err != nil {
		t.Fatal(err)
	}
	I, P := detect.Installed, detect.Present
	check(t, got, []want{
		{"kesl.service", P, "/opt/kaspersky/kesl/libexec/kesl_launcher.sh", "lib/systemd/system/kesl.service",
			"kesl.service (program missing: /opt/kaspersky/kesl/libexec/kesl_launcher.sh)"},
		{"ssh.service", P, "/usr/sbin/sshd", "usr/lib/systemd/system/ssh.service", "ssh.service (program missing: /usr/sbin/sshd)"},
		{"clamav-daemon.service", P, "/usr/sbin/clamd", "usr/lib/systemd/system/clamav-daemon.service",
			"clamav-daemon.service (program missing: /usr/sbin/clamd)"},
		// Read once, though both /etc/init.d and /etc/rc.d/init.d hold it.
		{"kav4fs", I, "/opt/kaspersky/kav4fs/libexec/kav4fs-supervisor", "etc/init.d/kav4fs",
			"kav4fs (SysV init script, enabled, runs /opt/kaspersky/kav4fs/libexec/kav4fs-supervisor)"},
	})
}

// TestCollectRedHatInitOnly: a root whose scripts are only in
// /etc/rc.d/init.d, with no /etc/init.d link.
func TestCollectRedHatInitOnly(t *testing.T) {
	got, err := collect(t, openRoot(t, fixture(t, map[string]string{
		"etc/rc.d/init.d/kav4fs":                         "file:" + readFixture(t, "kav4fs.redhat"),
		"etc/rc.d/rc5.d/S95kav4fs":                       "link:../init.d/kav4fs",
		"opt/kaspersky/kav4fs/libexec/kav4fs-supervisor": elf,
	})))
	if err != nil {
		t.Fatal(err)
	}
	check(t, got, []want{{"kav4fs", detect.Installed, "/opt/kaspersky/kav4fs/libexec/kav4fs-supervisor", "etc/rc.d/init.d/kav4fs",
		"kav4fs (SysV init script, enabled, runs /opt/kaspersky/kav4fs/libexec/kav4fs-supervisor)"}})
}

// TestCollectRemovedDebianPackage: after "dpkg -r klnagent64" the package's
// files are gone but its conffiles stay — the init script among them —
// and so do its rc links, which only a purge removes (update-rc.d remove
// runs from postrm purge). The script is enabled, its program is gone:
// residue, not an install.
func TestCollectRemovedDebianPackage(t *testing.T) {
	got, err := collect(t, openRoot(t, fixture(t, map[string]string{
		"etc/init.d/klnagent64":      "file:" + readFixture(t, "klnagent64.lsb"),
		"etc/rc2.d/S01klnagent64":    "link:../init.d/klnagent64",
		"etc/rc3.d/S01klnagent64":    "link:../init.d/klnagent64",
		"etc/default/klnagent64":     "file:DAEMON_ARGS=-d\n",
		"var/opt/kaspersky/klnagent": "dir",
		"etc/init.d/dbus":            "file:#!/bin/sh\nDAEMON=/usr/bin/dbus-daemon\ntest -x $DAEMON || exit 0\n",
		"usr/bin/dbus-daemon":        elf,
	})))
	if err != nil {
		t.Fatal(err)
	}
	check(t, got, []want{
		{"klnagent64", detect.Present, "/opt/kaspersky/klnagent64/sbin/klnagent", "etc/init.d/klnagent64",
			"klnagent64 (SysV init script, enabled, program missing: /opt/kaspersky/klnagent64/sbin/klnagent)"},
		{"dbus", detect.Installed, "/usr/bin/dbus-daemon", "etc/init.d/dbus", "dbus (SysV init script, runs /usr/bin/dbus-daemon)"},
	})
}

// TestCollectGentooOpenRC: Network Agent on Gentoo, as /etc/init.d/klnagent64
// added to the default runlevel; a script only in the shutdown runlevel is
// not enabled; a script whose program comes only from its defaults file is
// installed when enabled, present otherwise.
func TestCollectGentooOpenRC(t *testing.T) {
	got, err := collect(t, openRoot(t, fixture(t, map[string]string{
		"etc/gentoo-release":                     "file:Gentoo Base System release 2.14\n",
		"etc/init.d/klnagent64":                  "file:" + readFixture(t, "klnagent64.openrc"),
		"etc/init.d/killprocs":                   "file:#!/sbin/openrc-run\ndescription=\"Kill all processes\"\n",
		"etc/init.d/vendor-agent":                "file:" + readFixture(t, "only-variables.sysv"),
		"etc/init.d/other-agent":                 "file:" + readFixture(t, "only-variables.sysv"),
		"etc/runlevels/default/klnagent64":       "link:/etc/init.d/klnagent64",
		"etc/runlevels/default/vendor-agent":     "link:/etc/init.d/vendor-agent",
		"etc/runlevels/shutdown/killprocs":       "link:/etc/init.d/killprocs",
		"opt/kaspersky/klnagent64/sbin/klnagent": elf,
	})))
	if err != nil {
		t.Fatal(err)
	}
	I, P := detect.Installed, detect.Present
	check(t, got, []want{
		{"klnagent64", I, "/opt/kaspersky/klnagent64/sbin/klnagent", "etc/init.d/klnagent64",
			"klnagent64 (OpenRC init script, enabled in default, runs /opt/kaspersky/klnagent64/sbin/klnagent)"},
		{"killprocs", P, "/etc/init.d/killprocs", "etc/init.d/killprocs", "killprocs (OpenRC init script)"},
		// An LSB script in an OpenRC runlevel is not OpenRC's: only rc links enable it.
		{"vendor-agent", P, "/etc/init.d/vendor-agent", "etc/init.d/vendor-agent", "vendor-agent (SysV init script)"},
		{"other-agent", P, "/etc/init.d/other-agent", "etc/init.d/other-agent", "other-agent (SysV init script)"},
	})
}

// A script naming no program: enabled is installed, else present.
func TestCollectNoProgram(t *testing.T) {
	got, err := collect(t, openRoot(t, fixture(t, map[string]string{
		"etc/init.d/vendor-agent":   "file:" + readFixture(t, "only-variables.sysv"),
		"etc/init.d/other-agent":    "file:" + readFixture(t, "only-variables.sysv"),
		"etc/rc2.d/S20vendor-agent": "link:../init.d/vendor-agent",
		"etc/init.d/tool":           "file:#!/bin/sh\n[ -x /opt/tool/bin/tool ] && echo ok\n",
		"opt/tool/bin/tool":         elf,
		"etc/init.d/notexec":        "file:#!/bin/sh\n. /opt/tool/lib/functions.sh\n",
		"opt/tool/lib/functions.sh": "file:# sourced\n",
	})))
	if err != nil {
		t.Fatal(err)
	}
	I, P := detect.Installed, detect.Present
	check(t, got, []want{
		{"vendor-agent", I, "/etc/init.d/vendor-agent", "etc/init.d/vendor-agent", "vendor-agent (SysV init script, enabled)"},
		{"other-agent", P, "/etc/init.d/other-agent", "etc/init.d/other-agent", "other-agent (SysV init script)"},
		// No program named as such, but an executable file it names.
		{"tool", I, "/opt/tool/bin/tool", "etc/init.d/tool", "tool (SysV init script, runs /opt/tool/bin/tool)"},
		// A sourced file that is no executable is no program.
		{"notexec", P, "/etc/init.d/notexec", "etc/init.d/notexec", "notexec (SysV init script)"},
	})
}

func TestCollectErrors(t *testing.T) {
	tests := []struct {
		name     string
		tree     map[string]string
		os       host.OS
		wantErr  error
		wantText string
		wantObs  []string
	}{
		{name: "empty root", os: host.Linux, tree: map[string]string{"etc/os-release": "file:"},
			wantErr: detect.ErrUnavailable, wantText: "no systemd unit directory"},
		{name: "init.d only", os: host.Linux, tree: map[string]string{"etc/init.d/kesl": "file:" + initScript},
			wantObs: []string{"kesl"}},
		{name: "a file where a unit directory should be", os: host.Linux, tree: map[string]string{
			"etc/systemd/system":                  "file:oops",
			"usr/lib/systemd/system/kesl.service": "file:" + keslUnit,
		}, wantErr: rootpath.ErrNotDir, wantText: "etc/systemd/system", wantObs: []string{"kesl.service"}},
		{name: "unit directory is a dangling link", os: host.Linux, tree: map[string]string{
			"lib":                                 "link:/usr/lib64",
			"usr/lib/systemd/system/kesl.service": "file:" + keslUnit,
		}, wantObs: []string{"kesl.service"}},
		{name: "unit directory link loop", os: host.Linux, tree: map[string]string{
			"run/systemd/system":                  "link:/run/systemd/system",
			"usr/lib/systemd/system/kesl.service": "file:" + keslUnit,
		}, wantErr: rootpath.ErrTooManyLinks, wantText: "run/systemd/system", wantObs: []string{"kesl.service"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := fixture(t, tt.tree)
			got, err := collect(t, &host.Host{OS: tt.os, Root: dir, FS: os.DirFS(dir)})
			switch {
			case tt.wantErr == nil && err != nil:
				t.Errorf("error %v, want none", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("error %v, want %v", err, tt.wantErr)
			case tt.wantText != "" && !strings.Contains(err.Error(), tt.wantText):
				t.Errorf("error %v does not say %q", err, tt.wantText)
			}
			var names []string
			for n := range got {
				names = append(names, n)
			}
			sort.Strings(names)
			if strings.Join(names, ",") != strings.Join(tt.wantObs, ",") {
				t.Errorf("observed %v, want %v", names, tt.wantObs)
			}
		})
	}
}

func TestCollectCanceled(t *testing.T) {
	h := openRoot(t, fixture(t, mergedUsr))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n := 0
	err := New().Collect(ctx, h, func(detect.Observation) { n++ })
	if !errors.Is(err, context.Canceled) || n != 0 {
		t.Errorf("%d observations, error %v; want none and context.Canceled", n, err)
	}
}

func TestIsUnitName(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"kesl.service", true},
		{"getty@.service", true},
		{"avahi-daemon.socket", true},
		{"apt-daily.timer", true},
		{"multi-user.target", true},
		{"kesl.service.d", false},
		{"multi-user.target.wants", false},
		{".service", false},
		{".hidden.service", false},
		{"README", false},
		{"kesl.service.dpkg-old", false},
	}
	for _, tt := range tests {
		if got := IsUnitName(tt.name); got != tt.want {
			t.Errorf("IsUnitName(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestTemplate(t *testing.T) {
	for in, want := range map[string]string{
		"getty@tty1.service":            "getty@.service",
		"systemd-fsck@dev-sda1.service": "systemd-fsck@.service",
		"getty@.service":                "",
		"kesl.service":                  "",
	} {
		if got := template(in); got != want {
			t.Errorf("template(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCollectLive lists this machine's units through the live host, as the
// agent does.
func TestCollectLive(t *testing.T) {
	h, err := host.Live(host.Linux)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/usr/lib/systemd/system"); err != nil {
		if _, err := os.Stat("/etc/init.d"); err != nil {
			t.Skip("no systemd units or init scripts on this machine")
		}
	}
	got, err := collect(t, h)
	if err != nil {
		t.Fatalf("live units: %v", err)
	}
	if len(got) == 0 {
		t.Fatal("no units on a machine that has unit directories")
	}
	// Every unit file on disk is reported, and every unit linked from a
	// .wants directory is reported enabled unless masked.
	for _, dir := range []string{"/etc/systemd/system", "/usr/lib/systemd/system"} {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if IsUnitName(e.Name()) && !e.IsDir() {
				if _, ok := got[e.Name()]; !ok {
					t.Errorf("%s/%s not reported", dir, e.Name())
				}
			}
		}
	}
	wants, _ := filepath.Glob("/etc/systemd/system/*.wants/*")
	for _, w := range wants {
		o, ok := got[filepath.Base(w)]
		if ok && !strings.Contains(o.Detail, "enabled") && !strings.Contains(o.Detail, "masked") {
			t.Errorf("%s is linked from %s but not reported enabled: %q", o.Name, w, o.Detail)
		}
	}
	// A definition reported installed with a program runs one that is
	// there; one whose program is missing runs one that is not.
	installed, missing := 0, 0
	for _, o := range got {
		_, statErr := os.Stat(o.Path)
		switch {
		case strings.Contains(o.Detail, "runs "+o.Path):
			installed++
			if o.Status != detect.Installed || statErr != nil {
				t.Errorf("%s: %s, %q, but stat %s: %v", o.Name, o.Status, o.Detail, o.Path, statErr)
			}
		case strings.Contains(o.Detail, "program missing"):
			missing++
			if o.Status != detect.Present || statErr == nil {
				t.Errorf("%s: %s, %q, but %s is there", o.Name, o.Status, o.Detail, o.Path)
			}
		}
	}
	if installed == 0 {
		t.Error("no unit on this machine runs a program that is there")
	}
	t.Logf("%d units and init scripts on this machine: %d run a program that is there, %d one that is missing", len(got), installed, missing)
}

// TestCollectBadFiles: a unit or script that cannot be read is reported,
// present, with a warning, and never blocks the scan: a named pipe is not
// opened, a file over 256 KiB is not read, a program behind a link loop
// cannot be looked up.
func TestCollectBadFiles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("named pipes")
	}
	dir := fixture(t, map[string]string{
		"usr/lib/systemd/system/huge.service":                      "file:[Service]\nExecStart=/usr/bin/x\n" + strings.Repeat("#", MaxFile),
		"usr/lib/systemd/system/loopy.service":                     "file:[Service]\nExecStart=/opt/loop/bin/agent\n",
		"etc/systemd/system/multi-user.target.wants/loopy.service": "link:/usr/lib/systemd/system/loopy.service",
		"opt/loop":                            "link:/opt/loop",
		"usr/lib/systemd/system/good.service": "file:[Service]\nExecStart=/usr/bin/good\n",
		"usr/bin/good":                        elf,
	})
	for _, fifo := range []string{"usr/lib/systemd/system/pipe.service", "etc/init.d/pipe"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, fifo)), 0o755); err != nil {
			t.Fatal(err)
		}
		mkfifo(t, filepath.Join(dir, fifo))
	}
	done := make(chan struct{})
	var got map[string]detect.Observation
	var err error
	go func() {
		defer close(done)
		got, err = collect(t, openRoot(t, dir))
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the scan hangs on a named pipe")
	}
	P := detect.Present
	check(t, got, []want{
		{"huge.service", P, "/usr/lib/systemd/system/huge.service", "usr/lib/systemd/system/huge.service", "huge.service (unreadable: larger than 256 KiB)"},
		{"pipe.service", P, "/usr/lib/systemd/system/pipe.service", "usr/lib/systemd/system/pipe.service", "pipe.service (unreadable: not a regular file)"},
		{"pipe", P, "/etc/init.d/pipe", "etc/init.d/pipe", "pipe (SysV init script, unreadable: not a regular file)"},
		// The program cannot be looked up: whether it is there is unknown,
		// so it is judged as if it named none — enabled, installed.
		{"loopy.service", detect.Installed, "/usr/lib/systemd/system/loopy.service", "usr/lib/systemd/system/loopy.service", "loopy.service (enabled)"},
		{"good.service", detect.Installed, "/usr/bin/good", "usr/lib/systemd/system/good.service", "good.service (runs /usr/bin/good)"},
	})
	if err == nil {
		t.Fatal("no warnings")
	}
	warned := leaves(err)
	if len(warned) != 4 {
		t.Errorf("%d warnings, want 4 (huge, two pipes, the loop): %v", len(warned), err)
	}
	for _, e := range warned {
		var item *detect.ItemError
		if !errors.As(e, &item) {
			t.Errorf("%v is not a per-item warning", e)
		}
	}
	for _, want := range []error{ErrTooLarge, errNotRegular, rootpath.ErrTooManyLinks} {
		if !errors.Is(err, want) {
			t.Errorf("error %v does not say %v", err, want)
		}
	}
}

// leaves flattens joined errors down to the ones that join nothing.
func leaves(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leaves(e)...)
		}
		return out
	}
	return []error{err}
}
