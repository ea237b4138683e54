package main

import (
	"archive/tar"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/agentkey"
	"github.com/avscout/avscout/internal/auditbundle"
	"github.com/avscout/avscout/internal/report"
)

type seedKey struct{ priv ed25519.PrivateKey }

func (k seedKey) PublicKey() ed25519.PublicKey { return k.priv.Public().(ed25519.PublicKey) }
func (k seedKey) Sign(m []byte) []byte         { return ed25519.Sign(k.priv, m) }

func keyFrom(seed string) seedKey {
	s := sha256.Sum256([]byte(seed))
	return seedKey{ed25519.NewKeyFromSeed(s[:])}
}

// TestVerifyBundle: the real binary tells a bundle from a report by its
// content, verifies it against a pinned collector key, prints the hosts,
// and refuses a bundle signed by another key or one that is not a
// bundle, with exit 1; misuse is exit 2.
func TestVerifyBundle(t *testing.T) {
	root := kasperskyRoot(t)
	dir := t.TempDir()
	rep := filepath.Join(dir, "r.json")
	if _, stderr, code := avscout(t, "scan", "--root", root, "--format", "json", "--output", rep); code != 0 {
		t.Fatalf("scan: exit %d: %s", code, stderr)
	}
	raw, err := os.ReadFile(rep)
	if err != nil {
		t.Fatal(err)
	}
	collector, agent := keyFrom("collector"), keyFrom("agent")
	now := time.Now().UTC()
	var buf bytes.Buffer
	w, err := auditbundle.NewWriter(&buf, collector, dir, now.Add(-time.Hour), now.Add(time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}
	var r report.Report
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	e := auditbundle.Next(nil, r.ReportID, r.Host.ID, now.UnixMicro(), sha256.Sum256(raw))
	if err := w.Report(e, raw, agent.PublicKey(), agent.Sign(raw)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(auditbundle.ChainHead{Seq: e.Seq, Hash: e.Hash}, auditbundle.ChainHead{}); err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(dir, "audit.tar")
	if err := os.WriteFile(bundle, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	fp := agentkey.Fingerprint(collector.PublicKey())

	out, stderr, code := avscout(t, "verify", "--key", fp, bundle)
	if code != 0 || !strings.Contains(out, "the expected key") || !strings.Contains(out, "non_compliant") || !strings.Contains(out, "verified:") {
		t.Errorf("verify bundle: exit %d\n%s%s", code, out, stderr)
	}
	other := agentkey.Fingerprint(keyFrom("other").PublicKey())
	if _, stderr, code := avscout(t, "verify", "--key", other, bundle); code != exitInvalid || !strings.Contains(stderr, "unknown signer") {
		t.Errorf("verify with another pinned key: exit %d, %s", code, stderr)
	}
	if _, stderr, code := avscout(t, "verify", "--signature", rep+".sig", bundle); code != exitUsage || !strings.Contains(stderr, "--signature is for a report") {
		t.Errorf("verify --signature BUNDLE: exit %d, %s", code, stderr)
	}

	var link bytes.Buffer
	tw := tar.NewWriter(&link)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "reports/000000000001.json", Linkname: "/etc/shadow"}); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"symlink": link.Bytes(), "truncated": buf.Bytes()[:1500]} {
		p := filepath.Join(dir, name+".tar")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, stderr, code := avscout(t, "verify", p); code != exitInvalid || !strings.Contains(stderr, "INVALID: not a readable audit bundle") {
			t.Errorf("verify %s bundle: exit %d, %s", name, code, stderr)
		}
	}
}
