package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/avscout/avscout/internal/agent"
	"github.com/avscout/avscout/internal/agentkey"
	"github.com/avscout/avscout/internal/config"
	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/spool"
)

// statusDoc is `avscout status --format json`: the service's state file
// and the spool's counts, read without scanning.
type statusDoc struct {
	StateDir     string               `json:"state_dir"`
	StartedAt    *time.Time           `json:"started_at,omitempty"`
	LastScan     *agent.ScanState     `json:"last_scan"`
	NextScan     *time.Time           `json:"next_scan,omitempty"`
	Queue        queueDoc             `json:"queue"`
	LastDelivery *agent.DeliveryState `json:"last_delivery"`
	AgentKey     keyDoc               `json:"agent_key"`
}

// keyDoc is the agent's key as status shows it, for an administrator to
// compare with the key the collector pinned for this host.
type keyDoc struct {
	Fingerprint string `json:"fingerprint,omitempty"` // SHA256:<base64>, as the collector shows it
	Error       string `json:"error,omitempty"`       // missing (made at the first delivery) or unusable
}

// readKey describes the key in the state directory, without making one.
func readKey(stateDir string) keyDoc {
	k, err := agentkey.Load(filepath.Join(stateDir, agentkey.FileName))
	switch {
	case errors.Is(err, iofs.ErrNotExist):
		return keyDoc{Error: "none yet (the service makes it when it first delivers)"}
	case err != nil:
		return keyDoc{Error: err.Error()}
	}
	return keyDoc{Fingerprint: k.Fingerprint()}
}

type queueDoc struct {
	Reports     int   `json:"reports"`
	Bytes       int64 `json:"bytes"`
	DeadLetters int   `json:"dead_letters"`
	Dropped     int64 `json:"dropped"`
}

// runStatus handles `avscout status`: it answers at once from the files
// the service keeps, for people (table), scripts (json) and MDM checks
// (intune-remediation, intune-compliance, jamf: see mdm.go).
func runStatus(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("status")
	cfgPath := fs.String("config", "", "config `FILE` (default: the OS's standard path)")
	format := fs.String("format", "table", "output format: table, json, intune-remediation, intune-compliance or jamf")
	public := fs.Bool("public", false, "with an MDM format: read the world-readable summary the Linux service publishes, not the config and state (for checks that run unprivileged)")
	publicFile := fs.String("public-file", "", "with --public: the summary `FILE` (default "+publicStatusFile("linux")+" on Linux)")
	if code, ok := parseFlags(fs, "Shows the last scan, its result, queued reports and the last delivery, from the files the service keeps; does not scan.", args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "avscout status: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if *format != "table" && *format != "json" && !isMDMFormat(*format) {
		fmt.Fprintf(stderr, "avscout status: unknown --format %q (want table, json, %s, %s or %s)\n",
			*format, formatIntuneRemediation, formatIntuneCompliance, formatJamf)
		return exitUsage
	}
	if (*public || *publicFile != "") && !isMDMFormat(*format) {
		fmt.Fprintf(stderr, "avscout status: --public goes with an MDM format (%s, %s, %s)\n",
			formatIntuneRemediation, formatIntuneCompliance, formatJamf)
		return exitUsage
	}
	if isMDMFormat(*format) {
		return runStatusMDM(*format, *cfgPath, *public || *publicFile != "", *publicFile, stdout)
	}
	eff, st, err := readServiceState(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "avscout status: %v\n", err)
		return exitUsage
	}
	dir := eff.Config.StateDir
	doc := statusDoc{StateDir: dir}
	if st != nil { // nil: not run yet; say so, in the requested format
		doc.LastScan, doc.LastDelivery = st.LastScan, st.LastDelivery
		if ls := doc.LastScan; ls != nil && ls.Verdict == "" {
			// A state an older agent wrote: derive the verdict, and say
			// compliant only for a compliant one.
			if ls.Verdict = ls.VerdictOf(); ls.Verdict != "" {
				ls.Compliant = ls.Verdict == report.VerdictCompliant
			}
		}
		if !st.StartedAt.IsZero() {
			doc.StartedAt = &st.StartedAt
		}
		if !st.NextScan.IsZero() {
			doc.NextScan = &st.NextScan
		}
	}
	doc.AgentKey = readKey(dir)
	if qs, err := spool.Inspect(filepath.Join(dir, spoolDirName)); err == nil {
		doc.Queue = queueDoc{Reports: qs.Queued, Bytes: qs.Bytes, DeadLetters: qs.DeadLetters, Dropped: qs.Dropped}
	} else if !errors.Is(err, iofs.ErrNotExist) {
		fmt.Fprintf(stderr, "avscout status: %v\n", err)
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(doc); err != nil {
			fmt.Fprintf(stderr, "avscout status: %v\n", err)
			return exitUsage
		}
	} else {
		writeStatusTable(stdout, doc, time.Now())
	}
	if doc.LastScan == nil {
		return exitNotRunning
	}
	return exitOK
}

