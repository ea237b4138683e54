package collector

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"testing"

	"github.com/avscout/avscout/internal/agentkey"
	"github.com/avscout/avscout/internal/collector/internal/fleettest"
	"github.com/avscout/avscout/internal/collector/store"
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
				HeaderReceivedAt:      "2026-",
				"Content-Type":        "application/json",
				"Content-Disposition": `attachment; filename=report-` + signed.ReportID + `.json`,
			} {
				if got := resp.header.Get(name); got != want && !(name == HeaderReceivedAt && len(got) == len("2026-01-02T15:04:05Z")) {
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
