package status

import (
	"encoding/json"
	"errors"
	"fmt"
	iofs "io/fs"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/agent"
	"github.com/avscout/avscout/internal/spool"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

const stale = 12*time.Hour + 32*time.Minute

// state is a service state whose last scan was ago before now.
func state(ago time.Duration, s agent.ScanState) *agent.State {
	s.At = now.Add(-ago)
	return &agent.State{LastScan: &s}
}

// Each kind of state, through Evaluate and every MDM writer.
func TestEvaluateAndMDMWriters(t *testing.T) {
	kes := "Kaspersky Endpoint Security for Linux"
	for _, tt := range []struct {
		name        string
		in          Input
		status      string
		verdict     string
		healthy     bool
		remediation string // a regexp of the whole line
		jamf        string
		compliance  string
	}{
		{"compliant", Input{State: state(time.Hour, agent.ScanState{Verdict: "compliant", Compliant: true, Products: 1})},
			ScanOK, "compliant", true,
			`COMPLIANT: no restricted product installed, 1 product\(s\) found; last scan 2026-11-22T11:00:00Z \(1h0m ago\)`,
			"COMPLIANT", `"ProductCount":1,"LastScanAgeHours":1,"FailedSourceCount":0,"ScanStatus":"Ok","Verdict":"compliant"`},
		{"restricted", Input{State: state(0, agent.ScanState{Verdict: "non_compliant", Products: 1, Restricted: []string{kes}})},
			ScanOK, "non_compliant", false, `RESTRICTED: ` + kes + `; last scan 2026-11-22T12:00:00Z \(0m ago\)`,
			"RESTRICTED: " + kes, `"RestrictedProductPresent":true,"RestrictedProducts":"` + kes + `"`},
		{"never", Input{}, ScanNeverScanned, "", false, `NOT SCANNED: the avscout service has not completed a scan yet`,
			"NOT SCANNED", `"LastScanAgeHours":-1,"FailedSourceCount":0,"ScanStatus":"NeverScanned","Verdict":""`},
		{"stale", Input{StaleAfter: stale, State: state(30*time.Hour, agent.ScanState{Compliant: true, Products: 2})},
			ScanStale, "compliant", false,
			`STALE: last scan 2026-11-21T06:00:00Z \(30h0m ago\), older than 12h32m: is the avscout service running\?`,
			"STALE: last scan 2026-11-21T06:00:00Z", `"LastScanAgeHours":30,"FailedSourceCount":0,"ScanStatus":"Stale"`},
		{"not_yet_stale", Input{StaleAfter: stale, State: state(12*time.Hour, agent.ScanState{Compliant: true})},
			ScanOK, "compliant", true, `COMPLIANT: .*\(12h0m ago\)`, "COMPLIANT", `"ScanStatus":"Ok"`},
		{"stale_restricted", Input{StaleAfter: stale, State: state(30*time.Hour, agent.ScanState{Products: 1, Restricted: []string{kes}})},
			ScanStale, "non_compliant", false, `RESTRICTED: ` + kes + `; last scan .*`, "RESTRICTED: " + kes, `"ScanStatus":"Stale","Verdict":"non_compliant"`},
		{"failed", Input{State: state(0, agent.ScanState{Error: "host: open root: permission denied"})},
			ScanFailed, "", false, `SCAN FAILED: host: open root: permission denied; last attempt .*`,
			"SCAN FAILED: host: open root: permission denied", `"ScanStatus":"Failed","Verdict":""`},
		{"unreadable", Input{Err: errors.New("config: writable by group or others"), State: state(0, agent.ScanState{Compliant: true})},
			ScanError, "", false, `ERROR: cannot read the avscout status: config: writable by group or others`,
			"ERROR: config: writable by group or others", `"LastScanAgeHours":-1,"FailedSourceCount":0,"ScanStatus":"Error","Verdict":""`},
		{"incomplete", Input{State: state(0, agent.ScanState{Verdict: "incomplete", ReportID: "r", FailedSources: []string{"dpkg"}})},
			ScanIncomplete, "incomplete", false, `INCOMPLETE: no restricted product found, but dpkg could not look; last scan .*`,
			"INCOMPLETE: dpkg", `"FailedSourceCount":1,"ScanStatus":"Incomplete","Verdict":"incomplete"`},
		// A state an older agent wrote: compliant with a failed source.
		{"old_incomplete", Input{State: state(0, agent.ScanState{ReportID: "r1", Compliant: true, FailedSources: []string{"units"}})},
			ScanIncomplete, "incomplete", false, `INCOMPLETE: .* but units could not look; .*`, "INCOMPLETE: units", `"Verdict":"incomplete"`},
		{"incomplete_unnamed", Input{State: state(0, agent.ScanState{Verdict: "incomplete", ReportID: "r"})},
			ScanIncomplete, "incomplete", false, `INCOMPLETE: no restricted product found, but a source could not look; .*`, "INCOMPLETE: a source", `"Incomplete"`},
		{"future_scan", Input{StaleAfter: stale, State: state(-time.Hour, agent.ScanState{Verdict: "compliant"})},
			ScanOK, "compliant", true, `COMPLIANT: .*\(0m ago\)`, "COMPLIANT", `"LastScanAgeHours":0,`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := Evaluate(tt.in, now)
			if r.ScanStatus != tt.status || r.Verdict != tt.verdict || r.Healthy != tt.healthy {
				t.Errorf("status %s, verdict %q, healthy %v; want %s, %q, %v", r.ScanStatus, r.Verdict, r.Healthy, tt.status, tt.verdict, tt.healthy)
			}
			var b strings.Builder
			if err := WriteIntuneRemediation(&b, r); err != nil {
				t.Fatal(err)
			}
			if !regexp.MustCompile(`^` + tt.remediation + `\n$`).MatchString(b.String()) {
				t.Errorf("remediation %q, want %q", b.String(), tt.remediation)
			}
			b.Reset()
			if err := WriteJamf(&b, r); err != nil {
				t.Fatal(err)
			}
			if want := "<result>" + tt.jamf + "</result>\n"; b.String() != want {
				t.Errorf("jamf %q, want %q", b.String(), want)
			}
			b.Reset()
			if err := WriteIntuneCompliance(&b, r); err != nil {
				t.Fatal(err)
			}
			var doc ComplianceDoc
			if err := json.Unmarshal([]byte(b.String()), &doc); err != nil || strings.Count(b.String(), "\n") != 1 || !strings.Contains(b.String(), tt.compliance) {
				t.Errorf("compliance %q (%v), want it to contain %s", b.String(), err, tt.compliance)
			}
		})
	}
}

