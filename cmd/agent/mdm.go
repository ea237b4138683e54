package main

// MDM outputs of `avscout status`: each MDM reads a check's result its own
// way (packaging/mdm/README.md, and the contracts cited there), so each
// gets a format that follows its contract exactly. All of them answer from
// the state the service keeps; none scans.

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"github.com/avscout/avscout/internal/agent"
	"github.com/avscout/avscout/internal/config"
	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/text"
)

// MDM formats of `avscout status --format`.
const (
	formatIntuneRemediation = "intune-remediation"
	formatIntuneCompliance  = "intune-compliance"
	formatJamf              = "jamf"
)

func isMDMFormat(f string) bool {
	return f == formatIntuneRemediation || f == formatIntuneCompliance || f == formatJamf
}

// publicStatusFile is where the Linux service publishes [agent.Public],
// for `status --public`: a fixed path, because the unprivileged caller
// cannot read the config that may move the state directory. It is on
// /run (systemd's RuntimeDirectory=avscout): it exists while the service
// runs, which is what the check wants to know. Other OSes run their MDM
// checks as SYSTEM or root and read the state file itself.
func publicStatusFile(goos string) string {
	if goos == "linux" {
		return "/run/avscout/status.json"
	}
	return ""
}

// staleAfter is the age beyond which the last scan is stale: two missed
// scans, with the schedule's jitter and first-scan splay as slack
// (12h32m with the defaults).
func staleAfter(s config.Schedule) time.Duration {
	return 2*time.Duration(s.Interval) + time.Duration(s.Jitter) + time.Duration(s.Splay)
}

// mdmState is what an MDM output is made from.
type mdmState struct {
	scan       *agent.ScanState // nil: never scanned
	staleAfter time.Duration
	err        error // the state (or config) could not be read
	now        time.Time
}

// ScanStatus values of the custom compliance output.
const (
	scanOK           = "Ok"
	scanIncomplete   = "Incomplete" // the last scan could not see everything: not Ok
	scanStale        = "Stale"
	scanFailed       = "Failed"
	scanNeverScanned = "NeverScanned"
	scanError        = "Error"
)

func (m mdmState) age() time.Duration { return m.now.Sub(m.scan.At) }

// scanStatus says whether the last scan can be trusted.
func (m mdmState) scanStatus() string {
	switch {
	case m.err != nil:
		return scanError
	case m.scan == nil:
		return scanNeverScanned
	case m.scan.Error != "" && len(m.scan.Restricted) == 0:
		// A scan whose report could not be queued still found what it found.
		return scanFailed
	case m.staleAfter > 0 && m.age() > m.staleAfter:
		return scanStale
	case m.scan.VerdictOf() == report.VerdictIncomplete:
		return scanIncomplete
	}
	return scanOK
}

// verdict is the last scan's verdict, "" when there is none to trust
// (never scanned, failed, unreadable).
func (m mdmState) verdict() string {
	if m.err != nil {
		return ""
	}
	return m.scan.VerdictOf()
}

// failedSources names the last scan's failed sources, or "a source" when
// the state does not say which.
func (m mdmState) failedSources() string {
	if len(m.scan.FailedSources) == 0 {
		return "a source"
	}
	return strings.Join(m.scan.FailedSources, ", ")
}

func (m mdmState) restricted() []string {
	if m.err != nil || m.scan == nil {
		return nil
	}
	return m.scan.Restricted
}

// writeMDM writes the status in an MDM format and returns the exit code
// that format's contract wants. Nothing goes to standard error: Intune
// counts any output there as a script error.
func writeMDM(w io.Writer, format string, m mdmState) int {
	switch format {
	case formatIntuneRemediation:
		return writeIntuneRemediation(w, m)
	case formatIntuneCompliance:
		return writeIntuneCompliance(w, m)
	}
	return writeJamfStatus(w, m)
}

// Limits of the texts.
const (
	// maxRemediationOutput is Intune Remediations' output limit
	// (memdocs analytics/remediations.md: 2048 characters).
	maxRemediationOutput = 2048
	// maxJamfStatus bounds the text in <result>, as `scan --format jamf` does.
	maxJamfStatus = 230
)

// writeIntuneRemediation is an Intune Remediations detection result: one
// line, and exit 1 ("issue found", the remediation or alert runs) unless
// the last scan is recent, succeeded, could see everything and found no
// restricted product in use. Never scanned, stale, failed, incomplete and
// unreadable all count as issues: a check that cannot vouch for the host
// must not say it is fine.
func writeIntuneRemediation(w io.Writer, m mdmState) int {
	var line string
	code := exitRestricted
	switch st := m.scanStatus(); {
	case len(m.restricted()) > 0:
		line = "RESTRICTED: " + strings.Join(m.restricted(), "; ") + "; last scan " + m.when()
	case st == scanError:
		line = "ERROR: cannot read the avscout status: " + m.err.Error()
	case st == scanNeverScanned:
		line = "NOT SCANNED: the avscout service has not completed a scan yet"
	case st == scanFailed:
		line = "SCAN FAILED: " + m.scan.Error + "; last attempt " + m.when()
	case st == scanStale:
		line = fmt.Sprintf("STALE: last scan %s, older than %s: is the avscout service running?", m.when(), shortDuration(m.staleAfter))
	case st == scanIncomplete:
		line = "INCOMPLETE: no restricted product found, but " + m.failedSources() + " could not look; last scan " + m.when()
	default:
		line = fmt.Sprintf("COMPLIANT: no restricted product installed, %d product(s) found; last scan %s", m.scan.Products, m.when())
		code = exitOK
	}
	fmt.Fprintln(w, fitText(line, maxRemediationOutput-1)) // the newline counts
	return code
}