// runStatusMDM writes the status in an MDM format. Whatever goes wrong is
// told in that format on standard output, with the format's exit code:
// an MDM shows a script's stderr, at best, as a bare script error.
func runStatusMDM(format, cfgPath string, public bool, publicFile string, stdout io.Writer) int {
	now := time.Now()
	if public {
		if publicFile == "" {
			publicFile = publicStatusFile(runtime.GOOS)
		}
		return writeMDM(stdout, format, readPublicStatus(publicFile, now))
	}
	eff, st, err := readServiceState(cfgPath)
	if err != nil {
		return writeMDM(stdout, format, mdmState{err: err, now: now})
	}
	return writeMDM(stdout, format, mdmStateOf(st, staleAfter(eff.Config.Schedule), now))
}

// readServiceState loads the config and reads the state the service keeps
// in its state folder; st is nil when the service has not written it yet.
func readServiceState(cfgPath string) (eff *config.Effective, st *agent.State, err error) {
	eff, err = loadConfig(cfgPath, cfgPath != "")
	if err != nil {
		return nil, nil, err
	}
	st, err = agent.ReadState(filepath.Join(eff.Config.StateDir, stateFileName))
	if errors.Is(err, iofs.ErrNotExist) {
		return eff, nil, nil
	}
	return eff, st, err
}

func writeStatusTable(w io.Writer, d statusDoc, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	when := func(t time.Time) string {
		ago := now.Sub(t).Round(time.Second)
		if ago < 0 {
			return fmt.Sprintf("%s (in %s)", t.Format(time.RFC3339), (-ago).String())
		}
		return fmt.Sprintf("%s (%s ago)", t.Format(time.RFC3339), ago)
	}
	fmt.Fprintf(tw, "State directory:\t%s\n", d.StateDir)
	if s := d.LastScan; s == nil {
		fmt.Fprintf(tw, "Last scan:\tnone recorded (the service has not scanned yet)\n")
	} else {
		fmt.Fprintf(tw, "Last scan:\t%s, %d ms\n", when(s.At), s.DurationMS)
		switch v := s.VerdictOf(); {
		case v == report.VerdictNonCompliant:
			fmt.Fprintf(tw, "Result:\tNOT COMPLIANT: %s\n", strings.Join(s.Restricted, ", "))
		case s.Error != "" && v == "":
			fmt.Fprintf(tw, "Result:\tfailed: %s\n", s.Error)
		case v == report.VerdictIncomplete:
			fmt.Fprintf(tw, "Result:\tINCOMPLETE: no restricted product found, but source(s) could not look: %s\n",
				strings.Join(s.FailedSources, ", "))
		default:
			fmt.Fprintf(tw, "Result:\tcompliant, %d product(s)\n", s.Products)
		}
		if s.Error != "" && s.VerdictOf() != "" {
			fmt.Fprintf(tw, "Error:\t%s\n", s.Error)
		}
		if s.ReportID != "" {
			fmt.Fprintf(tw, "Report:\t%s\n", s.ReportID)
		}
		if len(s.FailedSources) > 0 {
			fmt.Fprintf(tw, "Failed sources:\t%s\n", strings.Join(s.FailedSources, ", "))
		}
	}
	if d.NextScan != nil {
		fmt.Fprintf(tw, "Next scan:\t%s\n", when(*d.NextScan))
	}
	fmt.Fprintf(tw, "Queued reports:\t%d (%d bytes)\n", d.Queue.Reports, d.Queue.Bytes)
	if d.Queue.DeadLetters > 0 || d.Queue.Dropped > 0 {
		fmt.Fprintf(tw, "Undeliverable:\t%d dead-lettered, %d dropped (spool full)\n", d.Queue.DeadLetters, d.Queue.Dropped)
		if l := d.LastDelivery; d.Queue.DeadLetters > 0 && l != nil && l.DeadLetterReason != "" {
			fmt.Fprintf(tw, "Dead-letter reason:\t%s\n", l.DeadLetterReason)
		}
	}
	if l := d.LastDelivery; l == nil {
		fmt.Fprintf(tw, "Last delivery:\tnone\n")
	} else {
		res := fmt.Sprintf("%d sent", l.Sent)
		if l.Error != "" {
			res = "failed: " + l.Error
		}
		fmt.Fprintf(tw, "Last delivery:\t%s, %s\n", when(l.At), res)
		if !l.LastSuccess.IsZero() {
			fmt.Fprintf(tw, "Last success:\t%s\n", when(l.LastSuccess))
		}
	}
	if d.AgentKey.Fingerprint != "" {
		fmt.Fprintf(tw, "Agent key:\t%s\n", d.AgentKey.Fingerprint)
	} else {
		fmt.Fprintf(tw, "Agent key:\t%s\n", d.AgentKey.Error)
	}
	tw.Flush()
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