// The one-line outputs stay within their MDM's limits and on one line
// whatever the product names hold.
func TestMDMOutputLimits(t *testing.T) {
	var names []string
	for range 200 {
		names = append(names, "Kaspersky Endpoint Security 12.1 </result><result>COMPLIANT\nline two\x1b[2J")
	}
	r := Evaluate(Input{State: state(0, agent.ScanState{Products: 200, Restricted: names})}, now)
	var b strings.Builder
	if err := WriteIntuneRemediation(&b, r); err != nil {
		t.Fatal(err)
	}
	if n := len([]rune(b.String())); n > MaxRemediationOutput || strings.Count(b.String(), "\n") != 1 || strings.ContainsRune(b.String(), '\x1b') {
		t.Errorf("remediation output of %d characters, %d lines", n, strings.Count(b.String(), "\n"))
	}
	b.Reset()
	if err := WriteJamf(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	text := strings.TrimSuffix(strings.TrimPrefix(out, "<result>"), "</result>\n")
	if strings.Count(out, "<result>") != 1 || strings.Count(out, "</result>") != 1 || !strings.HasPrefix(text, "RESTRICTED: ") ||
		strings.Count(out, "\n") != 1 || len(text) > 230 {
		t.Errorf("jamf output %q", out)
	}
	b.Reset()
	if err := WriteIntuneCompliance(&b, r); err != nil {
		t.Fatal(err)
	}
	if strings.Count(b.String(), "\n") != 1 {
		t.Errorf("compliance output is not one line: %q", b.String())
	}
}

func TestNumericVersion(t *testing.T) {
	for v, want := range map[string]string{"0.1.40+g9bd243b": "0.1.40", "v1.2.3": "1.2.3", "dev": "0.0.0", "1.2.3-rc1": "1.2.3", "1..2": "0.0.0", "1.2.3.4.5": "0.0.0", "": "0.0.0"} {
		if got := NumericVersion(v); got != want {
			t.Errorf("NumericVersion(%q) = %q, want %q", v, got, want)
		}
	}
}

// The table and JSON: the verdict derived for an older agent's state, the
// dead-letter reason while dead letters remain, the key.
func TestTableAndJSON(t *testing.T) {
	delivery := &agent.DeliveryState{At: now.Add(-time.Minute), DeadLettered: 1, DeadLetterReason: "collector answered 401: bad token", Error: "401"}
	for _, tt := range []struct {
		name    string
		in      Input
		table   []string // lines the table holds, as regexps
		absent  string   // a text the table must not hold
		verdict string   // of the JSON's last_scan
	}{
		{"old_state", Input{StateDir: "/var/lib/avscout", State: state(time.Minute, agent.ScanState{ReportID: "r1", Compliant: true, Products: 2, FailedSources: []string{"units", "rpm"}}),
			KeyFingerprint: "SHA256:abc"},
			[]string{`State directory: +/var/lib/avscout`, `Result: +INCOMPLETE: no restricted product found, but source\(s\) could not look: units, rpm`,
				`Failed sources: +units, rpm`, `Agent key: +SHA256:abc`, `Last delivery: +none`, `Queued reports: +0 \(0 bytes\)`},
			"Undeliverable", "incomplete"},
		{"dead_letters", Input{State: &agent.State{LastScan: state(0, agent.ScanState{Verdict: "non_compliant", Restricted: []string{"KES"}}).LastScan, LastDelivery: delivery},
			Queue: &spool.Stats{Queued: 2, Bytes: 900, DeadLetters: 1}, KeyErr: fmt.Errorf("agent key: %w", iofs.ErrNotExist)},
			[]string{`Result: +NOT COMPLIANT: KES`, `Undeliverable: +1 dead-lettered, 0 dropped \(spool full\)`, `Dead-letter reason: +collector answered 401: bad token`,
				`Last delivery: +2026-11-22T11:59:00Z \(1m0s ago\), failed: 401`, `Agent key: +` + regexp.QuoteMeta(KeyNotYet), `Queued reports: +2 \(900 bytes\)`},
			"", "non_compliant"},
		{"dead_letters_gone", Input{State: &agent.State{LastScan: state(0, agent.ScanState{Verdict: "compliant", Compliant: true}).LastScan, LastDelivery: delivery},
			Queue: &spool.Stats{}, KeyErr: errors.New("agent key: bad PEM")},
			[]string{`Result: +compliant, 0 product\(s\)`, `Agent key: +agent key: bad PEM`}, "Dead-letter reason", "compliant"},
		{"failed", Input{State: state(0, agent.ScanState{Error: "boom"})}, []string{`Result: +failed: boom`}, "Error:", ""},
		{"never", Input{State: &agent.State{NextScan: now.Add(time.Hour)}}, []string{`Last scan: +none recorded .*`, `Next scan: +2026-11-22T13:00:00Z \(in 1h0m0s\)`}, "Result:", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := Evaluate(tt.in, now)
			var b strings.Builder
			if err := WriteTable(&b, r); err != nil {
				t.Fatal(err)
			}
			for _, l := range tt.table {
				if !regexp.MustCompile(`(?m)^` + l + `$`).MatchString(b.String()) {
					t.Errorf("table lacks %q:\n%s", l, b.String())
				}
			}
			if tt.absent != "" && strings.Contains(b.String(), tt.absent) {
				t.Errorf("table holds %q:\n%s", tt.absent, b.String())
			}
			b.Reset()
			if err := WriteJSON(&b, r); err != nil {
				t.Fatal(err)
			}
			var doc Doc
			if err := json.Unmarshal([]byte(b.String()), &doc); err != nil {
				t.Fatal(err)
			}
			got := ""
			if doc.LastScan != nil {
				got = doc.LastScan.Verdict
				if doc.LastScan.Compliant != (got == "compliant") {
					t.Errorf("compliant %v with verdict %q", doc.LastScan.Compliant, got)
				}
			}
			if got != tt.verdict {
				t.Errorf("json verdict %q, want %q", got, tt.verdict)
			}
		})
	}
	// Evaluate leaves its input alone.
	in := Input{State: state(0, agent.ScanState{Compliant: true})}
	Evaluate(in, now)
	if in.State.LastScan.Verdict != "" {
		t.Errorf("Evaluate changed the state: %+v", in.State.LastScan)
	}
}
