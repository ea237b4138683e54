//go:build linux

package main

import (
	"regexp"
	"testing"
)

// The MDM formats of the real avscout.exe under Wine, as the Intune and
// SCCM scripts run it: before any scan, after the real service's
// `service run --once` on a clean host, and after one on a host with
// Kaspersky Endpoint Security installed (registry fixture kes.reg). The
// state lives where Windows keeps it, C:\ProgramData\avscout. (The
// PowerShell wrappers themselves cannot run here.)
func TestStatusMDMUnderWine(t *testing.T) {
	fx := setupWine(t)
	w := newWinHost(t, fx)
	status := func(format string, wantCode int, want string) {
		t.Helper()
		out, errOut, code := w.exit("wine", fx.avscout, "status", "--format", format)
		if code != wantCode || !regexp.MustCompile(`^`+want+`$`).Match(out) || len(errOut) > 0 {
			t.Errorf("status --format %s: exit %d, stdout %q, stderr %q; want exit %d, stdout matching %q, no stderr",
				format, code, out, errOut, wantCode, want)
		}
		t.Logf("avscout.exe status --format %s: exit %d: %s", format, code, out)
	}
	when := `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \((\d+h)?\d+m ago\)`

	status("intune-remediation", 1, `NOT SCANNED: the avscout service has not completed a scan yet\n`)
	status("jamf", 0, `<result>NOT SCANNED</result>\n`)
	status("intune-compliance", 0, `\{"RestrictedProductPresent":false,"RestrictedProducts":"","ProductCount":0,"LastScanAgeHours":-1,"FailedSourceCount":0,"ScanStatus":"NeverScanned","Verdict":"","AgentVersion":"0.0.0"\}\n`)

	w.wine(fx.avscout, "service", "run", "--once")
	status("intune-remediation", 0, `COMPLIANT: no restricted product installed, \d+ product\(s\) found; last scan `+when+`\n`)
	status("jamf", 0, `<result>COMPLIANT</result>\n`)

	w.importReg("kes")
	w.wine(fx.avscout, "service", "run", "--once")
	status("intune-remediation", 1, `RESTRICTED: Kaspersky Endpoint Security for Windows; last scan `+when+`\n`)
	status("jamf", 0, `<result>RESTRICTED: Kaspersky Endpoint Security for Windows</result>\n`)
	status("intune-compliance", 0, `\{"RestrictedProductPresent":true,"RestrictedProducts":"Kaspersky Endpoint Security for Windows","ProductCount":1,"LastScanAgeHours":0,"FailedSourceCount":\d+,"ScanStatus":"Ok","Verdict":"non_compliant","AgentVersion":"0.0.0"\}\n`)
}
