package main

import (
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/agentkey"
	"github.com/avscout/avscout/internal/detect/dpkg/dpkgtest"
	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/report/schema"
	"github.com/avscout/avscout/internal/syncbuf"
)

// loopCollector is a real HTTP server on loopback speaking the collector's
// ingest protocol: it checks the token and the Idempotency-Key, verifies
// the report's signature over the uncompressed body and pins the first
// key of each host id as the collector does (403 with code unsigned,
// bad_signature or key_mismatch otherwise), validates each report against
// the schema, stores each report id once and counts every arrival, so
// tests can tell "arrived exactly once" from "sent twice".
type loopCollector struct {
	t     *testing.T
	token string
	srv   *http.Server
	ln    net.Listener
	url   string

	mu       sync.Mutex
	reports  map[string]*report.Report
	bodies   map[string][]byte
	arrivals map[string]int
	invalid  []string
	// pinned is each host id's key; signedBy each stored report's key.
	pinned   map[string]string
	signedBy map[string]string
	refused  []string // "<code> <report id>" of each 403
	// delay, when set, holds each answer (the agent may be killed while
	// waiting for it).
	delay func() time.Duration
	// refuseGone, when set, answers every report 410 Gone: a refusal
	// for good, which dead-letters the report.
	refuseGone bool
}

func newLoopCollector(t *testing.T, token string) *loopCollector {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &loopCollector{t: t, token: token, ln: ln, url: "http://" + ln.Addr().String(),
		reports: map[string]*report.Report{}, bodies: map[string][]byte{}, arrivals: map[string]int{},
		pinned: map[string]string{}, signedBy: map[string]string{}}
	c.serve()
	t.Cleanup(func() { c.srv.Close() })
	return c
}

func (c *loopCollector) serve() {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/reports", c.ingest)
	c.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	srv, ln := c.srv, c.ln
	go func() {
		// Close (down, or the test's end) ends Serve with ErrServerClosed.
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			c.t.Errorf("loop collector: serve: %v", err)
		}
	}()
}

// down stops the server and frees its port; up listens on it again.
func (c *loopCollector) down() { c.srv.Close() }

func (c *loopCollector) up() {
	c.t.Helper()
	ln, err := net.Listen("tcp", strings.TrimPrefix(c.url, "http://"))
	if err != nil {
		c.t.Fatalf("collector back up: %v", err)
	}
	c.ln = ln
	c.serve()
}

func (c *loopCollector) ingest(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+c.token {
		http.Error(w, "bad token", http.StatusUnauthorized)
		return
	}
	c.mu.Lock()
	gone := c.refuseGone
	c.mu.Unlock()
	if gone {
		http.Error(w, "this collector no longer takes reports", http.StatusGone)
		return
	}
	if r.Header.Get("Content-Encoding") != "gzip" {
		http.Error(w, "want gzip", http.StatusUnsupportedMediaType)
		return
	}
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		http.Error(w, "bad gzip", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(io.LimitReader(zr, 8<<20))
	if err != nil {
		http.Error(w, "bad gzip", http.StatusBadRequest)
		return
	}
	if d := c.delay; d != nil {
		time.Sleep(d())
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := schema.Validate(body); err != nil {
		c.invalid = append(c.invalid, err.Error())
		http.Error(w, "schema: "+err.Error(), http.StatusBadRequest)
		return
	}
	var rep report.Report
	if err := json.Unmarshal(body, &rep); err != nil { // the schema let it pass
		c.invalid = append(c.invalid, err.Error())
		http.Error(w, "decode: "+err.Error(), http.StatusBadRequest)
		return
	}
	if key := r.Header.Get("Idempotency-Key"); key != rep.ReportID {
		c.invalid = append(c.invalid, fmt.Sprintf("Idempotency-Key %q for report %q", key, rep.ReportID))
		http.Error(w, "key mismatch", http.StatusBadRequest)
		return
	}
	pub, code := verifySignature(r.Header, body)
	if code == "" && c.pinned[rep.Host.ID] != "" && c.pinned[rep.Host.ID] != pub {
		code = "key_mismatch"
	}
	if code != "" {
		c.refused = append(c.refused, code+" "+rep.ReportID)
		if code != "key_mismatch" {
			c.invalid = append(c.invalid, "report "+rep.ReportID+": "+code)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `{"error":"report refused: %s","code":%q}`, code, code)
		return
	}
	if c.pinned[rep.Host.ID] == "" {
		c.pinned[rep.Host.ID] = pub
	}
	c.signedBy[rep.ReportID] = pub
	c.arrivals[rep.ReportID]++
	if prev, ok := c.bodies[rep.ReportID]; ok {
		if !bytes.Equal(prev, body) {
			c.invalid = append(c.invalid, "report "+rep.ReportID+" arrived twice with different content")
		}
		w.WriteHeader(http.StatusOK) // a replay: acknowledged, not stored again
		return
	}
	c.bodies[rep.ReportID] = body
	c.reports[rep.ReportID] = &rep
	w.WriteHeader(http.StatusCreated)
}

// verifySignature checks the Avscout-Public-Key and Avscout-Signature
// headers against the uncompressed body, as the agreed protocol says, and
// returns the key (base64) or the collector's refusal code.
func verifySignature(h http.Header, body []byte) (pub, code string) {
	keyB64, ok1 := strings.CutPrefix(h.Get("Avscout-Public-Key"), "ed25519:")
	sigB64, ok2 := strings.CutPrefix(h.Get("Avscout-Signature"), "ed25519:")
	if !ok1 || !ok2 {
		return "", "unsigned"
	}
	key, err1 := base64.StdEncoding.Strict().DecodeString(keyB64)
	sig, err2 := base64.StdEncoding.Strict().DecodeString(sigB64)
	if err1 != nil || err2 != nil || len(key) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize ||
		!ed25519.Verify(key, body, sig) {
		return "", "bad_signature"
	}
	return keyB64, ""
}

// keyOf returns the base64 public key of the agent key in stateDir.
func keyOf(t *testing.T, stateDir string) string {
	t.Helper()
	k, err := agentkey.Load(filepath.Join(stateDir, agentkey.FileName))
	if err != nil {
		t.Fatalf("agent key: %v", err)
	}
	return base64.StdEncoding.EncodeToString(k.PublicKey())
}

// signers returns the key each stored report was signed with.
func (c *loopCollector) signers() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.signedBy)
}

