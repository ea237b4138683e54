//go:build linux

package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/auditbundle/bundletest"
	"github.com/avscout/avscout/internal/collector/store"
)

// Fleet audits with real processes: real agents deliver signed reports
// of dpkg-built Debian roots to the real collector (SQLite or PostgreSQL),
// an auditor exports the audit bundle through the command line and
// through the API, and the real agent binary verifies it offline against
// the collector key it pinned; then each kind of tampering (of a report,
// the chain, the access log, the manifest or its signer) fails, named.
func TestAuditBundleEndToEnd(t *testing.T) {
	agent := buildAgent(t)
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			db := filepath.Join(dir, "avscout.db")
			if backend == "postgres" {
				db = pg.DSN(t)
			}
			keyFile := filepath.Join(dir, "keys", "collector.key")
			if err := os.MkdirAll(filepath.Dir(keyFile), 0o700); err != nil {
				t.Fatal(err)
			}
			adminFile, admin := writeAdminToken(t, dir)
			_, secret := createToken(t, db, "audit-e2e")
			c := &http.Client{}
			since := time.Now().Add(-time.Hour).UTC()
			p := start(t, c, "http", "--db", db, "--admin-token-file", adminFile, "--signing-key", keyFile)

			// kesl-01 with Kaspersky, then without (its verdict history),
			// and a bare host.
			keslState := t.TempDir()
			agentOnce(t, agent, p.base, secret, debianHost(t, "kesl-01", "11111111111111111111111111111111", true, false), keslState)
			agentOnce(t, agent, p.base, secret, debianHost(t, "bare-03", "33333333333333333333333333333333", false, false), t.TempDir())
			agentOnce(t, agent, p.base, secret, debianHost(t, "kesl-01", "11111111111111111111111111111111", false, false), keslState)
			until := time.Now().Add(time.Hour).UTC()

			// The auditor pins the collector's key, as it prints it.
			stdout, stderr, code := cli(t, "audit", "key", "--db", db, "--signing-key", keyFile)
			fp := ""
			for line := range strings.Lines(stdout) {
				if v, ok := strings.CutPrefix(line, "fingerprint: "); ok {
					fp = strings.TrimSpace(v)
				}
			}
			if code != 0 || !strings.HasPrefix(fp, "SHA256:") {
				t.Fatalf("audit key: exit %d, fingerprint %q\n%s%s", code, fp, stdout, stderr)
			}
			if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("collector key file: %v, %v; want mode 0600", fi, err)
			}

			cliBundle := filepath.Join(dir, "cli.tar")
			stdout, stderr, code = cli(t, "audit", "export", "--db", db, "--signing-key", keyFile,
				"--since", since.Format(time.RFC3339), "--until", until.Format(time.RFC3339), "--out", cliBundle)
			if code != 0 || !strings.Contains(stdout, "3 reports") {
				t.Fatalf("audit export: exit %d\n%s%s", code, stdout, stderr)
			}
			q := url.Values{"since": {since.Format(time.RFC3339)}, "until": {until.Format(time.RFC3339)}}
			code, body := request(t, c, http.MethodGet, p.base+"/v1/audit/export?"+q.Encode(), "Bearer "+admin, nil, nil)
			if code != http.StatusOK {
				t.Fatalf("GET /v1/audit/export: %d %s", code, body)
			}
			apiBundle := filepath.Join(dir, "api.tar")
			if err := os.WriteFile(apiBundle, body, 0o600); err != nil {
				t.Fatal(err)
			}
			// The export is in the access log.
			var log struct{ Entries []store.AuditEntry }
			getJSON(t, c, p.base+"/v1/audit?action=export", admin, &log)
			var targets []string
			for _, e := range log.Entries {
				targets = append(targets, e.Target)
			}
			if !strings.Contains(strings.Join(targets, " "), "/v1/audit/export") || !strings.Contains(strings.Join(targets, " "), "audit export") {
				t.Errorf("access log exports: %v, want the API's and the command line's", targets)
			}

			verify := func(file string, args ...string) (string, string, int) {
				cmd := exec.Command(agent, append(append([]string{"verify"}, args...), file)...)
				var o, e bytes.Buffer
				cmd.Stdout, cmd.Stderr = &o, &e
				err := cmd.Run()
				var ee *exec.ExitError
				switch {
				case errors.As(err, &ee):
					return o.String(), e.String(), ee.ExitCode()
				case err != nil:
					t.Fatal(err)
				}
				return o.String(), e.String(), 0
			}
			for _, b := range []string{cliBundle, apiBundle} {
				out, errOut, code := verify(b, "--key", fp)
				if code != 0 || !strings.Contains(out, "the expected key") || !strings.Contains(out, "kesl-01") ||
					!strings.Contains(out, "bare-03") || !strings.Contains(out, "non_compliant (") || !strings.Contains(out, "→ compliant") ||
					!strings.Contains(out, "reports:   3 (0 pruned, 0 unsigned, signed by 2 agent keys)") {
					t.Errorf("avscout verify %s: exit %d\n%s%s", filepath.Base(b), code, out, errOut)
				}
			}
			// The API's bundle holds the command line's export in its access log.
			if out, _, _ := verify(apiBundle); !strings.Contains(out, "access log: ") || strings.Contains(out, "access log: 0 entries") {
				t.Errorf("API bundle's access log is empty:\n%s", out)
			}

			// The next audit starts where the command line's export ended
			// (the window asked for reached past the present, so it ended
			// at the export), and verify --after checks that it takes over
			// there: windows meet, chains run on.
			var cut string
			for line := range strings.Lines(stdout) {
				if _, rest, ok := strings.Cut(line, ": window "); ok {
					cut, _, _ = strings.Cut(rest, ",")
					_, cut, _ = strings.Cut(cut, " to ")
				}
			}
			if end, err := time.Parse(time.RFC3339Nano, cut); err != nil || !end.Before(until) {
				t.Fatalf("audit export's window ends at %q (%v), want before %s:\n%s", cut, err, until, stdout)
			}
			agentOnce(t, agent, p.base, secret, debianHost(t, "kesl-01", "11111111111111111111111111111111", true, false), keslState)
			nextBundle := filepath.Join(dir, "next.tar")
			if out, errOut, code := cli(t, "audit", "export", "--db", db, "--signing-key", keyFile,
				"--since", cut, "--out", nextBundle); code != 0 || !strings.Contains(out, "1 reports") {
				t.Fatalf("the next audit export: exit %d\n%s%s", code, out, errOut)
			}
			if out, errOut, code := verify(nextBundle, "--key", fp, "--after", cliBundle); code != 0 || !strings.Contains(out, "takes over where the previous one ends") {
				t.Errorf("verify --after the previous bundle: exit %d\n%s%s", code, out, errOut)
			}
			// The API's export ended later than the command line's: the
			// next window does not start where it ends.
			if out, errOut, code := verify(nextBundle, "--key", fp, "--after", apiBundle); code != 1 || !strings.Contains(errOut, "the windows do not meet") {
				t.Errorf("verify --after a bundle whose window ends elsewhere: exit %d\n%s%s", code, out, errOut)
			}

			good, err := os.ReadFile(apiBundle)
			if err != nil {
				t.Fatal(err)
			}
			otherSeed := sha256.Sum256([]byte("mallory"))
			other := ed25519.NewKeyFromSeed(otherSeed[:])
			for _, tt := range []struct {
				name   string
				tamper func([]byte) ([]byte, error)
				want   string
			}{
				{"byte", func(b []byte) ([]byte, error) { return bundletest.ChangeByte(b, 1) }, ") changed: reports/"},
				{"drop", func(b []byte) ([]byte, error) { return bundletest.Drop(b, 1) }, ") dropped: reports/"},
				{"reorder", func(b []byte) ([]byte, error) { return bundletest.SwapContents(b, 0, 2) }, "reports reordered: reports/"},
				{"reorder_archive", func(b []byte) ([]byte, error) { return bundletest.SwapOrder(b, 0, 1) }, "reports reordered in the archive"},
				{"manifest", func(b []byte) ([]byte, error) { return bundletest.EditManifest(b, `"reports":3`, `"reports":2`) }, "the manifest changed"},
				{"access_changed", func(b []byte) ([]byte, error) {
					return bundletest.Edit(b, "access.jsonl", `"target":"audit export"`, `"target":"audit expert"`)
				}, "changed since it was logged"},
				{"access_dropped", func(b []byte) ([]byte, error) { return bundletest.DropLine(b, "access.jsonl", 0) }, "the first entries were dropped"},
				{"collector_key", func(b []byte) ([]byte, error) { return bundletest.Resign(b, other, true) }, "unknown signer"},
			} {
				t.Run(tt.name, func(t *testing.T) {
					bad, err := tt.tamper(bytes.Clone(good))
					if err != nil {
						t.Fatal(err)
					}
					file := filepath.Join(t.TempDir(), "bundle.tar")
					if err := os.WriteFile(file, bad, 0o600); err != nil {
						t.Fatal(err)
					}
					out, errOut, code := verify(file, "--key", fp)
					if code != 1 || !strings.Contains(errOut, "INVALID: ") || !strings.Contains(errOut, tt.want) {
						t.Errorf("verify of a bundle tampered (%s): exit %d, want 1 naming %q\n%s%s", tt.name, code, tt.want, out, errOut)
					}
				})
			}
		})
	}
}
