//go:build linux

package main

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/agentkey"
)

// The Windows service path, end to end under Wine: the real avscout.exe
// installs itself with the SCM (recovery actions, automatic start), starts,
// scans this "Windows host", delivers to a real HTTP server on loopback,
// answers `service status` and `status`, stops and uninstalls.
func TestWindowsServiceUnderWine(t *testing.T) {
	fx := setupWine(t)
	w := newWinHost(t, fx)
	const token = "enroll-wine-5b7e"
	coll := newLoopCollector(t, token)

	exe := `C:\Program Files\avscout\avscout.exe`
	local := w.Local(exe)
	if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(fx.avscout)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(local, b, 0o755); err != nil {
		t.Fatal(err)
	}
	w.importReg("kes")

	run := func(args ...string) (string, int) {
		t.Helper()
		out, errOut, code := w.exit("wine", append([]string{exe}, args...)...)
		return string(out) + string(errOut), code
	}

	// A report queued before the agent had a key: a one-off run with no
	// collector configured leaves it in the spool and makes no key.
	w.file(`C:\ProgramData\avscout\config.yaml`, "schedule:\n  splay: 0s\ntags:\n  site: wine-lab\n")
	if out, code := run("service", "run", "--once"); code != 0 {
		t.Fatalf("service run --once without a collector: exit %d\n%s", code, out)
	}
	keyFile := w.Local(`C:\ProgramData\avscout\agent.key`)
	if _, err := os.Stat(keyFile); !os.IsNotExist(err) {
		t.Fatalf("a key exists before any delivery: %v", err)
	}
	stdout, _, code := w.exit("wine", exe, "status", "--format", "json")
	var pre statusDoc
	if err := json.Unmarshal(stdout, &pre); err != nil || code != 0 || pre.LastScan == nil || pre.Queue.Reports != 1 {
		t.Fatalf("status after the offline run: exit %d, %v\n%s", code, err, stdout)
	}
	preKey := pre.LastScan.ReportID

	w.file(`C:\ProgramData\avscout\config.yaml`, fmt.Sprintf(
		"collector:\n  url: %q\n  token: %q\nschedule:\n  splay: 0s\ntags:\n  site: wine-lab\n", coll.url, token))

	if out, code := run("service", "install"); code != 0 {
		t.Fatalf("service install: exit %d\n%s", code, out)
	}
	// Wine's sc.exe has no qc: read the service's registry key.
	qc := w.wine("reg", "query", `HKLM\System\CurrentControlSet\Services\avscout`)
	// (Wine accepts the recovery actions but does not store them, so
	// they cannot be checked here.)
	if !strings.Contains(qc, `avscout.exe" service run --scm`) || !regexp.MustCompile(`Start\s+REG_DWORD\s+0x2\b`).MatchString(qc) {
		t.Errorf("the service key lacks the --scm image path or automatic start:\n%s", qc)
	}
	// Its event log source, where the service's warnings go.
	const eventSource = `HKLM\System\CurrentControlSet\Services\EventLog\Application\avscout`
	if out, _, code := w.exit("wine", "reg", "query", eventSource); code != 0 || !strings.Contains(string(out), "EventMessageFile") {
		t.Errorf("no event log source after install: exit %d\n%s", code, out)
	}
	if out, code := run("service", "install"); code == 0 || !strings.Contains(out, "already installed") {
		t.Errorf("a second install: exit %d, %q", code, out)
	}
	if out, code := run("service", "start"); code != 0 {
		t.Fatalf("service start: exit %d\n%s", code, out)
	}
	w.waitRunning("avscout")
	if out, code := run("service", "status"); code != 0 || !strings.Contains(out, "running") {
		t.Errorf("service status while running: exit %d, %q", code, out)
	}

	waitFor(t, "the queued report and the service's first at the collector", 90*time.Second, func() bool { return len(coll.stored()) >= 2 })
	for id, r := range coll.stored() {
		if r.Host.OS != "windows" || r.Tags["site"] != "wine-lab" {
			t.Errorf("report %s: host %+v tags %v", id, r.Host, r.Tags)
		}
		if _, ok := product(r, "kaspersky-endpoint-security-windows"); !ok {
			t.Errorf("report %s lacks Kaspersky Endpoint Security: %v", id, productIDs(r))
		}
	}
	if p := coll.problems(); len(p) > 0 {
		t.Errorf("collector saw bad requests: %v", p)
	}
	// Signed delivery: the loopback collector verified every signature
	// (else problems above); each was made with the key in the state
	// folder, the report queued before the key included.
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := agentkey.Parse(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pub := priv.Public().(ed25519.PublicKey)
	signers := coll.signers()
	if _, ok := signers[preKey]; !ok {
		t.Errorf("the report queued before the key (%s) was not delivered signed: %v", preKey, signers)
	}
	for id, s := range signers {
		if s != base64.StdEncoding.EncodeToString(pub) {
			t.Errorf("report %s signed by %s, not by the agent key", id, s)
		}
	}
	// Wine keeps no DACL of its own: it maps the one the agent created
	// the file with to the Unix mode, and derives a DACL from the mode
	// when asked. The key's gives others nothing (the state file, made
	// with the folder's inherited ACL, is readable by all).
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm()&0o007 != 0 {
		t.Errorf("agent key as Wine stores it: %v, mode %v; want nothing for others", err, fi.Mode().Perm())
	}

	var status string
	waitFor(t, "status to record the delivery", 30*time.Second, func() bool {
		status, _ = run("status")
		return strings.Contains(status, "Last success:")
	})
	if !strings.Contains(status, "NOT COMPLIANT") {
		t.Errorf("status:\n%s", status)
	}
	// status read the key back through its ACL check (SYSTEM,
	// Administrators, the owner) and shows the fingerprint.
	if fp := agentkey.Fingerprint(pub); !strings.Contains(status, fp) {
		t.Errorf("status does not show the agent key %s:\n%s", fp, status)
	}

	if out, code := run("service", "stop"); code != 0 {
		t.Fatalf("service stop: exit %d\n%s", code, out)
	}
	waitFor(t, "the service to stop", 30*time.Second, func() bool {
		out, _, _ := w.Output(w.Cmd("wine", "sc", "query", "avscout"))
		return strings.Contains(string(out), "STOPPED")
	})
	if out, code := run("service", "status"); code != exitNotRunning || !strings.Contains(out, "stopped") {
		t.Errorf("service status after stop: exit %d, %q", code, out)
	}
	logText, _ := os.ReadFile(w.Local(`C:\ProgramData\avscout\logs\avscout.log`))
	if len(logText) == 0 {
		t.Error("the service wrote no log file")
	} else if strings.Contains(string(logText), token) {
		t.Error("the token appears in the service log")
	}
	// A key file others may read (here Wine shows Everyone in its DACL)
	// is refused, and status says so.
	if err := os.Chmod(keyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, _ := run("status"); !strings.Contains(out, "not private") || !strings.Contains(out, "Everyone") {
		t.Errorf("status with a key readable by everyone:\n%s", out)
	}
	if out, code := run("service", "uninstall"); code != 0 {
		t.Fatalf("service uninstall: exit %d\n%s", code, out)
	}
	if out, _, code := w.exit("wine", "reg", "query", eventSource); code == 0 {
		t.Errorf("the event log source outlived uninstall:\n%s", out)
	}
	if out, code := run("service", "status"); code != exitNotRunning || !strings.Contains(out, "not installed") {
		t.Errorf("service status after uninstall: exit %d, %q", code, out)
	}
}
