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

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/paths"
	"github.com/avscout/avscout/internal/host"
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
)

// fixture builds a root in a temporary directory. Values: "dir",
// "file:<content>", "link:<target>".
func fixture(t *testing.T, tree map[string]string) string {
	t.Helper()
	root := t.TempDir()
	names := make([]string, 0, len(tree))
	for name := range tree {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		spec := tree[name]
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case spec == "dir":
			err = os.MkdirAll(p, 0o755)
		case strings.HasPrefix(spec, "file:"):
			err = os.WriteFile(p, []byte(strings.TrimPrefix(spec, "file:")), 0o644)
		case strings.HasPrefix(spec, "link:"):
			err = os.Symlink(strings.TrimPrefix(spec, "link:"), p)
			if err != nil && runtime.GOOS == "windows" {
				t.Skipf("cannot make symbolic links here: %v", err)
			}
		default:
			t.Fatalf("bad fixture spec %q", spec)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func collect(t *testing.T, h *host.Host) (map[string]detect.Observation, error) {
	t.Helper()
	got := make(map[string]detect.Observation)
	err := New().Collect(context.Background(), h, func(o detect.Observation) {
		if _, dup := got[o.Name]; dup {
			t.Errorf("%s emitted twice", o.Name)
		}
		if o.Kind != detect.KindService || o.Status != detect.Present {
			t.Errorf("%s: kind %s status %s, want service present", o.Name, o.Kind, o.Status)
		}
		if o.Path != "/"+o.Location {
			t.Errorf("%s: path %q, location %q", o.Name, o.Path, o.Location)
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

// mergedUsr is a Debian 12 style root: /lib -> usr/lib, enable links with
// absolute targets, a masked unit, an override in /etc, a unit linked from
// /opt whose target is gone, and ordinary units as decoys.
var mergedUsr = map[string]string{
	"etc/os-release": "file:ID=debian\n",
	"lib":            "link:usr/lib",

	"usr/lib/systemd/system/kesl.service":               "file:" + keslUnit,
	"usr/lib/systemd/system/klnagent64.service":         "file:" + klnagentUnit,
	"usr/lib/systemd/system/clamav-daemon.service":      "file:" + clamdUnit,
	"usr/lib/systemd/system/falcon-sensor.service":      "file:" + falconUnit,
	"usr/lib/systemd/system/ssh.service":                "file:" + sshUnit,
	"usr/lib/systemd/system/avahi-daemon.service":       "file:" + avahiUnit,
	"usr/lib/systemd/system/avahi-daemon.socket":        "file:[Socket]\nListenStream=/run/avahi-daemon/socket\n",
	"usr/lib/systemd/system/getty@.service":             "file:[Service]\nExecStart=-/sbin/agetty %I\n",
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

	"etc/init.d/kesl":          "file:" + initScript,
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
	tests := []struct {
		name, location, detail string
	}{
		{"kesl.service", "usr/lib/systemd/system/kesl.service", "kesl.service (enabled)"},
		{"klnagent64.service", "usr/lib/systemd/system/klnagent64.service", "klnagent64.service (enabled)"},
		{"clamav-daemon.service", "etc/systemd/system/clamav-daemon.service", "clamav-daemon.service"},
		{"falcon-sensor.service", "etc/systemd/system/falcon-sensor.service", "falcon-sensor.service (masked)"},
		{"kesl-old.service", "etc/systemd/system/kesl-old.service",
			"kesl-old.service (link to /opt/kaspersky/kesl/lib/systemd/kesl-old.service, broken)"},
		{"kladminserver_srv.service", "usr/local/lib/systemd/system/kladminserver_srv.service", "kladminserver_srv.service"},
		{"ssh.service", "usr/lib/systemd/system/ssh.service", "ssh.service (enabled)"},
		{"sshd.service", "etc/systemd/system/sshd.service", "sshd.service (link to /lib/systemd/system/ssh.service)"},
		{"avahi-daemon.service", "usr/lib/systemd/system/avahi-daemon.service", "avahi-daemon.service"},
		{"avahi-daemon.socket", "usr/lib/systemd/system/avahi-daemon.socket", "avahi-daemon.socket (enabled)"},
		{"dbus-org.freedesktop.Avahi.service", "etc/systemd/system/dbus-org.freedesktop.Avahi.service",
			"dbus-org.freedesktop.Avahi.service (link to /lib/systemd/system/avahi-daemon.service)"},
		{"getty@.service", "usr/lib/systemd/system/getty@.service", "getty@.service (enabled)"},
		{"multi-user.target", "usr/lib/systemd/system/multi-user.target", "multi-user.target"},
		{"session-1.scope", "run/systemd/system/session-1.scope", "session-1.scope"},
		{"kesl", "etc/init.d/kesl", "kesl (SysV init script, enabled)"},
		{"ssh", "etc/init.d/ssh", "ssh (SysV init script)"},
		{"klnagent64", "etc/init.d/klnagent64",
			"klnagent64 (SysV init script, link to /opt/kaspersky/klnagent64/lib/bin/klnagent64.init, broken)"},
	}
	for _, tt := range tests {
		o, ok := got[tt.name]
		if !ok {
			t.Errorf("%s: not reported", tt.name)
			continue
		}
		delete(got, tt.name)
		if o.Location != tt.location || o.Detail != tt.detail {
			t.Errorf("%s:\n got location %q detail %q\nwant location %q detail %q",
				tt.name, o.Location, o.Detail, tt.location, tt.detail)
		}
	}
	for name, o := range got {
		t.Errorf("unexpected observation %s: %+v", name, o)
	}
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
		"etc/init.d":                   "link:rc.d/init.d",
		"etc/rc.d/init.d/klnagent64":   "file:" + initScript,
		"etc/rc.d/init.d/functions":    "file:# sourced by scripts\n",
		"etc/rc3.d":                    "link:rc.d/rc3.d",
		"etc/rc.d/rc3.d/S99klnagent64": "link:../init.d/klnagent64",
	})))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"kesl.service":          "/lib/systemd/system/kesl.service",
		"ssh.service":           "/usr/lib/systemd/system/ssh.service",
		"clamav-daemon.service": "/usr/lib/systemd/system/clamav-daemon.service",
		"klnagent64":            "/etc/init.d/klnagent64",
	}
	for name, p := range want {
		if got[name].Path != p {
			t.Errorf("%s: path %q, want %q", name, got[name].Path, p)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d observations, want %d: %v", len(got), len(want), got)
	}
	if d := got["klnagent64"].Detail; d != "klnagent64 (SysV init script, enabled)" {
		t.Errorf("klnagent64 detail %q", d)
	}
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
		{name: "not linux", os: host.Windows, tree: map[string]string{"lib/systemd/system/kesl.service": "file:"},
			wantErr: detect.ErrUnavailable, wantText: `"windows"`},
		{name: "empty root", os: host.Linux, tree: map[string]string{"etc/os-release": "file:"},
			wantErr: detect.ErrUnavailable, wantText: "no systemd unit directory"},
		{name: "init.d only", os: host.Linux, tree: map[string]string{"etc/init.d/kesl": "file:" + initScript},
			wantObs: []string{"kesl"}},
		{name: "a file where a unit directory should be", os: host.Linux, tree: map[string]string{
			"etc/systemd/system":                  "file:oops",
			"usr/lib/systemd/system/kesl.service": "file:" + keslUnit,
		}, wantErr: paths.ErrNotDir, wantText: "etc/systemd/system", wantObs: []string{"kesl.service"}},
		{name: "unit directory is a dangling link", os: host.Linux, tree: map[string]string{
			"lib":                                 "link:/usr/lib64",
			"usr/lib/systemd/system/kesl.service": "file:" + keslUnit,
		}, wantObs: []string{"kesl.service"}},
		{name: "unit directory link loop", os: host.Linux, tree: map[string]string{
			"run/systemd/system":                  "link:/run/systemd/system",
			"usr/lib/systemd/system/kesl.service": "file:" + keslUnit,
		}, wantErr: paths.ErrTooManyLinks, wantText: "run/systemd/system", wantObs: []string{"kesl.service"}},
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
	t.Logf("%d units and init scripts on this machine", len(got))
}
