package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/collector/admin"
	"github.com/avscout/avscout/internal/collector/store"
	"github.com/avscout/avscout/internal/report"
)

// agentKeyFor is a test agent's Ed25519 key, the same for the same seed.
func agentKeyFor(seed string) ed25519.PrivateKey {
	s := sha256.Sum256([]byte("avscout collector process test key " + seed))
	return ed25519.NewKeyFromSeed(s[:])
}

func pubOf(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

func gunzip(t *testing.T, gz []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// hostKey is the key of the agent of the host a gzipped report is for:
// each host id has its own.
func hostKey(t *testing.T, gz []byte) ed25519.PrivateKey {
	t.Helper()
	var r struct {
		Host struct {
			ID string `json:"id"`
		} `json:"host"`
	}
	if err := json.Unmarshal(gunzip(t, gz), &r); err != nil {
		t.Fatal(err)
	}
	return agentKeyFor("host " + r.Host.ID)
}

// postSigned sends a gzipped report as the agent does, signed with k
// over its uncompressed bytes; a nil k sends it unsigned.
func postSigned(t *testing.T, c *http.Client, base, secret, id string, gz []byte, k ed25519.PrivateKey) (int, []byte) {
	t.Helper()
	hdr := map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip", "Idempotency-Key": id}
	if k != nil {
		hdr["Avscout-Public-Key"] = store.FormatKey(pubOf(k))
		hdr["Avscout-Signature"] = "ed25519:" + base64.StdEncoding.EncodeToString(ed25519.Sign(k, gunzip(t, gz)))
	}
	return request(t, c, http.MethodPost, base+"/v1/reports", "Bearer "+secret, gz, hdr)
}

// refusedCode returns the "code" of a JSON error body.
func refusedCode(body []byte) string {
	var e struct{ Code string }
	_ = json.Unmarshal(body, &e)
	return e.Code
}

// writeAdmins writes an admin credentials file of NAME:SECRET lines.
func writeAdmins(t *testing.T, path string, creds map[string]string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("# admin credentials of the test\n")
	for name, secret := range creds {
		fmt.Fprintf(&b, "%s:%s\n", name, secret)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

type hostView struct {
	store.HostDetail
	Key struct {
		Pinned             bool   `json:"pinned"`
		Fingerprint        string `json:"fingerprint"`
		PinnedBy           string `json:"pinned_by"`
		RefusedFingerprint string `json:"refused_fingerprint"`
	} `json:"key"`
}

// Impersonation attempts against the real collector, on SQLite and
// PostgreSQL: a token holder without the host's key cannot change a
// pinned host's state, by another key, no signature, a replay, or a
// report dated in the future; a re-installed agent is accepted only after
// an administrator's rekey (API and command line, both audited); pins
// survive a restart.
func TestImpersonation(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			db := filepath.Join(dir, "avscout.db")
			if backend == "postgres" {
				db = pg.DSN(t)
			}
			adminFile := filepath.Join(dir, "admins")
			alice := "alice-" + report.NewID()
			writeAdmins(t, adminFile, map[string]string{"alice": alice, "bob": "bob-" + report.NewID()})
			// The thief holds a copy of the fleet's one enrollment token.
			_, secret := createToken(t, db, "fleet")
			c := &http.Client{Timeout: 30 * time.Second}
			p := start(t, c, "http", "--db", db, "--admin-token-file", adminFile)

			agent, thief := agentKeyFor("victim's agent"), agentKeyFor("thief")
			host := func() hostView {
				t.Helper()
				code, body := request(t, c, http.MethodGet, p.base+"/v1/hosts/victim", "Bearer "+alice, nil, nil)
				var v hostView
				if err := json.Unmarshal(body, &v); code != 200 || err != nil {
					t.Fatalf("GET /v1/hosts/victim: %d %s", code, body)
				}
				return v
			}
			restricted := func() int {
				t.Helper()
				_, body := request(t, c, http.MethodGet, p.base+"/v1/summary", "Bearer "+alice, nil, nil)
				var s store.Summary
				if err := json.Unmarshal(body, &s); err != nil {
					t.Fatalf("summary: %s", body)
				}
				return s.Restricted
			}

			now := time.Now()
			id1, gz1 := goldenReport(t, "windows-kes-active", "victim", now.Add(-3*time.Minute))
			if code, body := postSigned(t, c, p.base, secret, id1, gz1, agent); code != http.StatusCreated {
				t.Fatalf("the agent's first report: %d %s", code, body)
			}
			h := host()
			if h.State != store.HostRestricted || !h.Key.Pinned || h.Key.Fingerprint != store.Fingerprint(pubOf(agent)) || h.Key.PinnedBy != "first-contact" {
				t.Fatalf("victim after its first report: %s %+v", h.State, h.Key)
			}
			unchanged := func(what string) {
				t.Helper()
				if h := host(); h.State != store.HostRestricted || h.LastReportID != id1 || restricted() != 1 {
					t.Errorf("after %s: victim %s, latest %s, %d restricted; want restricted, %s, 1", what, h.State, h.LastReportID, restricted(), id1)
				}
			}

			// A forged "compliant" report under the victim's id.
			idF, gzF := goldenReport(t, "windows-clean", "victim", now.Add(-time.Minute))
			if code, body := postSigned(t, c, p.base, secret, idF, gzF, thief); code != http.StatusForbidden || refusedCode(body) != "key_mismatch" {
				t.Errorf("forged report with the thief's key: %d %s", code, body)
			}
			unchanged("a report signed with another key")
			if code, body := postSigned(t, c, p.base, secret, idF, gzF, nil); code != http.StatusForbidden || refusedCode(body) != "unsigned" {
				t.Errorf("unsigned forged report: %d %s", code, body)
			}
			unchanged("an unsigned report")
			// The pinned public key, with a signature the thief can make.
			req, _ := http.NewRequest(http.MethodPost, p.base+"/v1/reports", bytes.NewReader(gzF))
			for k, v := range map[string]string{"Authorization": "Bearer " + secret, "Content-Type": "application/json", "Content-Encoding": "gzip",
				"Idempotency-Key": idF, "Avscout-Public-Key": store.FormatKey(pubOf(agent)),
				"Avscout-Signature": "ed25519:" + base64.StdEncoding.EncodeToString(ed25519.Sign(thief, gunzip(t, gzF)))} {
				req.Header.Set(k, v)
			}
			if resp, err := c.Do(req); err != nil {
				t.Fatal(err)
			} else {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusForbidden || refusedCode(body) != "bad_signature" {
					t.Errorf("the pinned key with a forged signature: %d %s", resp.StatusCode, body)
				}
			}
			unchanged("a bad signature")
			// Replaying the victim's own signed report: a duplicate.
			if code, body := postSigned(t, c, p.base, secret, id1, gz1, agent); code != http.StatusOK || !strings.Contains(string(body), "duplicate") {
				t.Errorf("replayed report: %d %s", code, body)
			}
			unchanged("a replay")
			// A report dated more than 5 minutes ahead, even validly signed.
			idFut, gzFut := goldenReport(t, "windows-clean", "victim", now.Add(10*time.Minute))
			if code, body := postSigned(t, c, p.base, secret, idFut, gzFut, agent); code != http.StatusBadRequest || !strings.Contains(string(body), "in the future") {
				t.Errorf("report 10 minutes in the future: %d %s", code, body)
			}
			unchanged("a future-dated report")

			// The agent is re-installed with a new key under the same host id.
			reinstalled := agentKeyFor("victim's re-installed agent")
			idR, gzR := goldenReport(t, "windows-clean", "victim", now.Add(-30*time.Second))
			if code, body := postSigned(t, c, p.base, secret, idR, gzR, reinstalled); code != http.StatusForbidden || refusedCode(body) != "key_mismatch" {
				t.Fatalf("re-installed agent before rekey: %d %s", code, body)
			}
			unchanged("the re-installed agent's report before rekey")
			stdout, stderr, code := cli(t, "host", "show", "--db", db, "victim")
			if code != 0 || !strings.Contains(stdout, store.Fingerprint(pubOf(agent))) || !strings.Contains(stdout, store.Fingerprint(pubOf(reinstalled))) ||
				!strings.Contains(stdout, "host rekey victim --key "+store.FormatKey(pubOf(reinstalled))) {
				t.Errorf("host show before rekey: %d\n%s%s", code, stdout, stderr)
			}
			if h := host(); h.Key.RefusedFingerprint != store.Fingerprint(pubOf(reinstalled)) {
				t.Errorf("GET host: refused key %q, want the re-installed agent's", h.Key.RefusedFingerprint)
			}
			// Bob's credential is no admin of the API by name only: the
			// rekey goes through with alice's, and names her.
			rk, _ := json.Marshal(map[string]string{"key": store.FormatKey(pubOf(reinstalled))})
			code, body := request(t, c, http.MethodPost, p.base+"/v1/hosts/victim/rekey", "Bearer "+alice, rk, map[string]string{"Content-Type": "application/json"})
			if code != http.StatusOK {
				t.Fatalf("rekey by API: %d %s", code, body)
			}
			if code, body := postSigned(t, c, p.base, secret, idR, gzR, reinstalled); code != http.StatusCreated {
				t.Fatalf("re-installed agent after rekey: %d %s", code, body)
			}
			if h := host(); h.State == store.HostRestricted || h.LastReportID != idR || h.Key.PinnedBy != "alice" {
				t.Errorf("after rekey and the new agent's report: %s, latest %s, pinned by %q", h.State, h.LastReportID, h.Key.PinnedBy)
			}
			idOld, gzOld := goldenReport(t, "windows-kes-active", "victim", now.Add(-20*time.Second))
			if code, body := postSigned(t, c, p.base, secret, idOld, gzOld, agent); code != http.StatusForbidden || refusedCode(body) != "key_mismatch" {
				t.Errorf("the old key after rekey: %d %s", code, body)
			}

			// The command line clears the pin beside the running server;
			// the next verified report pins again.
			if stdout, stderr, code := cli(t, "host", "rekey", "--db", db, "victim", "--clear"); code != 0 || !strings.Contains(stdout, "pin cleared") ||
				!strings.Contains(stderr, "host rekeyed by an administrator") {
				t.Fatalf("host rekey --clear: %d\n%s%s", code, stdout, stderr)
			}
			third := agentKeyFor("victim's third agent")
			id3, gz3 := goldenReport(t, "windows-clean", "victim", now.Add(-10*time.Second))
			if code, body := postSigned(t, c, p.base, secret, id3, gz3, third); code != http.StatusCreated {
				t.Fatalf("after clearing, a new key: %d %s", code, body)
			}
			stdout, _, code = cli(t, "host", "show", "--db", db, "--json", "victim")
			var v admin.HostKey
			if err := json.Unmarshal([]byte(stdout), &v); code != 0 || err != nil || v.Fingerprint != store.Fingerprint(pubOf(third)) || v.PinnedBy != "first-contact" || len(v.Audit) != 2 {
				t.Fatalf("host show --json: %d %v\n%s", code, err, stdout)
			}
			if a := v.Audit[0]; a.Action != store.AuditKeyClear || !strings.HasPrefix(a.Credential, "cli") || a.Remote != "" {
				t.Errorf("audit of the CLI clear: %+v", a)
			}
			if a := v.Audit[1]; a.Action != store.AuditRekey || a.Credential != "alice" || !strings.HasPrefix(a.Remote, "127.0.0.1:") ||
				!strings.Contains(a.Detail, store.Fingerprint(pubOf(reinstalled))) {
				t.Errorf("audit of the API rekey: %+v", a)
			}

			// Pins survive a restart.
			p.stop(t)
			logs := p.stderr.String()
			p = start(t, c, "http", "--db", db, "--admin-token-file", adminFile)
			idT, gzT := goldenReport(t, "windows-clean", "victim", time.Now().Add(-5*time.Second))
			if code, body := postSigned(t, c, p.base, secret, idT, gzT, thief); code != http.StatusForbidden || refusedCode(body) != "key_mismatch" {
				t.Errorf("thief after restart: %d %s", code, body)
			}
			if code, body := postSigned(t, c, p.base, secret, idT, gzT, third); code != http.StatusCreated {
				t.Errorf("pinned agent after restart: %d %s", code, body)
			}
			p.stop(t)
			logs += p.stderr.String()

			// The refusals and the rekey are in the log, with addresses and
			// fingerprints, never a secret.
			for _, want := range []string{
				"report refused", "reason=key_mismatch", "reason=unsigned", "reason=bad_signature", "remote=127.0.0.1:", "host=victim",
				"key=" + store.Fingerprint(pubOf(thief)), "pinned=" + store.Fingerprint(pubOf(agent)),
				"host rekeyed by an administrator", "credential=alice", "host key pinned on first contact",
			} {
				if !strings.Contains(logs, want) {
					t.Errorf("log lacks %q:\n%s", want, logs)
				}
			}
			if strings.Contains(logs, secret) || strings.Contains(logs, alice) {
				t.Errorf("a secret reached the log:\n%s", logs)
			}

			// The signed reports are kept with their key and signature.
			st, err := store.Open(context.Background(), db, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			for _, id := range []string{id1, idR, id3, idT} {
				if sr, err := st.SignedReport(context.Background(), id); err != nil || !sr.Verify() {
					t.Errorf("stored report %s: verifies %v, %v", id, sr.Verify(), err)
				}
			}
		})
	}
}

// Unsigned reports, with --allow-unsigned, only for hosts with no pin.
func TestAllowUnsignedProcess(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "avscout.db")
	_, secret := createToken(t, db, "fleet")
	c := &http.Client{Timeout: 30 * time.Second}
	p := start(t, c, "http", "--db", db)
	id, gz := goldenReport(t, "debian-clean", "old-agent", time.Now().Add(-time.Minute))
	if code, body := postSigned(t, c, p.base, secret, id, gz, nil); code != http.StatusForbidden || refusedCode(body) != "unsigned" {
		t.Errorf("unsigned without --allow-unsigned: %d %s", code, body)
	}
	p.stop(t)
	p = start(t, c, "http", "--db", db, "--allow-unsigned")
	if code, body := postSigned(t, c, p.base, secret, id, gz, nil); code != http.StatusCreated {
		t.Errorf("unsigned with --allow-unsigned: %d %s", code, body)
	}
	id2, gz2 := goldenReport(t, "debian-clean", "old-agent", time.Now().Add(-30*time.Second))
	if code, body := postSigned(t, c, p.base, secret, id2, gz2, agentKeyFor("upgraded")); code != http.StatusCreated {
		t.Errorf("the upgraded agent's first signed report: %d %s", code, body)
	}
	id3, gz3 := goldenReport(t, "debian-kaspersky", "old-agent", time.Now().Add(-10*time.Second))
	if code, body := postSigned(t, c, p.base, secret, id3, gz3, nil); code != http.StatusForbidden || refusedCode(body) != "unsigned" {
		t.Errorf("unsigned for a pinned host, --allow-unsigned or not: %d %s", code, body)
	}
	p.stop(t)
	if !strings.Contains(p.stderr.String(), "--allow-unsigned") {
		t.Errorf("no warning about --allow-unsigned:\n%s", p.stderr)
	}
}

// Named admin credentials: one removed from the file is refused within
// seconds; 50 wrong passwords get a few 401s and then 429s with
// Retry-After, each failure logged without the secret tried.
func TestAdminCredentialsProcess(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "avscout.db")
	adminFile := filepath.Join(dir, "admins")
	alice, bob := "alice-"+report.NewID(), "bob-"+report.NewID()
	writeAdmins(t, adminFile, map[string]string{"alice": alice, "bob": bob})
	c := &http.Client{Timeout: 30 * time.Second}
	p := start(t, c, "http", "--db", db, "--admin-token-file", adminFile)

	if code, _ := request(t, c, http.MethodGet, p.base+"/v1/summary", "Bearer "+bob, nil, nil); code != 200 {
		t.Fatalf("bob before revocation: %d", code)
	}
	// Bob leaves: his line is removed, no restart.
	writeAdmins(t, adminFile, map[string]string{"alice": alice})
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := request(t, c, http.MethodGet, p.base+"/v1/summary", "Bearer "+bob, nil, nil)
		if code == http.StatusUnauthorized {
			break
		}
		if code != 200 || time.Now().After(deadline) {
			t.Fatalf("bob after revocation: %d %s", code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code, _ := request(t, c, http.MethodGet, p.base+"/v1/summary", "Bearer "+alice, nil, nil); code != 200 {
		t.Fatalf("alice after bob's revocation: %d", code)
	}

	// Brute force from one address.
	var n401, n429 int
	var guesses []string
	retryAfter := 0
	for i := range 50 {
		guess := fmt.Sprintf("guess-%02d-%s", i, report.NewID())
		guesses = append(guesses, guess)
		req, _ := http.NewRequest(http.MethodGet, p.base+"/v1/hosts", nil)
		req.SetBasicAuth("mallory", guess)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			n401++
		case http.StatusTooManyRequests:
			n429++
			ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
			if err != nil || ra < 1 || ra > 300 {
				t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
			}
			retryAfter = ra
		default:
			t.Fatalf("guess %d: %d", i, resp.StatusCode)
		}
	}
	// 5 free failures; a slow machine may see the first 1 s wait expire once or twice.
	if n401 < 5 || n401 > 7 || n429 != 50-n401 {
		t.Errorf("50 wrong passwords: %d × 401, %d × 429; want 5 (up to 7) and the rest 429", n401, n429)
	}
	if code, _ := request(t, c, http.MethodGet, p.base+"/v1/summary", "Bearer "+alice, nil, nil); code != http.StatusTooManyRequests {
		t.Errorf("alice from the throttled address during the backoff: %d", code)
	}
	time.Sleep(time.Duration(retryAfter)*time.Second + 100*time.Millisecond)
	if code, _ := request(t, c, http.MethodGet, p.base+"/v1/summary", "Bearer "+alice, nil, nil); code != 200 {
		t.Errorf("alice after Retry-After: %d", code)
	}
	p.stop(t)
	logs := p.stderr.String()
	if got := strings.Count(logs, "admin authentication failed"); got != n401+1 { // and bob's
		t.Errorf("%d failure log lines, want %d:\n%s", got, n401+1, logs)
	}
	if !strings.Contains(logs, "user=mallory") || !strings.Contains(logs, "remote=127.0.0.1:") || !strings.Contains(logs, "names=alice") {
		t.Errorf("log lines:\n%s", logs)
	}
	for _, s := range append(guesses, alice, bob) {
		if strings.Contains(logs, s) {
			t.Fatalf("a secret tried reached the log: %s\n%s", s, logs)
		}
	}
}

func TestHostUsage(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "x.db")
	key := store.FormatKey(pubOf(agentKeyFor("usage")))
	for _, tt := range []struct {
		name    string
		args    []string
		code    int
		wantErr string
	}{
		{"no_sub", []string{"host"}, exitUsage, "want show or rekey"},
		{"unknown_sub", []string{"host", "delete", "h"}, exitUsage, `unknown subcommand "delete"`},
		{"show_no_id", []string{"host", "show", "--db", db}, exitUsage, "host show [--db …] [--json] HOST_ID"},
		{"show_two_ids", []string{"host", "show", "--db", db, "a", "b"}, exitUsage, "HOST_ID"},
		{"show_unknown", []string{"host", "show", "--db", db, "nobody"}, exitError, `host "nobody": not known`},
		{"rekey_neither", []string{"host", "rekey", "--db", db, "h"}, exitUsage, "--key ed25519:BASE64 | --clear"},
		{"rekey_both", []string{"host", "rekey", "--db", db, "h", "--clear", "--key", key}, exitUsage, "--key ed25519:BASE64 | --clear"},
		{"rekey_bad_key", []string{"host", "rekey", "--db", db, "h", "--key", "ed25519:AAAA"}, exitUsage, "--key: want ed25519:"},
		{"rekey_unknown", []string{"host", "rekey", "--db", db, "nobody", "--key", key}, exitError, "never reported"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.code || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want %d with %q", code, stderr.String(), tt.code, tt.wantErr)
			}
		})
	}
}

