package main

import (
	"context"
	"strings"
	"testing"

	"howett.net/plist"
)

// The launchd daemon the macOS package installs is what `service unit`
// prints; it must be a valid plist that runs the agent's service loop.
// (The systemd unit `service unit` prints is compared with the one
// `service install` writes in TestServiceInstallSystemdUnit.)
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
