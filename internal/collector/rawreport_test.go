package collector

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/agentkey"
	"github.com/avscout/avscout/internal/collector/internal/fleettest"
	"github.com/avscout/avscout/internal/collector/store"
	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/reportsig"
)

// TestReportRaw: a stored report comes back byte for byte as its agent
// sent it, with the digest recorded at receipt and the agent's key and
// signature, and its signature document verifies it offline as
// `avscout verify` does.
func TestReportRaw(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d, nil)
			agent := agentKey("raw")
			signed := fleettest.Report(t, "windows-kes-active", "host-raw", "host-raw", t0)
			if resp := e.sendSigned(t, signed, agent, nil); resp.status != http.StatusCreated {
				t.Fatalf("signed report: %d %s", resp.status, resp.body)
			}
			sent := fleettest.JSON(t, signed)
			sum := sha256.Sum256(sent)

			resp := e.get(t, "/v1/reports/"+signed.ReportID+"/raw")
			if resp.status != http.StatusOK || !bytes.Equal(resp.body, sent) {
				t.Fatalf("raw: %d, body equal to what was sent: %v", resp.status, bytes.Equal(resp.body, sent))
			}
			for name, want := range map[string]string{
				HeaderReportSHA256:    hex.EncodeToString(sum[:]),
				HeaderReprDigest:      "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":",
				HeaderPublicKey:       keyHeader(agent),
				HeaderSignature:       sigHeader(ed25519.Sign(agent, sent)),
				HeaderReceivedAt:      report.FormatTime(t0), // the test clock when it was received
				"Content-Type":        "application/json",
				"Content-Disposition": `attachment; filename=report-` + signed.ReportID + `.json`,
			} {
				if got := resp.header.Get(name); got != want {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}

			resp = e.get(t, "/v1/reports/"+signed.ReportID+"/signature")
			if resp.status != http.StatusOK {
				t.Fatalf("signature: %d %s", resp.status, resp.body)
			}
			sig, err := reportsig.Parse(bytes.NewReader(resp.body))
			if err != nil {
				t.Fatal(err)
			}
			fp, err := reportsig.Verify(sent, sig, reportsig.Options{})
			if want := agentkey.Fingerprint(agent.Public().(ed25519.PublicKey)); err != nil || fp != want {
				t.Errorf("the collector's signature document: %s, %v; want a valid signature by %s", fp, err, want)
			}
			if _, err := reportsig.Verify(append(bytes.Clone(sent), ' '), sig, reportsig.Options{}); err == nil {
				t.Error("the signature document verifies a changed report")
			}

			unsigned := fleettest.Report(t, "debian-clean", "host-unsigned", "host-unsigned", t0)
			e.mustSend(t, unsigned)
			resp = e.get(t, "/v1/reports/"+unsigned.ReportID+"/raw")
			if resp.status != http.StatusOK || resp.header.Get(HeaderSignature) != "" || resp.header.Get(HeaderReportSHA256) == "" {
				t.Errorf("raw unsigned report: %d, signature header %q", resp.status, resp.header.Get(HeaderSignature))
			}
			if resp := e.get(t, "/v1/reports/"+unsigned.ReportID+"/signature"); resp.status != http.StatusNotFound {
				t.Errorf("signature of an unsigned report: %d %s", resp.status, resp.body)
			}
			for _, path := range []string{"/v1/reports/nope/raw", "/v1/reports/nope/signature"} {
				if resp := e.get(t, path); resp.status != http.StatusNotFound {
					t.Errorf("%s: %d", path, resp.status)
				}
			}
			// An agent's enrollment token reads nothing back.
			for _, auth := range []string{"", "Bearer " + e.token} {
				if resp := e.getAs(t, "/v1/reports/"+signed.ReportID+"/raw", auth); resp.status != http.StatusUnauthorized || bytes.Contains(resp.body, []byte(signed.Host.ID)) {
					t.Errorf("raw with %q: %d", auth, resp.status)
				}
			}
		})
	}
}

func TestSignedReportIntact(t *testing.T) {
	raw := []byte(`{"report_id":"x"}`)
	sum := sha256.Sum256(raw)
	sr := store.SignedReport{Raw: raw, SHA256: sum[:]}
	if !sr.Intact() {
		t.Error("Intact = false for the recorded digest")
	}
	sr.Raw = []byte(`{"report_id":"y"}`)
	if sr.Intact() {
		t.Error("Intact = true for changed bytes")
	}
}

// edSigner signs with an agent key, as the agent's key file would.
type edSigner struct{ ed25519.PrivateKey }

func (k edSigner) PublicKey() ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }
func (k edSigner) Sign(msg []byte) []byte       { return ed25519.Sign(k.PrivateKey, msg) }

// TestFileSignatureRefused: a report file signed by `scan --sign` for an
// audit, never sent, cannot be posted as its host's report with that
// signature, however valid it is as a file signature.
func TestFileSignatureRefused(t *testing.T) {
	e := newEnv(t, "sqlite", func(o *Options) { o.AllowUnsigned = false })
	agent := agentKey("file")
	current := fleettest.Report(t, "windows-kes-active", "host-file", "host-file", t0)
	e.mustSendSigned(t, current, agent)

	audit := fleettest.Report(t, "windows-clean", "host-file", "host-file", t0.Add(-time.Hour))
	raw := fleettest.JSON(t, audit)
	doc, err := reportsig.Sign(raw, edSigner{agent})
	if err != nil {
		t.Fatal(err)
	}
	sig, err := reportsig.Parse(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	resp := e.sendSigned(t, audit, nil, map[string]string{HeaderPublicKey: keyHeader(agent), HeaderSignature: sig.Signature})
	if code := refusal(t, resp); code != CodeBadSignature {
		t.Errorf("a file signature posted as a report's: code %q, want %q", code, CodeBadSignature)
	}
	var h struct{ Verdict string }
	e.get(t, "/v1/hosts/host-file").json(t, &h)
	if h.Verdict != "non_compliant" {
		t.Errorf("host verdict %q after the refused post, want non_compliant", h.Verdict)
	}
}
