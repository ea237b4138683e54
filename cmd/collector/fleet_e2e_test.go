//go:build linux

package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/agentkey"
	"github.com/avscout/avscout/internal/collector/store"
	"github.com/avscout/avscout/internal/detect/dpkg/dpkgtest"
)

// The whole house, with real processes: the real agent binary scans
// Debian roots whose dpkg databases the real dpkg wrote, and delivers its
// reports over HTTP to the real collector binary, which stores them in
// SQLite or PostgreSQL; the API, the CSV export and the dashboard then
// show the fleet. A host whose Kaspersky was removed and rescanned turns
// compliant, and its history says what changed.
func TestFleetEndToEnd(t *testing.T) {
	agent := buildAgent(t)
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			db := filepath.Join(dir, "avscout.db")
			if backend == "postgres" {
				db = pg.DSN(t)
			}
			adminFile, admin := writeAdminToken(t, dir)
			_, secret := createToken(t, db, "fleet-e2e")
			c := &http.Client{}
			p := start(t, c, "http", "--db", db, "--admin-token-file", adminFile)

			// Three hosts: one with Kaspersky Endpoint Security for Linux,
			// one with only Kaspersky leftovers, one with nothing.
			kesl := debianHost(t, "kesl-01", "11111111111111111111111111111111", true, false)
			leftover := debianHost(t, "left-02", "22222222222222222222222222222222", false, true)
			bare := debianHost(t, "bare-03", "33333333333333333333333333333333", false, false)
			// Each host keeps its agent's state folder, and with it its
			// agent key, across runs, as a real host does: the collector
			// pins a host id to the first key it reports with.
			keslState := t.TempDir()
			agentOnce(t, agent, p.base, secret, kesl, keslState)
			for _, root := range []string{leftover, bare} {
				agentOnce(t, agent, p.base, secret, root, t.TempDir())
			}
			// The collector pinned kesl-01's key; the same host id with a
			// new key (a fresh state folder) is refused, and the agent
			// keeps its report and says an administrator must rekey.
			keslKey, err := agentkey.Load(filepath.Join(keslState, "state", "agent.key"))
			if err != nil {
				t.Fatal(err)
			}
			impostor := t.TempDir()
			out, code := agentOnceExit(t, agent, p.base, secret, kesl, impostor)
			if code != 2 || !strings.Contains(out, "avscout-collector host rekey") {
				t.Errorf("agent with a new key for kesl-01: exit %d, want 2 with the rekey advice:\n%s", code, out)
			}
			if queued, _ := filepath.Glob(filepath.Join(impostor, "state", "spool", "*")); len(queued) == 0 {
				t.Errorf("the refused report is not kept in the spool of %s", impostor)
			}

			var page store.HostPage
			getJSON(t, c, p.base+"/v1/hosts", admin, &page)
			if page.Total != 3 {
				t.Fatalf("/v1/hosts total %d, want 3: %+v", page.Total, page)
			}
			byName := map[string]store.HostSummary{}
			for _, h := range page.Hosts {
				byName[h.Hostname] = h
			}
			if h := byName["kesl-01"]; h.Compliant || h.State != store.HostRestricted ||
				len(h.Restricted) != 1 || h.Restricted[0] != "Kaspersky Endpoint Security for Linux" {
				t.Errorf("kesl-01 = %+v", h)
			}
			for _, name := range []string{"left-02", "bare-03"} {
				// Scanned as roots, nothing runs: compliant but unprotected.
				if h := byName[name]; !h.Compliant || h.State != store.HostUnprotected {
					t.Errorf("%s = %+v, want compliant and unprotected", name, h)
				}
			}
			var restricted store.HostPage
			getJSON(t, c, p.base+"/v1/hosts?state=restricted", admin, &restricted)
			if restricted.Total != 1 || restricted.Hosts[0].Hostname != "kesl-01" {
				t.Errorf("state=restricted: %+v", restricted)
			}

			// The dashboard (HTTP Basic, as a browser sends it) shows the
			// hosts, and its CSV link is accepted by the export.
			dash := getText(t, c, p.base+"/hosts", basic(admin))
			for _, name := range []string{"kesl-01", "left-02", "bare-03"} {
				if !strings.Contains(dash, name) {
					t.Errorf("dashboard host list lacks %s", name)
				}
			}
			link := regexp.MustCompile(`href="(/v1/export\?[^"]+)"`).FindStringSubmatch(dash)
			if link == nil {
				t.Fatalf("no CSV export link on the host list")
			}
			rows := readCSV(t, getText(t, c, p.base+html.UnescapeString(link[1]), basic(admin)))
			found := false
			for _, r := range rows[1:] {
				if r[1] == "kesl-01" && r[8] == "kaspersky-endpoint-security-linux" && r[13] == "true" {
					found = true
				}
			}
			if !found {
				t.Errorf("CSV export lacks kesl-01's restricted KESL row:\n%v", rows)
			}

			// An auditor downloads kesl-01's report as received and its
			// agent's signature, and the agent binary verifies them offline
			// against the key the collector pinned; a changed byte fails.
			reportURL := p.base + "/v1/reports/" + byName["kesl-01"].LastReportID
			audit := t.TempDir()
			saved := filepath.Join(audit, "kesl-01.json")
			for url, file := range map[string]string{reportURL + "/raw": saved, reportURL + "/signature": saved + ".sig"} {
				if err := os.WriteFile(file, []byte(getText(t, c, url, "Bearer "+admin)), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			verify := func() (string, int) {
				cmd := exec.Command(agent, "verify", "--key", keslKey.Fingerprint(), saved)
				out, err := cmd.CombinedOutput()
				code := 0
				if ee, ok := err.(*exec.ExitError); ok {
					code = ee.ExitCode()
				} else if err != nil {
					t.Fatal(err)
				}
				return string(out), code
			}
			if out, code := verify(); code != 0 || !strings.Contains(out, "non_compliant") || !strings.Contains(out, "kesl-01") {
				t.Errorf("avscout verify of the downloaded report: exit %d\n%s", code, out)
			}
			raw, err := os.ReadFile(saved)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(saved, bytes.Replace(raw, []byte("kesl-01"), []byte("kesl-02"), 1), 0o600); err != nil {
				t.Fatal(err)
			}
			if out, code := verify(); code != 1 || !strings.Contains(out, "not the one signed") {
				t.Errorf("avscout verify of a changed download: exit %d\n%s", code, out)
			}

			// KESL removed (purged), the host scanned again: compliant now,
			// with the removal in its history.
			kesl2 := debianHost(t, "kesl-01", "11111111111111111111111111111111", false, false)
			// (Usually in the same second as the first scan: generated_at has
			// second precision, and the later arrival must win.)
			agentOnce(t, agent, p.base, secret, kesl2, keslState)
			var detail struct {
				store.HostDetail
				Key struct {
					Pinned             bool   `json:"pinned"`
					Fingerprint        string `json:"fingerprint"`
					RefusedFingerprint string `json:"refused_fingerprint"`
				} `json:"key"`
			}
			getJSON(t, c, p.base+"/v1/hosts/"+byName["kesl-01"].ID, admin, &detail)
			if !detail.Key.Pinned || detail.Key.Fingerprint != keslKey.Fingerprint() || detail.Key.RefusedFingerprint == "" ||
				detail.Key.RefusedFingerprint == keslKey.Fingerprint() {
				t.Errorf("kesl-01's key on the collector = %+v, want pinned %s and a refused other key", detail.Key, keslKey.Fingerprint())
			}
			if !detail.Compliant || detail.State == store.HostRestricted {
				t.Errorf("kesl-01 after removal: compliant=%v state=%s", detail.Compliant, detail.State)
			}
			removed := false
			for _, ch := range detail.History {
				if ch.Kind == "product-removed" && ch.Product == "Kaspersky Endpoint Security for Linux" {
					removed = true
				}
			}
			if !removed {
				t.Errorf("history lacks the KESL removal: %+v", detail.History)
			}
			page2 := getText(t, c, p.base+"/hosts/"+byName["kesl-01"].ID, basic(admin))
			if !strings.Contains(page2, "kesl-01") {
				t.Errorf("host page lacks the hostname")
			}
			p.stop(t)
		})
	}
}

