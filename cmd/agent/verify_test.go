package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/hostile"
	"github.com/avscout/avscout/internal/reportsig"
)

// TestSignAndVerify: the real binary signs a report with the agent's key
// (made on first use, the key `avscout status` shows), verifies it
// offline, and refuses every kind of tampering, naming what is wrong.
func TestSignAndVerify(t *testing.T) {
	root := kasperskyRoot(t)
	cfg, _ := agentConfig(t, "", "", "")
	dir := t.TempDir()
	signed := func(name string) string {
		t.Helper()
		out := filepath.Join(dir, name)
		if _, stderr, code := avscout(t, "scan", "--root", root, "--format", "json", "--output", out, "--sign", "--config", cfg); code != 0 {
			t.Fatalf("scan --sign: exit %d: %s", code, stderr)
		}
		return out
	}
	rep := signed("r.json")
	// Exit 3: the service has not scanned; the key is shown all the same.
	stOut, stErr, code := avscout(t, "status", "--config", cfg, "--format", "json")
	var st statusDoc
	if err := json.Unmarshal([]byte(stOut), &st); code != exitNotRunning || err != nil {
		t.Fatalf("status: exit %d, %v: %s", code, err, stErr)
	}
	fp := st.AgentKey.Fingerprint
	if !strings.HasPrefix(fp, "SHA256:") {
		t.Fatalf("status shows no agent key after scan --sign: %+v", st.AgentKey)
	}
	sigFile, err := os.ReadFile(rep + reportsig.Ext)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(sigFile, []byte(fp)) {
		t.Errorf("signature file does not name the agent's key %s:\n%s", fp, sigFile)
	}

	out, stderr, code := avscout(t, "verify", rep)
	if code != 0 {
		t.Fatalf("verify: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"signature: valid, by key " + fp, "svc-deb", "non_compliant", "not checked against an expected key"} {
		if !strings.Contains(out, want) {
			t.Errorf("verify output lacks %q:\n%s", want, out)
		}
	}
	if out, stderr, code := avscout(t, "verify", "--key", fp, rep); code != 0 || !strings.Contains(out, "the expected key") {
		t.Errorf("verify --key <the signer>: exit %d\n%s%s", code, out, stderr)
	}
	if _, stderr, code := avscout(t, "verify", "--key", "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", rep); code != exitInvalid || !strings.Contains(stderr, "another key") {
		t.Errorf("verify --key <another key>: exit %d, want %d: %s", code, exitInvalid, stderr)
	}

	// A second signed scan uses the same key, and its signature is of
	// other bytes (another report id and time).
	rep2 := signed("r2.json")
	if out, _, _ := avscout(t, "verify", rep2); !strings.Contains(out, fp) {
		t.Errorf("second report not signed by the same key:\n%s", out)
	}

	orig, err := os.ReadFile(rep)
	if err != nil {
		t.Fatal(err)
	}
	sig2, err := os.ReadFile(rep2 + reportsig.Ext)
	if err != nil {
		t.Fatal(err)
	}
	compliant := bytes.Replace(orig, []byte(`"verdict": "non_compliant"`), []byte(`"verdict": "compliant"    `), 1)
	if bytes.Equal(compliant, orig) {
		t.Fatal("the signed report has no non_compliant verdict to change")
	}
	tests := []struct {
		name      string
		rep, sig  []byte
		code      int
		wantError string
	}{
		{"the verdict changed", compliant, sigFile, exitInvalid, "not the one signed"},
		{"a byte appended", append(bytes.Clone(orig), ' '), sigFile, exitInvalid, "not the one signed"},
		{"truncated", orig[:len(orig)/2], sigFile, exitInvalid, "not the one signed"},
		{"another report's signature", orig, sig2, exitInvalid, "not the one signed"},
		{"digest rewritten to the changed report", compliant, withDigestOf(t, sigFile, compliant), exitInvalid, "does not verify"},
		{"signature file not JSON", orig, []byte("-----BEGIN SIGNATURE-----\n"), exitInvalid, "signature file"},
		{"no signature file", orig, nil, exitUsage, "no such file"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, "t"+string(rune('a'+i))+".json")
			if err := os.WriteFile(p, tt.rep, 0o600); err != nil {
				t.Fatal(err)
			}
			if tt.sig != nil {
				if err := os.WriteFile(p+reportsig.Ext, tt.sig, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			out, stderr, code := avscout(t, "verify", p)
			if code != tt.code || !strings.Contains(stderr, tt.wantError) {
				t.Errorf("verify: exit %d, want %d; stderr %q, want it to contain %q", code, tt.code, stderr, tt.wantError)
			}
			if strings.Contains(out, "valid") {
				t.Errorf("verify printed a valid signature:\n%s", out)
			}
		})
	}

	t.Run("a named pipe for a signature does not block", func(t *testing.T) {
		if runtime.GOOS == "windows" {
			t.Skip("named pipes")
		}
		p := filepath.Join(dir, "fifo.json")
		if err := os.WriteFile(p, orig, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := hostile.Fifo(p + reportsig.Ext); err != nil {
			t.Fatal(err)
		}
		if _, stderr, code := avscout(t, "verify", p); code != exitUsage || !strings.Contains(stderr, "not a regular file") {
			t.Errorf("verify: exit %d: %s", code, stderr)
		}
	})

	for _, args := range [][]string{
		{"scan", "--root", root, "--format", "json", "--sign"},
		{"scan", "--root", root, "--output", filepath.Join(dir, "x.txt"), "--sign"},
		{"scan", "--root", root, "--config", cfg},
		{"verify"},
		{"verify", "--key", "zXWd57", rep},
	} {
		if _, stderr, code := avscout(t, args...); code != exitUsage {
			t.Errorf("avscout %v: exit %d, want %d: %s", args, code, exitUsage, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.txt")); err == nil {
		t.Error("scan --sign with a table format wrote the report")
	}
}

// withDigestOf returns the signature file sig with its digest replaced by
// the one of rep, as a forger who changed the report would.
func withDigestOf(t *testing.T, sig, rep []byte) []byte {
	t.Helper()
	s, err := reportsig.Parse(bytes.NewReader(sig))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(rep)
	return bytes.Replace(sig, []byte(s.SHA256), []byte(hex.EncodeToString(sum[:])), 1)
}
