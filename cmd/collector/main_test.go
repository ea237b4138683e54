package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/collector/store"
	"github.com/avscout/avscout/internal/collector/store/pgtest"
	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/syncbuf"
)

var pg = pgtest.New()

// binDir holds the avscout-collector built for this test run, binary.
var binDir, binary string

func TestMain(m *testing.M) {
	var err error
	if binDir, err = os.MkdirTemp("", "avscout-collector-test-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	pg.Stop()
	os.RemoveAll(binDir)
	os.Exit(code)
}

var buildOnce sync.Once

// build builds the collector binary once for the test run.
func build(t *testing.T) string {
	t.Helper()
	var err error
	buildOnce.Do(func() {
		binary = filepath.Join(binDir, "avscout-collector")
		if runtime.GOOS == "windows" {
			binary += ".exe"
		}
		// go test puts its own GOROOT/bin first on PATH.
		cmd := exec.Command("go", "build", "-ldflags", "-X main.version=test-1", "-o", binary, ".")
		var out []byte
		if out, err = cmd.CombinedOutput(); err != nil {
			err = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(binary); err != nil {
		t.Fatalf("collector binary: %v", err)
	}
	return binary
}

// cli runs the collector binary with args and returns its output.
func cli(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(build(t), args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("running %v: %v", args, err)
	}
	return o.String(), e.String(), code
}

func TestUsage(t *testing.T) {
	dir := t.TempDir()
	worldReadable := filepath.Join(dir, "admin")
	if err := os.WriteFile(worldReadable, []byte("0123456789abcdef0123"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(worldReadable, 0o644); err != nil { // past the umask
		t.Fatal(err)
	}
	db := filepath.Join(dir, "x.db")
	for _, tt := range []struct {
		name    string
		args    []string
		code    int
		wantErr string
	}{
		{"unknown_command", []string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{"unknown_flag", []string{"--bogus"}, exitUsage, "bogus"},
		{"tls_half", []string{"--tls-cert", "c.pem"}, exitUsage, "--tls-cert and --tls-key go together"},
		{"client_ca_without_tls", []string{"--client-ca", "ca.pem"}, exitUsage, "--client-ca needs --tls-cert"},
		{"bad_retention", []string{"--retention", "forever"}, exitUsage, "400d"},
		{"bad_rate", []string{"--rate", "0"}, exitUsage, "must be positive"},
		{"bad_max_inflight", []string{"--max-inflight", "0"}, exitUsage, "--max-inflight, --max-inflight-bytes, --max-future and --body-timeout must be positive"},
		{"bad_max_future", []string{"--max-future", "-1m"}, exitUsage, "must be positive"},
		{"bad_body_timeout", []string{"--body-timeout", "0s"}, exitUsage, "--body-timeout must be positive"},
		{"world_readable_admin", []string{"--admin-token-file", worldReadable, "--db", db}, exitUsage, "chmod 600"},
		{"missing_alerts_config", []string{"--alerts", filepath.Join(dir, "alerts.yaml"), "--db", db}, exitUsage, "alerts config"},
		{"missing_cert", []string{"--tls-cert", filepath.Join(dir, "c"), "--tls-key", filepath.Join(dir, "k"), "--db", db}, exitUsage, "loading TLS certificate"},
		{"stray_argument", []string{"serve", "extra"}, exitUsage, `unexpected argument "extra"`},
		{"token_no_sub", []string{"token"}, exitUsage, "want create, list or revoke"},
		{"token_no_name", []string{"token", "create", "--db", db}, exitUsage, "--name NAME"},
		{"token_bad_name", []string{"token", "create", "--name", "a\tb", "--db", db}, exitUsage, "control characters"},
		{"token_revoke_unknown", []string{"token", "revoke", "--db", db, "nope"}, exitError, "not found"},
		{"bad_db", []string{"migrate", "--db", filepath.Join(dir, "no", "such", "dir.db")}, exitError, "opening database"},
		{"listen_in_use_or_bad", []string{"--listen", "256.0.0.1:1", "--db", db}, exitError, "listening on"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.code || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want %d with %q", code, stderr.String(), tt.code, tt.wantErr)
			}
		})
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"version"}, &stdout, &stderr); code != 0 || !strings.HasPrefix(stdout.String(), fmt.Sprintf("avscout-collector dev (schema %d)", store.KnownSchemaVersion())) {
		t.Errorf("version: %d %q", code, stdout.String())
	}
}

// goldenReport returns a real scan's report (the agent's golden output)
// as host id would send it, made whole and gzipped.
func goldenReport(t *testing.T, name, hostID string, at time.Time) (id string, gz []byte) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "agent", "testdata", "golden", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	id = report.NewID()
	m["report_id"], m["generated_at"] = id, report.FormatTime(at)
	m["agent"].(map[string]any)["version"] = "1.0.0"
	h := m["host"].(map[string]any)
	h["id"], h["hostname"], h["root"] = hostID, hostID, "/"
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(m); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	return id, buf.Bytes()
}

// collectorProc is a running avscout-collector.
type collectorProc struct {
	cmd    *exec.Cmd
	base   string
	stderr *syncbuf.Buffer
	exited chan error
}

// logWith returns the collector's log once it holds want (it may be
// written just after the server answers its first request), or as it is
// after 10 s.
func (p *collectorProc) logWith(t *testing.T, want string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		log := p.stderr.String()
		if strings.Contains(log, want) || time.Now().After(deadline) {
			return log
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// start runs the collector with args on a free loopback port and waits
// until /healthz answers through client.
func start(t *testing.T, client *http.Client, scheme string, args ...string) *collectorProc {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	p := &collectorProc{base: scheme + "://" + addr, stderr: &syncbuf.Buffer{}, exited: make(chan error, 1)}
	p.cmd = exec.Command(build(t), append([]string{"serve", "--listen", addr}, args...)...)
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			// Killed, it exits with a signal status; anything else is
			// a failure to wait for it.
			var exit *exec.ExitError
			if err := <-p.exited; !errors.As(err, &exit) {
				t.Errorf("stop the collector: %v", err)
			}
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get(p.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case err := <-p.exited:
			t.Fatalf("collector exited while starting: %v\n%s", err, p.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("collector not ready: %v\n%s", err, p.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGTERM and checks the collector exits cleanly.
func (p *collectorProc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		if err != nil {
			t.Errorf("collector exited with %v after SIGTERM\n%s", err, p.stderr)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("collector did not exit after SIGTERM\n%s", p.stderr)
	}
	if !strings.Contains(p.stderr.String(), "stopped") {
		t.Errorf("no clean shutdown in the log:\n%s", p.stderr)
	}
}

func request(t *testing.T, c *http.Client, method, url, auth string, body []byte, hdr map[string]string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// postReport sends a gzipped report as the agent does, signed with the
// key of its host (see hostKey).
func postReport(t *testing.T, c *http.Client, base, secret, id string, gz []byte) (int, []byte) {
	t.Helper()
	return postSigned(t, c, base, secret, id, gz, hostKey(t, gz))
}

func writeAdminToken(t *testing.T, dir string) (path, token string) {
	t.Helper()
	token = "admin-" + report.NewID()
	path = filepath.Join(dir, "admin-token")
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, token
}

// createToken runs "token create" and returns the id and secret.
func createToken(t *testing.T, db, name string) (id, secret string) {
	t.Helper()
	stdout, stderr, code := cli(t, "token", "create", "--name", name, "--db", db)
	if code != 0 {
		t.Fatalf("token create: exit %d: %s", code, stderr)
	}
	for line := range strings.Lines(stdout) {
		k, v, _ := strings.Cut(line, ":")
		switch k {
		case "id":
			id = strings.TrimSpace(v)
		case "secret":
			secret = strings.TrimSpace(v)
		}
	}
	if id == "" || !strings.HasPrefix(secret, store.SecretPrefix) {
		t.Fatalf("token create printed %q", stdout)
	}
	if strings.Contains(stderr, secret) {
		t.Error("the secret went to stderr (logs) too")
	}
	return id, secret
}

func TestProcess(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "avscout.db")
	adminFile, admin := writeAdminToken(t, dir)
	tokenID, secret := createToken(t, db, "fleet")
	if st, err := os.Stat(db); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("database file: %v, mode %v; want 0600", err, st.Mode().Perm())
	}

	c := &http.Client{Timeout: 30 * time.Second}
	p := start(t, c, "http", "--db", db, "--admin-token-file", adminFile, "--log-level", "debug")

	id, gz := goldenReport(t, "debian-kaspersky", "deb-1", time.Now().Add(-time.Minute))
	if code, body := postReport(t, c, p.base, secret, id, gz); code != http.StatusCreated {
		t.Fatalf("POST report: %d %s", code, body)
	}
	if code, body := postReport(t, c, p.base, secret, id, gz); code != http.StatusOK || !strings.Contains(string(body), "duplicate") {
		t.Errorf("replay: %d %s", code, body)
	}
	code, body := request(t, c, http.MethodGet, p.base+"/v1/hosts?state=restricted", "Bearer "+admin, nil, nil)
	var page store.HostPage
	if err := json.Unmarshal(body, &page); code != 200 || err != nil || page.Total != 1 || page.Hosts[0].ID != "deb-1" ||
		len(page.Hosts[0].Restricted) != 2 {
		t.Errorf("GET /v1/hosts: %d %s", code, body)
	}
	if code, _ := request(t, c, http.MethodGet, p.base+"/v1/hosts", "Bearer "+secret, nil, nil); code != http.StatusUnauthorized {
		t.Errorf("enrollment token on the read API: %d", code)
	}

	// The CLI works beside the running server (SQLite in WAL mode).
	stdout, stderr, code := cli(t, "token", "list", "--db", db, "--json")
	var tokens []store.Token
	if err := json.Unmarshal([]byte(stdout), &tokens); code != 0 || err != nil || len(tokens) != 1 || tokens[0].ID != tokenID || tokens[0].LastUsed.IsZero() {
		t.Errorf("token list: %d %q %s", code, stdout, stderr)
	}
	if strings.Contains(stdout, secret) {
		t.Error("token list shows the secret")
	}
	if _, stderr, code := cli(t, "token", "revoke", "--db", db, tokenID); code != 0 {
		t.Fatalf("token revoke: %d %s", code, stderr)
	}
	// The server refuses the token within its cache's few seconds.
	id2, gz2 := goldenReport(t, "debian-clean", "deb-1", time.Now())
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := postReport(t, c, p.base, secret, id2, gz2)
		if code == http.StatusUnauthorized {
			break
		}
		if code != http.StatusCreated && code != http.StatusOK || time.Now().After(deadline) {
			t.Fatalf("revoked token: %d %s", code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}

	stdout, _, code = cli(t, "migrate", "--db", db)
	if code != 0 || !strings.Contains(stdout, fmt.Sprintf("schema version %d", store.KnownSchemaVersion())) {
		t.Errorf("migrate: %d %q", code, stdout)
	}
	p.stop(t)
	logs := p.stderr.String()
	if strings.Contains(logs, secret) || strings.Contains(logs, admin) {
		t.Errorf("a secret reached the log:\n%s", logs)
	}
	if !strings.Contains(logs, "report rejected") || !strings.Contains(logs, "reason=unauthorized") {
		t.Errorf("rejection not logged:\n%s", logs)
	}
}

// Two replicas on one PostgreSQL database serve as one collector.
func TestReplicasPostgres(t *testing.T) {
	dsn := pg.DSN(t)
	dir := t.TempDir()
	adminFile, admin := writeAdminToken(t, dir)
	_, secret := createToken(t, dsn, "fleet")
	c := &http.Client{Timeout: 30 * time.Second}
	a := start(t, c, "http", "--db", dsn, "--admin-token-file", adminFile)
	b := start(t, c, "http", "--db", dsn, "--admin-token-file", adminFile)

	id, gz := goldenReport(t, "windows-kes-active", "win-1", time.Now().Add(-time.Minute))
	if code, body := postReport(t, c, a.base, secret, id, gz); code != http.StatusCreated {
		t.Fatalf("POST to replica a: %d %s", code, body)
	}
	// The agent's retry lands on the other replica: a duplicate.
	if code, body := postReport(t, c, b.base, secret, id, gz); code != http.StatusOK {
		t.Errorf("replay on replica b: %d %s", code, body)
	}
	code, body := request(t, c, http.MethodGet, b.base+"/v1/hosts/win-1", "Bearer "+admin, nil, nil)
	var d store.HostDetail
	if err := json.Unmarshal(body, &d); code != 200 || err != nil || d.Latest.ReportID != id || d.State != store.HostRestricted {
		t.Errorf("GET host from replica b: %d %s", code, body)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if pw, ok := u.User.Password(); !ok || strings.Contains(a.stderr.String(), pw) || !strings.Contains(a.stderr.String(), "xxxxx") {
		t.Errorf("the database password reached the log, or the DSN was not logged redacted:\n%s", a.stderr)
	}
	a.stop(t)
	b.stop(t)
}

func TestProcessTLS(t *testing.T) {
	dir := t.TempDir()
	pki := newPKI(t, dir)
	db := filepath.Join(dir, "avscout.db")
	adminFile, admin := writeAdminToken(t, dir)
	_, secret := createToken(t, db, "fleet")

	withCert := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: pki.roots, Certificates: []tls.Certificate{pki.client},
	}}}
	p := start(t, withCert, "https", "--db", db, "--admin-token-file", adminFile,
		"--tls-cert", pki.certFile, "--tls-key", pki.keyFile, "--client-ca", pki.caFile)

	id, gz := goldenReport(t, "darwin-whitelabel", "mac-1", time.Now())
	if code, body := postReport(t, withCert, p.base, secret, id, gz); code != http.StatusCreated {
		t.Fatalf("POST over mutual TLS: %d %s", code, body)
	}
	req, _ := http.NewRequest(http.MethodGet, p.base+"/v1/summary", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := withCert.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("summary over TLS: %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}

	noCert := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.roots}}}
	if resp, err := noCert.Get(p.base + "/healthz"); err == nil {
		resp.Body.Close()
		t.Errorf("a client without a certificate got %d", resp.StatusCode)
	}
	p.stop(t)
}

// pki is a throwaway CA with a server certificate for 127.0.0.1 and a
// client certificate.
type pki struct {
	roots                     *x509.CertPool
	caFile, certFile, keyFile string
	client                    tls.Certificate
}

func newPKI(t *testing.T, dir string) pki {
	t.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey := key()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "avscout test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, usage x509.ExtKeyUsage, ips []net.IP) ([]byte, *ecdsa.PrivateKey) {
		k := key()
		der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "avscout test"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: ips,
		}, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, k
	}
	pemFile := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var out pki
	out.roots = x509.NewCertPool()
	out.roots.AddCert(ca)
	out.caFile = pemFile("ca.pem", "CERTIFICATE", caDER)
	srvDER, srvKey := issue(2, x509.ExtKeyUsageServerAuth, []net.IP{net.IPv4(127, 0, 0, 1)})
	out.certFile = pemFile("server.pem", "CERTIFICATE", srvDER)
	keyDER, _ := x509.MarshalECPrivateKey(srvKey)
	out.keyFile = pemFile("server-key.pem", "EC PRIVATE KEY", keyDER)
	cliDER, cliKey := issue(3, x509.ExtKeyUsageClientAuth, nil)
	out.client = tls.Certificate{Certificate: [][]byte{cliDER}, PrivateKey: cliKey}
	return out
}

// TestHelp asks the real binary for each command's help: it goes to
// stdout with exit 0, names the command's synopsis and its flags in the
// README's --flag form, and touches no database.
func TestHelp(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"avscout-collector token create", "Exit codes"}},
		{[]string{"help"}, []string{"avscout-collector host rekey"}},
		{[]string{"serve", "--help"}, []string{"avscout-collector [serve]", "--admin-token-file FILE", "--listen ADDR"}},
		{[]string{"--listen", "127.0.0.1:0", "-h"}, []string{"--tls-cert FILE"}},
		{[]string{"token", "--help"}, []string{"token create --name NAME", "token list", "token revoke"}},
		{[]string{"token", "help"}, []string{"token create --name NAME"}},
		{[]string{"token", "create", "--help"}, []string{"token create --name NAME", "--name NAME", "--db PATH"}},
		{[]string{"token", "list", "-h"}, []string{"token list", "--json"}},
		{[]string{"token", "revoke", "--help"}, []string{"token revoke", "ID", "--db PATH"}},
		{[]string{"host", "--help"}, []string{"host show", "host rekey"}},
		{[]string{"host", "show", "--help"}, []string{"host show", "--json"}},
		{[]string{"host", "rekey", "x", "--help"}, []string{"host rekey", "--key ed25519:BASE64", "--clear"}},
		{[]string{"migrate", "--help"}, []string{"avscout-collector migrate", "--db PATH"}},
		{[]string{"audit", "--help"}, []string{"audit export", "audit key", "audit log"}},
		{[]string{"audit", "log", "--help"}, []string{"audit log", "--target T", "--action A", "--limit N", "--json"}},
		{[]string{"audit", "export", "--help"}, []string{"audit export", "--since T", "--out FILE", "--signing-key FILE"}},
	} {
		t.Run(strings.Join(tt.args, "_"), func(t *testing.T) {
			cmd := exec.Command(build(t), tt.args...)
			cmd.Dir = dir
			var o, e bytes.Buffer
			cmd.Stdout, cmd.Stderr = &o, &e
			if err := cmd.Run(); err != nil {
				t.Fatalf("%v: %v\nstdout: %s\nstderr: %s", tt.args, err, o.String(), e.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(o.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, o.String())
				}
			}
			if e.Len() > 0 {
				t.Errorf("stderr not empty: %s", e.String())
			}
			if strings.Contains(o.String(), "Usage of ") || regexp.MustCompile(`(?m)^\s+-[a-z]`).MatchString(o.String()) {
				t.Errorf("Go's default flag help, not the --flag form:\n%s", o.String())
			}
		})
	}
	if ents, _ := os.ReadDir(dir); len(ents) > 0 {
		t.Errorf("help created %v in the working directory", ents)
	}
	// A mistake still says what is wrong on stderr, with exit 2.
	_, stderr, code := cli(t, "token", "create", "--bogus")
	if code != exitUsage || !strings.Contains(stderr, "bogus") || !strings.Contains(stderr, "token create --name NAME") {
		t.Errorf("token create --bogus: exit %d, stderr %q", code, stderr)
	}
}

// TestStartupTellsHowToLogIn starts the real binary as "make collector"
// does and checks its log names the dashboard's URL and the file that
// holds the credential, never the secret; without an admin file it says
// the dashboard is off and how to turn it on.
func TestStartupTellsHowToLogIn(t *testing.T) {
	dir := t.TempDir()
	adminFile := filepath.Join(dir, "admin-token")
	secret := "0123456789abcdef" + report.NewID()
	if err := os.WriteFile(adminFile, []byte("alice:"+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: 30 * time.Second}
	p := start(t, c, "http", "--db", filepath.Join(dir, "a.db"), "--admin-token-file", adminFile)
	log := p.logWith(t, "dashboard ready")
	for _, want := range []string{"url=" + p.base + "/", "admin_token_file=" + adminFile, "any user name", "NAME:SECRET"} {
		if !strings.Contains(log, want) {
			t.Errorf("start-up log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, secret) {
		t.Errorf("start-up log shows the secret:\n%s", log)
	}
	// A browser without the credential gets the login page, with the
	// Basic challenge that makes it ask.
	req, _ := http.NewRequest(http.MethodGet, p.base+"/hosts", nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") ||
		resp.Header.Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") ||
		!strings.Contains(string(page), "Log in to the avscout dashboard") || strings.Contains(string(page), "<script") {
		t.Errorf("browser without a credential: %d %v\n%s", resp.StatusCode, resp.Header, page)
	}
	// What the log says works: any user name, the secret as password.
	req, _ = http.NewRequest(http.MethodGet, p.base+"/", nil)
	req.SetBasicAuth("someone-else", secret) // the credential is named alice
	if resp, err = c.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("dashboard with the logged instructions: %d", resp.StatusCode)
	}
	p.stop(t)

	p = start(t, c, "http", "--db", filepath.Join(dir, "b.db"))
	if log := p.logWith(t, "dashboard off"); !strings.Contains(log, "dashboard off") || !strings.Contains(log, "--admin-token-file") ||
		!strings.Contains(log, "url="+p.base+"/") {
		t.Errorf("start-up log without an admin file:\n%s", log)
	}
	p.stop(t)
}
