package main

import (
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"path/filepath"
	"slices"
	"time"

	"github.com/avscout/avscout/internal/agent"
	"github.com/avscout/avscout/internal/agentkey"
	"github.com/avscout/avscout/internal/config"
	"github.com/avscout/avscout/internal/spool"
	"github.com/avscout/avscout/internal/status"
)

// runStatus handles `avscout status`: it answers at once from the files
// the service keeps, for people (table), scripts (json) and MDM checks
// (intune-remediation, intune-compliance, jamf: see mdm.go). The rules and
// the outputs are internal/status's.
func runStatus(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("status")
	cfgPath := fs.String("config", "", "config `FILE` (default: the OS's standard path)")
	format := fs.String("format", "table", "output format: table, json, intune-remediation, intune-compliance or jamf")
	public := fs.Bool("public", false, "with an MDM format: read the world-readable summary the Linux service publishes, not the config and state (for checks that run unprivileged)")
	publicFile := fs.String("public-file", "", "with --public: the summary `FILE` (default "+config.PublicStatusFile("linux")+" on Linux)")
	if code, ok := parseFlags(fs, "Shows the last scan, its result, queued reports and the last delivery, from the files the service keeps; does not scan.", args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "avscout status: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if !slices.Contains(status.Formats(), *format) {
		fmt.Fprintf(stderr, "avscout status: unknown --format %q (want table, json, %s, %s or %s)\n",
			*format, status.FormatIntuneRemediation, status.FormatIntuneCompliance, status.FormatJamf)
		return exitUsage
	}
	if (*public || *publicFile != "") && !status.IsMDM(*format) {
		fmt.Fprintf(stderr, "avscout status: --public goes with an MDM format (%s, %s, %s)\n",
			status.FormatIntuneRemediation, status.FormatIntuneCompliance, status.FormatJamf)
		return exitUsage
	}
	if status.IsMDM(*format) {
		return runStatusMDM(*format, *cfgPath, *public || *publicFile != "", *publicFile, stdout)
	}
	eff, st, err := readServiceState(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "avscout status: %v\n", err)
		return exitUsage
	}
	dir := eff.Config.StateDir
	in := status.Input{StateDir: dir, State: st, AgentVersion: version}
	var key *agentkey.Key
	if key, in.KeyErr = agentkey.Load(filepath.Join(dir, agentkey.FileName)); in.KeyErr == nil {
		in.KeyFingerprint = key.Fingerprint()
	}
	if qs, err := spool.Inspect(filepath.Join(dir, agent.SpoolDirName)); err == nil {
		in.Queue = &qs
	} else if !errors.Is(err, iofs.ErrNotExist) {
		fmt.Fprintf(stderr, "avscout status: %v\n", err)
	}
	r := status.Evaluate(in, time.Now())
	if err := status.Write(stdout, *format, r); err != nil {
		fmt.Fprintf(stderr, "avscout status: %v\n", err)
		return exitUsage
	}
	if r.Scan == nil {
		return exitNotRunning
	}
	return exitOK
}

// readServiceState loads the config and reads the state the service keeps
// in its state folder; st is nil when the service has not written it yet.
func readServiceState(cfgPath string) (eff *config.Effective, st *agent.State, err error) {
	eff, err = loadConfig(cfgPath, cfgPath != "")
	if err != nil {
		return nil, nil, err
	}
	st, err = agent.ReadState(filepath.Join(eff.Config.StateDir, agent.StateFileName))
	if errors.Is(err, iofs.ErrNotExist) {
		return eff, nil, nil
	}
	return eff, st, err
}

// runConfig handles `avscout config show`.
func runConfig(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "show" {
		fmt.Fprintln(stderr, "avscout config: want show")
		return exitUsage
	}
	fs := newFlags("config show")
	cfgPath := fs.String("config", "", "config `FILE` (default: the OS's standard path)")
	if code, ok := parseFlags(fs, "Prints the effective config: the file merged with managed settings, and where each value came from.", args[1:], stdout, stderr); !ok {
		return code
	}
	eff, err := loadConfig(*cfgPath, *cfgPath != "")
	if err != nil {
		fmt.Fprintf(stderr, "avscout config show: %v\n", err)
		return exitUsage
	}
	if err := eff.Show(stdout); err != nil {
		fmt.Fprintf(stderr, "avscout config show: %v\n", err)
		return exitUsage
	}
	return exitOK
}
