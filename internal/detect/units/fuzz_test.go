package units

import (
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

func FuzzParseUnit(f *testing.F) {
	for _, s := range []string{keslUnit, klnagentUnit, clamdUnit, sshUnit, avahiUnit, "", "[Service]\nExecStart=\\", "[Service]\nExecStart=\"",
		"[Service]\nExecStart=@", "[Service]\nExecStart=-@:+!|", "[Service\nExecStart=/x\n", "[Service]\nExecStart=/a \\\n\\\n\\\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		u, err := ParseUnit(strings.NewReader(string(data)))
		if err != nil {
			if len(data) <= MaxFile {
				t.Fatalf("error on %d bytes: %v", len(data), err)
			}
			return
		}
		if len(u.ExecStart) > 0 && strings.TrimLeft(u.ExecStart[0], execPrefixes) != u.ExecStart[0] && !strings.HasPrefix(u.ExecStart[0], "\\") {
			// A prefix character left on the program can only come from an
			// escaped or quoted one.
			if !strings.ContainsAny(string(data), "\"'\\") {
				t.Fatalf("prefix left on program %q", u.ExecStart[0])
			}
		}
		p := ExecProgram(u.ExecStart)
		if p != "" && unexpanded(p) {
			t.Fatalf("program %q holds an expansion", p)
		}
	})
}

func FuzzParseInitScript(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "init", "*"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{"", "DAEMON=$DAEMON", "A=$B\nB=$A\nDAEMON=$A/x", "X=${X:-${X:-${X}}}", "cat <<EOF\n", "`", "$(", "\"", "'",
		"DAEMON=/opt/x\\\n", "${", "$", "start-stop-daemon --exec", "daemon", "su -c \"sh -c 'exec /opt/x'\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseInitScript(strings.NewReader(string(data)))
		if err != nil {
			if len(data) <= MaxFile {
				t.Fatalf("error on %d bytes: %v", len(data), err)
			}
			return
		}
		if len(s.Programs) > maxCandidates || len(s.Others) > maxCandidates {
			t.Fatalf("%d programs, %d others", len(s.Programs), len(s.Others))
		}
		for _, p := range append(append([]string(nil), s.Programs...), s.Others...) {
			if !strings.HasPrefix(p, "/") || path.Clean(p) != p || unexpanded(p) || baseSystem(p) || strings.ContainsAny(p, " \t") {
				t.Fatalf("bad candidate %q", p)
			}
		}
		for _, o := range s.Others {
			if contains(s.Programs, o) {
				t.Fatalf("%q both a program and another path", o)
			}
		}
	})
}