// refusals returns "<code> <report id>" for each 403 answered.
func (c *loopCollector) refusals() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.refused...)
}

func (c *loopCollector) stored() map[string]*report.Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]*report.Report, len(c.reports))
	for k, v := range c.reports {
		out[k] = v
	}
	return out
}

func (c *loopCollector) problems() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.invalid...)
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// agentConfig writes a service config for a test and returns its path and
// the state directory.
func agentConfig(t *testing.T, collectorURL, token, extra string) (cfgPath, stateDir string) {
	t.Helper()
	dir := t.TempDir()
	stateDir = filepath.Join(dir, "state")
	cfgPath = filepath.Join(dir, "config.yaml")
	doc := fmt.Sprintf("collector:\n  url: %q\n  token: %q\nstate_dir: %q\ntags:\n  site: berlin\n  department: it\n%s",
		collectorURL, token, stateDir, extra)
	if collectorURL == "" {
		doc = fmt.Sprintf("state_dir: %q\n%s", stateDir, extra)
	}
	if err := os.WriteFile(cfgPath, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfgPath, stateDir
}

// kasperskyRoot is a small Debian root with KESL installed, for the
// service to scan on its schedule.
func kasperskyRoot(t *testing.T) string {
	t.Helper()
	root := newRoot(t, "svc-deb", debian12OSRelease)
	dpkgtest.Build(t, root, []dpkgtest.Pkg{
		{Name: "kesl", Version: "12.1.0-2968", Maintainer: kasperskyMaintainer,
			Description: "Kaspersky Endpoint Security for Linux",
			Files:       map[string]string{"/opt/kaspersky/kesl/bin/kesl-control": "#!/bin/sh\n"}},
	})
	return root
}

// startService starts `avscout service run` in the foreground and returns
// the process; its standard error goes to a file in the test's folder.
func startService(t *testing.T, args ...string) (*exec.Cmd, *syncbuf.Buffer) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"service", "run"}, args...)...)
	logs := new(syncbuf.Buffer)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, logs
}

