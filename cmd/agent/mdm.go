package main

// MDM outputs of `avscout status`: internal/status decides and writes
// them; this file reads what they are made from.

import (
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/avscout/avscout/internal/agent"
	"github.com/avscout/avscout/internal/config"
	"github.com/avscout/avscout/internal/status"
)

// runStatusMDM writes the status in an MDM format. Whatever goes wrong is
// told in that format on standard output, with the format's exit code:
// an MDM shows a script's stderr, at best, as a bare script error, and
// Intune counts any output there as one.
func runStatusMDM(format, cfgPath string, public bool, publicFile string, stdout io.Writer) int {
	in := status.Input{AgentVersion: version}
	if public {
		if publicFile == "" {
			publicFile = config.PublicStatusFile(runtime.GOOS)
		}
		in = readPublicStatus(publicFile, in)
	} else if eff, st, err := readServiceState(cfgPath); err != nil {
		in.Err = err
	} else {
		in.State, in.StaleAfter = st, eff.Config.Schedule.StaleAfter()
	}
	r := status.Evaluate(in, time.Now())
	_ = status.Write(stdout, format, r) // stdout is all the MDM reads: nowhere else to tell
	if format == status.FormatIntuneRemediation && !r.Healthy {
		return exitRestricted // "issue found": the remediation or alert runs
	}
	return exitOK
}

// readPublicStatus reads the published summary for `status --public`.
func readPublicStatus(path string, in status.Input) status.Input {
	if path == "" {
		in.Err = fmt.Errorf("--public: the service publishes no status summary on %s; run as root or SYSTEM instead", runtime.GOOS)
		return in
	}
	p, err := agent.ReadPublic(path)
	if err != nil {
		in.Err = fmt.Errorf("%w (is the avscout service running?)", err)
		return in
	}
	in.State = &agent.State{LastScan: p.LastScan}
	in.StaleAfter = time.Duration(p.StaleAfterSeconds) * time.Second
	return in
}