// buildAgent builds the avscout agent binary for this test run.
func buildAgent(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "avscout")
	// go test puts its own GOROOT/bin first on PATH.
	cmd := exec.Command("go", "build", "-o", out, "../agent")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the agent: %v\n%s", err, b)
	}
	return out
}

// debianHost makes a Debian 12 root named hostname with a dpkg database
// written by dpkg: KESL installed, or only its purged leftovers (a config
// folder), or neither.
func debianHost(t *testing.T, hostname, machineID string, withKESL, withLeftovers bool) string {
	t.Helper()
	root := t.TempDir()
	write := func(name, content string) {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n")
	write("etc/hostname", hostname+"\n")
	write("etc/machine-id", machineID+"\n")
	pkgs := []dpkgtest.Pkg{{Name: "bash", Version: "5.2.15-2+b7", Maintainer: "Matthias Klose <doko@debian.org>"}}
	if withKESL {
		pkgs = append(pkgs, dpkgtest.Pkg{Name: "kesl", Version: "12.1.0-2968",
			Maintainer: "AO Kaspersky Lab <support@kaspersky.com>", Description: "Kaspersky Endpoint Security for Linux",
			Files: map[string]string{"/opt/kaspersky/kesl/bin/kesl-control": "#!/bin/sh\n"}})
	}
	if withLeftovers {
		write("var/opt/kaspersky/kesl/common/kesl.ini", "[General]\n")
	}
	dpkgtest.Build(t, root, pkgs)
	return root
}

// agentOnce runs the agent's service cycle once against root with the
// state folder stateDir (which holds the agent's key): scan, queue,
// deliver.
func agentOnce(t *testing.T, agent, base, secret, root, stateDir string) {
	t.Helper()
	if out, code := agentOnceExit(t, agent, base, secret, root, stateDir); code != 0 {
		t.Fatalf("agent run --once on %s: exit %d\n%s", root, code, out)
	}
}

// agentOnceExit is agentOnce returning the agent's output and exit code.
func agentOnceExit(t *testing.T, agent, base, secret, root, stateDir string) (string, int) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	doc := fmt.Sprintf("collector:\n  url: %q\n  token: %q\nstate_dir: %q\ntags:\n  site: e2e\n", base, secret, filepath.Join(stateDir, "state"))
	if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(agent, "service", "run", "--once", "--config", cfg, "--root", root).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	case err != nil:
		t.Fatalf("agent run --once on %s: %v\n%s", root, err, out)
	}
	return string(out), 0
}

func basic(secret string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth("admin", secret)
	return req.Header.Get("Authorization")
}

func getText(t *testing.T, c *http.Client, url, auth string) string {
	t.Helper()
	code, body := request(t, c, http.MethodGet, url, auth, nil, nil)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	return string(body)
}

func getJSON(t *testing.T, c *http.Client, url, admin string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(getText(t, c, url, "Bearer "+admin)), v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func readCSV(t *testing.T, text string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(text)).ReadAll()
	if err != nil {
		t.Fatalf("export is not CSV: %v\n%s", err, text)
	}
	if len(rows) == 0 {
		t.Fatal("empty export")
	}
	return rows
}