// The service scans on its schedule, queues, delivers to a real HTTP
// server with the token and tags, stops cleanly on SIGTERM, and `status`
// tells what happened without scanning.
func TestServiceRunScansAndDelivers(t *testing.T) {
	const token = "enroll-7f3a9c2e4b1d"
	coll := newLoopCollector(t, token)
	cfg, stateDir := agentConfig(t, coll.url, token, "")
	root := kasperskyRoot(t)

	cmd, logs := startService(t, "--config", cfg, "--root", root, "--splay", "0", "--interval", "300ms")
	waitFor(t, "three reports at the collector", 30*time.Second, func() bool { return len(coll.stored()) >= 3 })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("service did not stop cleanly on SIGTERM: %v\n%s", err, logs)
	}
	if p := coll.problems(); len(p) > 0 {
		t.Errorf("collector saw bad requests: %v", p)
	}
	// Every report was signed with the key the service keeps, private, in
	// its state directory.
	key := keyOf(t, stateDir)
	for id, signer := range coll.signers() {
		if signer != key {
			t.Errorf("report %s signed by %s, want the agent key %s", id, signer, key)
		}
	}
	if fi, err := os.Stat(filepath.Join(stateDir, agentkey.FileName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("agent key file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	for id, r := range coll.stored() {
		if r.Compliant || r.Tags["site"] != "berlin" || r.Tags["department"] != "it" {
			t.Errorf("report %s: compliant=%v tags=%v, want not compliant with the config's tags", id, r.Compliant, r.Tags)
		}
		if _, ok := product(r, "kaspersky-endpoint-security-linux"); !ok {
			t.Errorf("report %s lacks KESL: %v", id, productIDs(r))
		}
	}
	if strings.Contains(logs.String(), token) {
		t.Errorf("the token appears in the service's log:\n%s", logs)
	}

	out, stderr, code := avscout(t, "status", "--config", cfg, "--format", "json")
	if code != 0 {
		t.Fatalf("status: exit %d: %s", code, stderr)
	}
	var st statusDoc
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status json: %v\n%s", err, out)
	}
	if st.StateDir != stateDir || st.LastScan == nil || st.LastScan.Compliant || len(st.LastScan.Restricted) != 1 {
		t.Errorf("status = %s", out)
	}
	if st.LastDelivery == nil || st.LastDelivery.LastSuccess.IsZero() || st.LastDelivery.Error != "" {
		t.Errorf("status last delivery = %+v", st.LastDelivery)
	}
	k, _ := agentkey.Load(filepath.Join(stateDir, agentkey.FileName))
	if k == nil || st.AgentKey.Fingerprint != k.Fingerprint() || !strings.HasPrefix(st.AgentKey.Fingerprint, "SHA256:") {
		t.Errorf("status agent key = %+v, want the key file's fingerprint", st.AgentKey)
	}
	if _, ok := coll.stored()[st.LastScan.ReportID]; !ok && st.Queue.Reports == 0 {
		t.Errorf("last report %s neither delivered nor queued", st.LastScan.ReportID)
	}
	table, _, _ := avscout(t, "status", "--config", cfg)
	for _, want := range []string{"NOT COMPLIANT", "Kaspersky Endpoint Security for Linux", "Last delivery:", "Agent key:", st.AgentKey.Fingerprint} {
		if !strings.Contains(table, want) {
			t.Errorf("status table lacks %q:\n%s", want, table)
		}
	}
}

// The collector is down: the report stays queued and status says why;
// once the collector is back every queued report arrives, once.
func TestServiceKeepsReportsWhileTheCollectorIsDown(t *testing.T) {
	const token = "enroll-outage"
	coll := newLoopCollector(t, token)
	coll.down()
	cfg, stateDir := agentConfig(t, coll.url, token, "")
	root := kasperskyRoot(t)

	var ids []string
	for i := 0; i < 3; i++ {
		_, stderr, code := avscout(t, "service", "run", "--once", "--config", cfg, "--root", root)
		if code != exitUsage || !strings.Contains(stderr, "stays queued") {
			t.Fatalf("run --once with the collector down: exit %d, stderr %q; want exit 2 saying the report stays queued", code, stderr)
		}
		st, err := readStatus(t, cfg)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, st.LastScan.ReportID)
		if st.Queue.Reports != i+1 || st.LastDelivery == nil || st.LastDelivery.Error == "" {
			t.Fatalf("after outage run %d: queue %+v, last delivery %+v", i+1, st.Queue, st.LastDelivery)
		}
	}
	entries, _ := filepath.Glob(filepath.Join(stateDir, "spool", "*"))
	if len(entries) < 3 {
		t.Errorf("spool holds %v, want the three reports on disk", entries)
	}

	coll.up()
	if _, stderr, code := avscout(t, "service", "run", "--once", "--config", cfg, "--root", root); code != 0 {
		t.Fatalf("run --once with the collector back: exit %d: %s", code, stderr)
	}
	stored := coll.stored()
	if len(stored) != 4 {
		t.Errorf("collector holds %d reports, want 4 (three queued during the outage and the new one)", len(stored))
	}
	for _, id := range ids {
		if _, ok := stored[id]; !ok {
			t.Errorf("report %s queued during the outage never arrived", id)
		}
	}
	st, _ := readStatus(t, cfg)
	if st.Queue.Reports != 0 {
		t.Errorf("queue after recovery: %+v, want empty", st.Queue)
	}
}

