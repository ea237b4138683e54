package status

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/text"
)

// Formats of `avscout status --format`.
const (
	FormatTable             = "table"
	FormatJSON              = "json"
	FormatIntuneRemediation = "intune-remediation"
	FormatIntuneCompliance  = "intune-compliance"
	FormatJamf              = "jamf"
)

// Formats lists the output formats, the people's and scripts' first.
func Formats() []string {
	return []string{FormatTable, FormatJSON, FormatIntuneRemediation, FormatIntuneCompliance, FormatJamf}
}

// IsMDM reports whether format is an MDM check's: it tells whatever goes
// wrong in its own words on standard output, as its MDM reads it.
func IsMDM(format string) bool {
	return format == FormatIntuneRemediation || format == FormatIntuneCompliance || format == FormatJamf
}

// Write writes r in format.
func Write(w io.Writer, format string, r Result) error {
	switch format {
	case FormatTable:
		return WriteTable(w, r)
	case FormatJSON:
		return WriteJSON(w, r)
	case FormatIntuneRemediation:
		return WriteIntuneRemediation(w, r)
	case FormatIntuneCompliance:
		return WriteIntuneCompliance(w, r)
	case FormatJamf:
		return WriteJamf(w, r)
	}
	return fmt.Errorf("unknown status format %q (want %s)", format, strings.Join(Formats(), ", "))
}

// WriteJSON writes r.Doc, indented.
func WriteJSON(w io.Writer, r Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r.Doc)
}

// WriteTable writes the status for people.
func WriteTable(w io.Writer, r Result) error {
	d := r.Doc
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	when := func(t time.Time) string {
		ago := r.Now.Sub(t).Round(time.Second)
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
		if reason := r.DeadLetterReason(); reason != "" {
			fmt.Fprintf(tw, "Dead-letter reason:\t%s\n", reason)
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
	return tw.Flush()
}

// MaxRemediationOutput is Intune Remediations' output limit (memdocs
// analytics/remediations.md: 2048 characters).
const MaxRemediationOutput = 2048

// WriteIntuneRemediation writes an Intune Remediations detection result:
// one line. The script's exit code is 1 ("issue found", the remediation
// or alert runs) unless r.Healthy: never scanned, stale, failed,
// incomplete and unreadable all count as issues, because a check that
// cannot vouch for the host must not say it is fine.
func WriteIntuneRemediation(w io.Writer, r Result) error {
	var line string
	switch st := r.ScanStatus; {
	case len(r.Restricted) > 0:
		line = "RESTRICTED: " + strings.Join(r.Restricted, "; ") + "; last scan " + r.when()
	case st == ScanError:
		line = "ERROR: cannot read the avscout status: " + r.Err.Error()
	case st == ScanNeverScanned:
		line = "NOT SCANNED: the avscout service has not completed a scan yet"
	case st == ScanFailed:
		line = "SCAN FAILED: " + r.Scan.Error + "; last attempt " + r.when()
	case st == ScanStale:
		line = fmt.Sprintf("STALE: last scan %s, older than %s: is the avscout service running?", r.when(), shortDuration(r.StaleAfter))
	case st == ScanIncomplete:
		line = "INCOMPLETE: no restricted product found, but " + r.failedSources() + " could not look; last scan " + r.when()
	default:
		line = fmt.Sprintf("COMPLIANT: no restricted product installed, %d product(s) found; last scan %s", r.Scan.Products, r.when())
	}
	_, err := fmt.Fprintln(w, text.Truncate(text.OneLine(line), MaxRemediationOutput-1)) // the newline counts
	return err
}

// ComplianceDoc is the Intune custom compliance discovery output: flat
// scalar keys only (create-custom-json.md), each a SettingName of
// packaging/mdm/intune/compliance-rules.json.
type ComplianceDoc struct {
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

// WriteIntuneCompliance writes one line of compressed JSON. The script
// exits 0 whatever it says: the rules judge the values, and another exit
// code would be a script error, not a finding.
func WriteIntuneCompliance(w io.Writer, r Result) error {
	d := ComplianceDoc{
		RestrictedProductPresent: len(r.Restricted) > 0,
		RestrictedProducts:       strings.Join(r.Restricted, "; "),
		LastScanAgeHours:         -1,
		ScanStatus:               r.ScanStatus,
		Verdict:                  r.Verdict,
		AgentVersion:             r.AgentVersion,
	}
	if r.Err == nil && r.Scan != nil {
		d.ProductCount = r.Scan.Products
		d.FailedSourceCount = len(r.Scan.FailedSources)
		d.LastScanAgeHours = int(max(r.Age, 0) / time.Hour)
	}
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("compliance output: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// WriteJamf writes a Jamf Pro extension attribute with
// [report.WriteJamfResult]: one "<result>…</result>" line whose first word
// a smart group matches, in the words of `scan --format jamf`: COMPLIANT,
// RESTRICTED: <names>, INCOMPLETE: <failed sources>, NOT SCANNED,
// STALE: …, SCAN FAILED: …, ERROR: …. The script that calls it prints NOT
// INSTALLED when the agent is missing.
func WriteJamf(w io.Writer, r Result) error {
	var line string
	switch st := r.ScanStatus; {
	case len(r.Restricted) > 0:
		line = "RESTRICTED: " + strings.Join(r.Restricted, "; ")
	case st == ScanError:
		line = "ERROR: " + r.Err.Error()
	case st == ScanNeverScanned:
		line = "NOT SCANNED"
	case st == ScanFailed:
		line = "SCAN FAILED: " + r.Scan.Error
	case st == ScanStale:
		line = "STALE: last scan " + r.Scan.At.UTC().Format(time.RFC3339)
	case st == ScanIncomplete:
		line = "INCOMPLETE: " + r.failedSources()
	default:
		line = "COMPLIANT"
	}
	return report.WriteJamfResult(w, line)
}

// when is the last scan's time and age.
func (r Result) when() string {
	return r.Scan.At.UTC().Format(time.RFC3339) + " (" + shortDuration(r.Age) + " ago)"
}

// failedSources names the last scan's failed sources, or "a source" when
// the state does not say which.
func (r Result) failedSources() string {
	if len(r.Scan.FailedSources) == 0 {
		return "a source"
	}
	return strings.Join(r.Scan.FailedSources, ", ")
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

// NumericVersion keeps the MAJOR.MINOR.BUILD of a stamped version
// ("0.1.40+g9bd243b" → "0.1.40"), "0.0.0" for an unstamped build, so that
// an Intune rule of data type Version can compare it.
func NumericVersion(v string) string {
	v = strings.TrimPrefix(v, "v")
	if i := strings.IndexAny(v, "+-"); i >= 0 {
		v = v[:i]
	}
	parts := strings.Split(v, ".")
	if len(parts) < 2 || len(parts) > 4 {
		return "0.0.0"
	}
	if slices.ContainsFunc(parts, func(p string) bool { return p == "" || strings.Trim(p, "0123456789") != "" }) {
		return "0.0.0"
	}
	return v
}
