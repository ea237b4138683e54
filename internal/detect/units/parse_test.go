package units

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseUnit(t *testing.T) {
	tests := []struct {
		name string
		unit string
		want []string
	}{
		{"simple", klnagentUnit, []string{"/opt/kaspersky/klnagent64/sbin/klnagent", "-d"}},
		{"no service section", "[Unit]\nDescription=Multi-User System\n", nil},
		{"socket unit", "[Socket]\nListenStream=/run/avahi-daemon/socket\n", nil},
		{"prefixes", "[Service]\nExecStart=-/sbin/agetty -o '-p -- \\\\u' --noclear - $TERM\n", []string{"/sbin/agetty", "-o", `-p -- \u`, "--noclear", "-", "$TERM"}},
		{"all prefixes", "[Service]\nExecStart=+!!-:/usr/bin/install -d /var/cache/man\n", []string{"/usr/bin/install", "-d", "/var/cache/man"}},
		{"argv0", "[Service]\nExecStart=@/lib/systemd/system-generators/systemd-fstab-generator systemd-sysroot-fstab-check\n",
			[]string{"/lib/systemd/system-generators/systemd-fstab-generator"}},
		{"argv0 with arguments", "[Service]\nExecStart=@/usr/sbin/daemon mydaemon --foreground\n", []string{"/usr/sbin/daemon", "--foreground"}},
		{"quoted program", "[Service]\nExecStart=\"/opt/Vendor Agent/bin/agent\" --run\n", []string{"/opt/Vendor Agent/bin/agent", "--run"}},
		{"bare name", "[Service]\nExecStart=systemctl --no-block start getty@tty2.service\n", []string{"systemctl", "--no-block", "start", "getty@tty2.service"}},
		{"continued line", "[Service]\nExecStart=/opt/kaspersky/kesl/libexec/kesl \\\n  --daemon \\\n# a comment inside\n  --foreground\n",
			[]string{"/opt/kaspersky/kesl/libexec/kesl", "--daemon", "--foreground"}},
		{"first of several (oneshot)", "[Service]\nType=oneshot\nExecStart=/usr/bin/a\nExecStart=/usr/bin/b\n", []string{"/usr/bin/a"}},
		{"reset", "[Service]\nExecStart=/usr/bin/old\nExecStart=\nExecStart=/usr/bin/new\n", []string{"/usr/bin/new"}},
		// systemd takes prefixes off the first word; prefixes alone leave an
		// empty path, and it ignores the line (found by FuzzParseUnit).
		{"prefixes alone", "[Service]\nExecStart=!      !000\n", nil},
		{"prefixes alone, then a line", "[Service]\nExecStart=- /usr/bin/ignored\nExecStart=/usr/bin/next\n", []string{"/usr/bin/next"}},
		{"reset to nothing", "[Service]\nExecStart=/usr/bin/old\nExecStart=\n", nil},
		{"other section", "[Unit]\nExecStart=/not/this\n[Service]\nExecStartPre=/usr/bin/pre\nExecStart=/usr/bin/this\n", []string{"/usr/bin/this"}},
		{"comments and spacing", "# comment\n; comment\n[Service]\n  ExecStart = /usr/sbin/clamd --foreground=true\n", []string{"/usr/sbin/clamd", "--foreground=true"}},
		{"CRLF", "[Service]\r\nExecStart=/usr/sbin/sshd -D\r\n", []string{"/usr/sbin/sshd", "-D"}},
		{"binary garbage", "\x00\x01\x02[Serv\xff", nil},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := ParseUnit(strings.NewReader(tt.unit))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(u.ExecStart, tt.want) {
				t.Errorf("ExecStart = %q, want %q", u.ExecStart, tt.want)
			}
		})
	}
}

func TestParseTooLarge(t *testing.T) {
	big := "[Service]\nExecStart=/usr/bin/x\n" + strings.Repeat("#", MaxFile)
	if _, err := ParseUnit(strings.NewReader(big)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("unit: %v, want ErrTooLarge", err)
	}
	if _, err := ParseInitScript(strings.NewReader(big)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("script: %v, want ErrTooLarge", err)
	}
	// One long line within the bound is read, not an error.
	long := "[Service]\nDescription=" + strings.Repeat("x", MaxFile-100) + "\nExecStart=/usr/bin/x\n"
	if u, err := ParseUnit(strings.NewReader(long)); err != nil || len(u.ExecStart) != 1 {
		t.Errorf("long line: %v, %v", u.ExecStart, err)
	}
}