// audit log prints the access log newest first, itself included (reading
// the log is an access), filters it, and prints hostile targets on one
// line without terminal escapes.
func TestAuditLogCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "avscout.db")
	st, err := store.Open(context.Background(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []store.AuditEntry{
		{Credential: "ops", Remote: "192.0.2.7:4711", Action: store.AuditExport, Target: "/v1/export", Detail: "format=csv"},
		{Credential: "ops", Remote: "192.0.2.7:4711", Action: store.AuditRead, Target: "/v1/hosts/\x1b[2Jevil\nline"},
	} {
		if err := st.Audit(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	stdout, stderr, code := cli(t, "audit", "log", "--db", db)
	if code != 0 {
		t.Fatalf("audit log: exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "AT") || !strings.Contains(lines[1], "audit log") ||
		!strings.Contains(lines[3], "/v1/export") || !strings.Contains(lines[3], "format=csv") {
		t.Errorf("audit log table:\n%s", stdout)
	}
	if strings.ContainsAny(stdout, "\x1b") || !strings.Contains(lines[2], "evil") {
		t.Errorf("a hostile target is printed raw or lost:\n%q", stdout)
	}

	stdout, stderr, code = cli(t, "audit", "log", "--db", db, "--json", "--action", "export")
	if code != 0 {
		t.Fatalf("audit log --json: exit %d: %s", code, stderr)
	}
	var got []store.AuditEntry
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var e store.AuditEntry
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		got = append(got, e)
	}
	if len(got) != 1 || got[0].Target != "/v1/export" || got[0].Credential != "ops" {
		t.Errorf("audit log --action export = %+v", got)
	}
	for _, bad := range [][]string{{"--limit", "0"}, {"--limit", "1001"}, {"extra"}} {
		if _, _, code := cli(t, append([]string{"audit", "log", "--db", db}, bad...)...); code != exitUsage {
			t.Errorf("audit log %v: exit %d, want %d", bad, code, exitUsage)
		}
	}
}
