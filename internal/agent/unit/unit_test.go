package unit

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"howett.net/plist"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The rendered unit files are what packages install and `service install`
// writes: a change to them shows in the golden files' diff.
func TestRenderGolden(t *testing.T) {
	tests := []struct {
		golden     string
		init       Init
		goos       string
		path       string
		configPath string
	}{
		{"systemd.service", Systemd, "linux", "/usr/bin/avscout", ""},
		{"systemd-config.service", Systemd, "linux", "/opt/my agent/avscout", `/etc/avscout/a "b".yaml`},
		{"launchd.plist", Launchd, "darwin", "/usr/local/bin/avscout", ""},
		{"launchd-config.plist", Launchd, "darwin", "/Library/avscout & co/avscout", "/Library/Application Support/avscout/<config>.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			got, err := Render(tt.init, For(tt.goos, tt.configPath), tt.path)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join("testdata", tt.golden)
			if *update {
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if got != string(want) {
				t.Errorf("rendered %s differs from %s (run with -update if intended):\n%s", tt.init, file, got)
			}
			if strings.Contains(got, "{{") {
				t.Errorf("unrendered actions:\n%s", got)
			}
		})
	}
}

// The launchd job must parse as a plist and run the agent's service loop
// with the configured file, whatever characters the paths hold.
func TestLaunchdPlistParses(t *testing.T) {
	for _, cfg := range []string{"", "/Library/Application Support/avscout/<a & b>.yaml"} {
		path := "/opt/avscout's/bin/avscout"
		out, err := Render(Launchd, For("darwin", cfg), path)
		if err != nil {
			t.Fatal(err)
		}
		var job struct {
			Label            string
			ProgramArguments []string
			RunAtLoad        bool
			ProcessType      string
		}
		if _, err := plist.Unmarshal([]byte(out), &job); err != nil {
			t.Fatalf("not a plist: %v\n%s", err, out)
		}
		want := []string{path, "service", "run"}
		if cfg != "" {
			want = append(want, "--config", cfg)
		}
		if job.Label != "io.avscout.agent" || strings.Join(job.ProgramArguments, "\x00") != strings.Join(want, "\x00") || !job.RunAtLoad || job.ProcessType != "Background" {
			t.Errorf("config %q: job %+v", cfg, job)
		}
	}
}

func TestFor(t *testing.T) {
	tests := []struct {
		goos, config string
		name         string
		args         []string
	}{
		{"linux", "", "avscout", []string{"service", "run"}},
		{"linux", "/etc/a.yaml", "avscout", []string{"service", "run", "--config", "/etc/a.yaml"}},
		{"darwin", "", "io.avscout.agent", []string{"service", "run"}},
		// The SCM's start is not detectable under Wine: --scm says it.
		{"windows", "", "avscout", []string{"service", "run", "--scm"}},
		{"windows", `C:\a.yaml`, "avscout", []string{"service", "run", "--config", `C:\a.yaml`, "--scm"}},
	}
	for _, tt := range tests {
		s := For(tt.goos, tt.config)
		if s.Name != tt.name || strings.Join(s.Arguments, " ") != strings.Join(tt.args, " ") || s.Description == "" || s.DisplayName == "" {
			t.Errorf("For(%s, %q) = %+v, want name %s, arguments %q", tt.goos, tt.config, s, tt.name, tt.args)
		}
	}
}

func TestParseInit(t *testing.T) {
	for in, want := range map[string]Init{"systemd": Systemd, "launchd": Launchd, "upstart": "", "": "", "Systemd": ""} {
		got, err := ParseInit(in)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("ParseInit(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := Render("upstart", For("linux", ""), "/usr/bin/avscout"); err == nil {
		t.Error("Render of an unknown init system: no error")
	}
}

func TestPaths(t *testing.T) {
	if p := Paths("linux", "avscout"); len(p) != 3 || p[0] != "/etc/systemd/system/avscout.service" {
		t.Errorf("linux: %q", p)
	}
	if p := Paths("darwin", Name("darwin")); len(p) != 1 || p[0] != "/Library/LaunchDaemons/io.avscout.agent.plist" {
		t.Errorf("darwin: %q", p)
	}
	if p := Paths("windows", "avscout"); p != nil {
		t.Errorf("windows: %q, want none (the SCM keeps services)", p)
	}
}