func TestExecProgram(t *testing.T) {
	tests := []struct {
		argv []string
		want string
	}{
		{[]string{"/opt/kaspersky/kesl/libexec/kesl_launcher.sh"}, "/opt/kaspersky/kesl/libexec/kesl_launcher.sh"},
		{[]string{"/usr/sbin/sshd", "-D", "$SSHD_OPTS"}, "/usr/sbin/sshd"},
		{[]string{"systemctl", "--no-block"}, "systemctl"},
		{[]string{"/bin/sh", "-c", "exec /opt/vendor/bin/agent --foreground"}, "/opt/vendor/bin/agent"},
		{[]string{"/usr/bin/env", "LANG=C", "/opt/vendor/bin/agent"}, "/opt/vendor/bin/agent"},
		{[]string{"/usr/bin/nice", "-n", "10", "/usr/bin/ionice", "-c3", "/opt/vendor/bin/scan"}, "/opt/vendor/bin/scan"},
		{[]string{"/bin/bash"}, ""},
		{[]string{"/bin/sh", "-c", "exec agent"}, ""},
		{[]string{"/bin/sh", "-c", "$AGENT_HOME/bin/agent"}, ""},
		{[]string{"/usr/bin/pg_backupcluster", "%i", "dump"}, "/usr/bin/pg_backupcluster"},
		{[]string{"${AGENT}"}, ""},
		{[]string{"/opt/%i/agent"}, ""},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := ExecProgram(tt.argv); got != tt.want {
			t.Errorf("ExecProgram(%q) = %q, want %q", tt.argv, got, tt.want)
		}
	}
}

func TestParseInitScriptFixtures(t *testing.T) {
	tests := []struct {
		file     string
		openrc   bool
		programs []string
		others   []string
	}{
		{"klnagent64.lsb", false, []string{"/opt/kaspersky/klnagent64/sbin/klnagent"}, nil},
		{"klnagent64.openrc", true, []string{"/opt/kaspersky/klnagent64/sbin/klnagent"}, []string{"/var/opt/kaspersky/klnagent"}},
		{"kav4fs.redhat", false, []string{"/opt/kaspersky/kav4fs/libexec/kav4fs-supervisor"}, []string{"/opt/kaspersky/kav4fs/bin/kav4fs-control"}},
		{"kesl.sysv", false, []string{"/opt/kaspersky/kesl/libexec/kesl_launcher.sh", "/opt/kaspersky/kesl/bin/kesl-control"}, nil},
		{"only-variables.sysv", false, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", "init", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			s, err := ParseInitScript(f)
			if err != nil {
				t.Fatal(err)
			}
			if s.OpenRC != tt.openrc || !reflect.DeepEqual(s.Programs, tt.programs) || !reflect.DeepEqual(s.Others, tt.others) {
				t.Errorf("got OpenRC %v programs %q others %q\nwant OpenRC %v programs %q others %q",
					s.OpenRC, s.Programs, s.Others, tt.openrc, tt.programs, tt.others)
			}
		})
	}
}