// when is the last scan's time and age.
func (m mdmState) when() string {
	return m.scan.At.UTC().Format(time.RFC3339) + " (" + shortDuration(m.age()) + " ago)"
}

// shortDuration writes d to the minute: "2h5m", "0m".
func shortDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Truncate(time.Minute)
	if d == 0 {
		return "0m"
	}
	return strings.TrimSuffix(d.String(), "0s")
}

// complianceDoc is the Intune custom compliance discovery output: flat
// scalar keys only (create-custom-json.md), each a SettingName of
// packaging/mdm/intune/compliance-rules.json.
type complianceDoc struct {
	RestrictedProductPresent bool
	RestrictedProducts       string // names joined with "; ", "" when none
	ProductCount             int
	// LastScanAgeHours is -1 when there is no scan to age.
	LastScanAgeHours  int
	FailedSourceCount int
	ScanStatus        string // Ok, Incomplete, Stale, Failed, NeverScanned, Error
	// Verdict is the last scan's: compliant, non_compliant or incomplete;
	// "" when there is none (never scanned, failed, unreadable).
	Verdict      string
	AgentVersion string // numeric, for the Version data type
}

// writeIntuneCompliance writes one line of compressed JSON and exits 0:
// the rules judge the values; an exit code other than 0 would be a script
// error, not a finding.
func writeIntuneCompliance(w io.Writer, m mdmState) int {
	d := complianceDoc{
		RestrictedProductPresent: len(m.restricted()) > 0,
		RestrictedProducts:       strings.Join(m.restricted(), "; "),
		LastScanAgeHours:         -1,
		ScanStatus:               m.scanStatus(),
		Verdict:                  m.verdict(),
		AgentVersion:             numericVersion(version),
	}
	if m.err == nil && m.scan != nil {
		d.ProductCount = m.scan.Products
		d.FailedSourceCount = len(m.scan.FailedSources)
		d.LastScanAgeHours = int(max(m.age(), 0) / time.Hour)
	}
	b, _ := json.Marshal(d) // strings, ints and a bool always marshal
	fmt.Fprintf(w, "%s\n", b)
	return exitOK
}

// numericVersion keeps the MAJOR.MINOR.BUILD of a stamped version
// ("0.1.40+g9bd243b" → "0.1.40"), "0.0.0" for an unstamped build, so that
// a rule of data type Version can compare it.
func numericVersion(v string) string {
	v = strings.TrimPrefix(v, "v")
	if i := strings.IndexAny(v, "+-"); i >= 0 {
		v = v[:i]
	}
	parts := strings.Split(v, ".")
	if len(parts) < 2 || len(parts) > 4 {
		return "0.0.0"
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return "0.0.0"
		}
	}
	return v
}

// writeJamfStatus writes a Jamf Pro extension attribute: one
// "<result>…</result>" line whose first word a smart group matches, in the
// words of `scan --format jamf`: COMPLIANT, RESTRICTED: <names>,
// INCOMPLETE: <failed sources>, NOT SCANNED, STALE: …, SCAN FAILED: …,
// ERROR: …. The script that calls it prints NOT INSTALLED when the agent
// is missing.
func writeJamfStatus(w io.Writer, m mdmState) int {
	var text string
	switch st := m.scanStatus(); {
	case len(m.restricted()) > 0:
		text = "RESTRICTED: " + strings.Join(m.restricted(), "; ")
	case st == scanError:
		text = "ERROR: " + m.err.Error()
	case st == scanNeverScanned:
		text = "NOT SCANNED"
	case st == scanFailed:
		text = "SCAN FAILED: " + m.scan.Error
	case st == scanStale:
		text = "STALE: last scan " + m.scan.At.UTC().Format(time.RFC3339)
	case st == scanIncomplete:
		text = "INCOMPLETE: " + m.failedSources()
	default:
		text = "COMPLIANT"
	}
	fmt.Fprintf(w, "<result>%s</result>\n", jamfEscape(fitText(text, maxJamfStatus)))
	return exitOK
}

// jamfEscape keeps a value from closing the result tag: Jamf Pro stores
// the text between the first <result> and </result> as it is, so angle
// brackets are dropped rather than escaped.
func jamfEscape(s string) string {
	return strings.NewReplacer("<", "(", ">", ")").Replace(s)
}

// fitText makes s one printable line of at most max runes.
func fitText(s string, max int) string {
	return text.Truncate(text.OneLine(s), max)
}

// mdmStateOf builds the MDM view of a read state (st nil: never run).
func mdmStateOf(st *agent.State, stale time.Duration, now time.Time) mdmState {
	m := mdmState{staleAfter: stale, now: now}
	if st != nil {
		m.scan = st.LastScan
	}
	return m
}

// readPublicStatus reads the published summary for `status --public`.
func readPublicStatus(path string, now time.Time) mdmState {
	m := mdmState{now: now}
	if path == "" {
		m.err = fmt.Errorf("--public: the service publishes no status summary on %s; run as root or SYSTEM instead", runtime.GOOS)
		return m
	}
	p, err := agent.ReadPublic(path)
	if err != nil {
		m.err = fmt.Errorf("%w (is the avscout service running?)", err)
		return m
	}
	m.scan, m.staleAfter = p.LastScan, time.Duration(p.StaleAfterSeconds)*time.Second
	return m
}
