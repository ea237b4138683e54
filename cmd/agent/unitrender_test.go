package main

import (
	"context"
	"strings"
	"testing"

	"howett.net/plist"
)

// The launchd daemon the macOS package installs is what `service unit`
// prints; it must be a valid plist that runs the agent's service loop.
// (The systemd rendering is compared with the service library's own in
// TestServiceInstallSystemdUnit.)
func TestServiceUnitLaunchd(t *testing.T) {
	var out, errOut strings.Builder
	path := "/opt/avscout/bin/avscout"
	if code := run(context.Background(), []string{"service", "unit", "--init", "launchd", "--path", path}, &out, &errOut); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var job struct {
		Label             string
		ProgramArguments  []string
		RunAtLoad         bool
		ProcessType       string
		StandardErrorPath string
	}
	if _, err := plist.Unmarshal([]byte(out.String()), &job); err != nil {
		t.Fatalf("not a plist: %v\n%s", err, out.String())
	}
	if job.Label != "io.avscout.agent" || strings.Join(job.ProgramArguments, " ") != path+" service run" || !job.RunAtLoad || job.ProcessType != "Background" {
		t.Errorf("job %+v", job)
	}
	if strings.Contains(out.String(), "{{") {
		t.Errorf("unrendered actions:\n%s", out.String())
	}
}

func TestServiceUnitUsage(t *testing.T) {
	for _, args := range [][]string{
		{"service", "unit"},
		{"service", "unit", "--init", "upstart", "--path", "/usr/bin/avscout"},
		{"service", "unit", "--init", "systemd"},
		{"service", "unit", "--init", "systemd", "--path", "relative/avscout"},
		{"service", "unit", "--init", "systemd", "--path", "/usr/bin/avscout", "extra"},
	} {
		var out, errOut strings.Builder
		if code := run(context.Background(), args, &out, &errOut); code != exitUsage || errOut.Len() == 0 || out.Len() != 0 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out.String(), errOut.String())
		}
	}
}

func TestRenderUnit(t *testing.T) {
	data := map[string]any{"Path": "/opt/my agent/avscout", "Name": `a<b>&"c'`, "Arguments": []string{"run", `say "hi"`}, "Empty": []string(nil), "Text": "x"}
	tests := []struct{ text, want, err string }{
		{"ExecStart={{Path | cmdEscape}}{{range Arguments}} {{. | cmd}}{{end}}\n", "ExecStart=/opt/my\\x20agent/avscout \"run\" \"say \\\"hi\\\"\"\n", ""},
		{"<string>{{Name | html}}</string>", "<string>a&lt;b&gt;&amp;&#34;c&#39;</string>", ""},
		{"a{{if Empty}}no{{range Empty}}{{.}}{{end}}{{end}}b{{if Text}}yes{{end}}", "abyes", ""},
		{"{{range Empty}}{{.}}{{end}}-", "-", ""},
		{"{{Missing}}", "", "no text value"},
		{"{{range Missing}}{{end}}", "", "unknown value"},
		{"{{Path | shout}}", "", "unknown function"},
		{"{{range Arguments}}x", "", "has no {{end}}"},
		{"x{{end}}", "", "unexpected {{end}}"},
		{"{{Path", "", "unclosed"},
	}
	for _, tt := range tests {
		got, err := renderUnit(tt.text, data)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: err %v, want %q", tt.text, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q: %q, %v; want %q", tt.text, got, err, tt.want)
		}
	}
}