// TestParseInitScript: the shell forms scripts name their programs in.
func TestParseInitScript(t *testing.T) {
	tests := []struct {
		name     string
		script   string
		programs []string
		others   []string
	}{
		{"Debian's own dbus script (Debian 12)", "#!/bin/sh\nset -e\nDAEMON=/usr/bin/dbus-daemon\nUUIDGEN=/usr/bin/dbus-uuidgen\n" +
			"PIDDIR=/var/run/dbus\nPIDFILE=$PIDDIR/pid\ntest -x $DAEMON || exit 0\n. /lib/lsb/init-functions\n" +
			"if [ -x $UUIDGEN ]; then\n  $UUIDGEN --ensure\nfi\n",
			[]string{"/usr/bin/dbus-daemon"}, []string{"/usr/bin/dbus-uuidgen"}},
		{"default value", "DAEMON=${DAEMON:-/opt/vendor/sbin/agentd}\nstart-stop-daemon --start --exec $DAEMON\n",
			[]string{"/opt/vendor/sbin/agentd"}, nil},
		{"braced nesting", "PREFIX=/opt/vendor\nBINDIR=${PREFIX}/bin\nAGENT_BIN=\"${BINDIR}/agent\"\n",
			[]string{"/opt/vendor/bin/agent"}, nil},
		{"export and readonly", "readonly KLNAGENT_BIN=/opt/kaspersky/klnagent64/sbin/klnagent\nexport X=1\n",
			[]string{"/opt/kaspersky/klnagent64/sbin/klnagent"}, nil},
		{"start-stop-daemon forms", "start-stop-daemon --start -x /opt/a/bin/a\nstart-stop-daemon --start --startas=/opt/b/bin/b\n",
			[]string{"/opt/a/bin/a", "/opt/b/bin/b"}, nil},
		{"exec and su wrappers", "exec /opt/vendor/bin/agent \"$@\"\n", []string{"/opt/vendor/bin/agent"}, nil},
		{"su -c", "su -s /bin/sh -c \"/opt/vendor/bin/agent -d\" agentuser\n", []string{"/opt/vendor/bin/agent"}, nil},
		{"command substitution", "PID=$(/opt/vendor/bin/agentctl pid)\n", []string{"/opt/vendor/bin/agentctl"}, nil},
		{"backticks", "VERSION=`/opt/vendor/bin/agent --version`\n", []string{"/opt/vendor/bin/agent"}, nil},
		{"redirections are not programs", "/opt/vendor/bin/agent >/opt/vendor/log/out 2>&1 </dev/null\n",
			[]string{"/opt/vendor/bin/agent"}, nil},
		{"comments", "# DAEMON=/opt/old/bin/agent\n/opt/vendor/bin/agent # run /opt/other\n", []string{"/opt/vendor/bin/agent"}, nil},
		{"here-document text", "cat <<EOF >/etc/vendor.conf\n/opt/not/a/program\nEOF\n/opt/vendor/bin/agent\n",
			[]string{"/opt/vendor/bin/agent"}, nil},
		{"PATH and config are not programs", "PATH=/sbin:/usr/sbin:/bin:/usr/bin\nCONFIG=/etc/vendor/agent.conf\n. /etc/default/agent\n", nil, nil},
		{"unknown variable", "DAEMON=$AGENT_HOME/bin/agent\n", nil, nil},
		{"glob", "for f in /opt/vendor/plugins/*.sh; do . $f; done\n", nil, nil},
		{"base system only", "/bin/mkdir -p /var/run/agent\n/sbin/start-stop-daemon --stop --name agent\n/bin/kill 1\n", nil, nil},
		{"utilities among arguments", "[ -d /opt/vendor/data ] && /bin/chown -R agent /opt/vendor/data\n",
			nil, []string{"/opt/vendor/data"}},
		{"empty", "", nil, nil},
		{"binary", "\x7fELF\x02\x01\x01\x00\x00", nil, nil},
		{"unterminated quote", "DAEMON=\"/opt/vendor/bin/agent\n", []string{"/opt/vendor/bin/agent"}, nil},
		{"self reference", "A=$A/x\nDAEMON=$A\n", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseInitScript(strings.NewReader(tt.script))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(s.Programs, tt.programs) || !reflect.DeepEqual(s.Others, tt.others) {
				t.Errorf("programs %q others %q\nwant programs %q others %q", s.Programs, s.Others, tt.programs, tt.others)
			}
		})
	}
}

// Scripts built to make a parser slow or large come out in bounded time
// with nothing expanded past the bounds.
func TestParseInitScriptHostile(t *testing.T) {
	refs := strings.Repeat("$B", 1000)
	for _, tt := range []struct{ name, script string }{
		{"exponential references", "D=/x\nC=" + strings.Repeat("$D", 1000) + "\nB=" + strings.Repeat("$C", 1000) + "\nDAEMON=" + refs + "\n" +
			strings.Repeat("$DAEMON $DAEMON $DAEMON\n", 5000)},
		{"many commands", strings.Repeat("/opt/a/b; /opt/c/d | /opt/e/f & ", 8000)},
		{"deep nesting", strings.Repeat("$(", 50000)},
		{"many variables", func() string {
			var b strings.Builder
			for i := range 10000 {
				b.WriteString("V" + strings.Repeat("x", i%50) + "=/opt/v/" + strings.Repeat("y", i%20) + "\n")
			}
			return b.String()
		}()},
		{"one long line", "DAEMON=/opt/" + strings.Repeat("a", MaxFile-100)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.script) > MaxFile {
				tt.script = tt.script[:MaxFile]
			}
			start := time.Now()
			s, err := ParseInitScript(strings.NewReader(tt.script))
			if err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
			if len(s.Programs) > maxCandidates || len(s.Others) > maxCandidates {
				t.Errorf("%d programs, %d others", len(s.Programs), len(s.Others))
			}
			for _, p := range s.Programs {
				if len(p) > maxPath {
					t.Errorf("a program of %d bytes", len(p))
				}
			}
		})
	}
}