func readStatus(t *testing.T, cfg string) (statusDoc, error) {
	t.Helper()
	out, stderr, code := avscout(t, "status", "--config", cfg, "--format", "json")
	var st statusDoc
	if code != 0 {
		return st, fmt.Errorf("status: exit %d: %s", code, stderr)
	}
	return st, json.Unmarshal([]byte(out), &st)
}

// kill -9 during spool writes and during sends, many times: afterwards no
// report is lost or corrupt, and none is stored twice by the collector.
func TestServiceSurvivesKill9(t *testing.T) {
	const token = "enroll-crash"
	coll := newLoopCollector(t, token)
	coll.delay = func() time.Duration { return time.Duration(rand.IntN(60)) * time.Millisecond }
	cfg, stateDir := agentConfig(t, coll.url, token, "")
	root := kasperskyRoot(t)

	queued := map[string]bool{} // ids the service logged as queued
	collect := func(logs string) {
		for _, line := range strings.Split(logs, "\n") {
			if !strings.Contains(line, "scan done") {
				continue
			}
			if i := strings.Index(line, "report_id="); i >= 0 {
				queued[strings.Fields(line[i+len("report_id="):])[0]] = true
			}
		}
	}
	// Kill until at least `kills` scans were queued: on a loaded machine a
	// start may take longer than the random delay, and such a round
	// exercises nothing.
	const kills = 15
	for i := 0; len(queued) < kills && i < 4*kills; i++ {
		cmd, logs := startService(t, "--config", cfg, "--root", root, "--splay", "0", "--interval", "20ms")
		time.Sleep(time.Duration(80+rand.IntN(250)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		collect(logs.String())
	}
	// No temporary or torn files: every entry left in the spool is a
	// complete gzip report.
	entries, _ := os.ReadDir(filepath.Join(stateDir, "spool"))
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json.gz") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(stateDir, "spool", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Errorf("spool entry %s is not gzip after a kill: %v", e.Name(), err)
			continue
		}
		if body, err := io.ReadAll(zr); err != nil || schema.Validate(body) != nil {
			t.Errorf("spool entry %s is torn after a kill: %v", e.Name(), err)
		}
	}

	// A last, undisturbed run drains what the kills left behind.
	coll.delay = nil
	cmd, logs := startService(t, "--config", cfg, "--root", root, "--splay", "1h")
	// SIGTERM only once the service handles it: the spool may already be
	// empty when it starts, and a signal before its handler kills it.
	waitFor(t, "the service to run", 60*time.Second, func() bool {
		return strings.Contains(logs.String(), "service running in the foreground")
	})
	waitFor(t, "the spool to drain", 60*time.Second, func() bool {
		st, err := readStatus(t, cfg)
		return err == nil && st.Queue.Reports == 0
	})
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("final run: %v\n%s", err, logs)
	}
	if len(queued) < kills {
		t.Fatalf("only %d reports were queued over %d runs: the test did not exercise the service", len(queued), 4*kills)
	}
	stored := coll.stored()
	for id := range queued {
		if _, ok := stored[id]; !ok {
			t.Errorf("report %s was queued but never arrived", id)
		}
	}
	if p := coll.problems(); len(p) > 0 {
		t.Errorf("collector saw bad or conflicting reports: %v", p)
	}
	dead, _ := filepath.Glob(filepath.Join(stateDir, "spool", "deadletter", "*"))
	if len(dead) > 0 {
		t.Errorf("kills left dead letters: %v", dead)
	}
	resent := 0
	coll.mu.Lock()
	for _, n := range coll.arrivals {
		if n > 1 {
			resent++
		}
	}
	coll.mu.Unlock()
	t.Logf("%d kills: %d reports queued and logged, %d stored at the collector, %d re-sent after a kill and deduplicated by report id",
		kills, len(queued), len(stored), resent)
}
