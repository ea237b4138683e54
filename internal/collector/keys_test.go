package collector

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/collector/internal/fleettest"
	"github.com/avscout/avscout/internal/collector/store"
	"github.com/avscout/avscout/internal/report"
)

// agentKey is a deterministic agent key named by seed.
func agentKey(seed string) ed25519.PrivateKey {
	s := sha256.Sum256([]byte("avscout collector test key " + seed))
	return ed25519.NewKeyFromSeed(s[:])
}

func keyHeader(k ed25519.PrivateKey) string {
	return store.FormatKey(k.Public().(ed25519.PublicKey))
}

func sigHeader(sig []byte) string { return "ed25519:" + base64.StdEncoding.EncodeToString(sig) }

// sendSigned posts r signed by k (the agent's protocol); hdr overrides
// headers as in env.post.
func (e *env) sendSigned(t testing.TB, r *report.Report, k ed25519.PrivateKey, hdr map[string]string) response {
	t.Helper()
	raw := fleettest.JSON(t, r)
	h := map[string]string{"Idempotency-Key": r.ReportID, HeaderPublicKey: keyHeader(k), HeaderSignature: sigHeader(ed25519.Sign(k, raw))}
	for name, v := range hdr {
		h[name] = v
	}
	return e.post(t, bytes.NewReader(fleettest.Gzip(t, raw)), h)
}

// refusal returns the code of a 403 answer, failing t on anything else.
func refusal(t testing.TB, resp response) string {
	t.Helper()
	var e struct{ Error, Code string }
	resp.json(t, &e)
	if resp.status != http.StatusForbidden || e.Error == "" {
		t.Errorf("want 403 with an error, got %d %s", resp.status, resp.body)
	}
	return e.Code
}

func TestSignedIngest(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d, func(o *Options) { o.AllowUnsigned = false })
			ctx := context.Background()
			agent, thief := agentKey("agent"), agentKey("thief")
			first := fleettest.Report(t, "windows-kes-active", "victim", "victim", t0)
			if resp := e.sendSigned(t, first, agent, nil); resp.status != http.StatusCreated {
				t.Fatalf("first signed report: %d %s", resp.status, resp.body)
			}
			k, err := e.store.HostKey(ctx, "victim")
			if err != nil || !bytes.Equal(k.PublicKey, agent.Public().(ed25519.PublicKey)) || k.PinnedBy != store.PinnedByFirstContact {
				t.Fatalf("pinned key %+v, %v", k, err)
			}
			before := e.stats(t)

			forged := fleettest.Report(t, "windows-clean", "victim", "victim", t0.Add(time.Minute))
			raw := fleettest.JSON(t, forged)
			tampered := bytes.Replace(raw, []byte(`"victim"`), []byte(`"victiM"`), 1) // not what was signed
			for _, tt := range []struct {
				name string
				hdr  map[string]string
				body []byte
				code string
			}{
				{"another_key", nil, nil, CodeKeyMismatch},
				{"unsigned", map[string]string{HeaderPublicKey: "", HeaderSignature: ""}, nil, CodeUnsigned},
				{"key_without_signature", map[string]string{HeaderSignature: ""}, nil, CodeBadSignature},
				{"signature_without_key", map[string]string{HeaderPublicKey: ""}, nil, CodeBadSignature},
				{"pinned_key_thief_signature", map[string]string{HeaderPublicKey: keyHeader(agent)}, nil, CodeBadSignature},
				{"tampered_body", nil, tampered, CodeBadSignature},
				{"key_not_base64", map[string]string{HeaderPublicKey: "ed25519:not base64!"}, nil, CodeBadSignature},
				{"key_wrong_scheme", map[string]string{HeaderPublicKey: "rsa:" + keyHeader(thief)[len("ed25519:"):]}, nil, CodeBadSignature},
				{"signature_short", map[string]string{HeaderSignature: "ed25519:" + base64.StdEncoding.EncodeToString(make([]byte, 63))}, nil, CodeBadSignature},
				{"signature_zero", map[string]string{HeaderSignature: sigHeader(make([]byte, 64))}, nil, CodeBadSignature},
			} {
				t.Run(tt.name, func(t *testing.T) {
					body := raw
					if tt.body != nil {
						body = tt.body
					}
					h := map[string]string{"Idempotency-Key": forged.ReportID, HeaderPublicKey: keyHeader(thief), HeaderSignature: sigHeader(ed25519.Sign(thief, raw))}
					for name, v := range tt.hdr {
						h[name] = v
					}
					if code := refusal(t, e.post(t, bytes.NewReader(fleettest.Gzip(t, body)), h)); code != tt.code {
						t.Errorf("code %q, want %q", code, tt.code)
					}
					if after := e.stats(t); after != before {
						t.Errorf("a refused report changed the store: %+v, was %+v", after, before)
					}
				})
			}
			var host store.HostDetail
			e.get(t, "/v1/hosts/victim").json(t, &host)
			if host.State != store.HostRestricted || host.LastReportID != first.ReportID {
				t.Errorf("victim after the attempts: %s, latest %s", host.State, host.LastReportID)
			}
			// The thief's key is noted for the administrator, and shown.
			var withKey struct {
				Key keyInfo `json:"key"`
			}
			e.get(t, "/v1/hosts/victim").json(t, &withKey)
			if withKey.Key.Fingerprint != store.Fingerprint(agent.Public().(ed25519.PublicKey)) || !withKey.Key.Pinned ||
				withKey.Key.RefusedFingerprint != store.Fingerprint(thief.Public().(ed25519.PublicKey)) || withKey.Key.PinnedBy != store.PinnedByFirstContact {
				t.Errorf("GET /v1/hosts/victim key = %+v", withKey.Key)
			}
			// The agent itself goes on; its report is stored with its signature.
			next := fleettest.Report(t, "windows-kes-active", "victim", "victim", t0.Add(2*time.Minute))
			if resp := e.sendSigned(t, next, agent, nil); resp.status != http.StatusCreated {
				t.Fatalf("the agent's next report: %d %s", resp.status, resp.body)
			}
			if sr, err := e.store.SignedReport(ctx, next.ReportID); err != nil || !sr.Verify() || !bytes.Equal(sr.PublicKey, agent.Public().(ed25519.PublicKey)) {
				t.Errorf("stored signed report: %+v, %v", sr, err)
			}
			if resp := e.get(t, "/metrics"); !strings.Contains(string(resp.body), `avscout_collector_reports_rejected_total{reason="key_mismatch"} 1`) {
				t.Errorf("metrics lack the key_mismatch refusal:\n%s", resp.body)
			}
		})
	}
}

// --allow-unsigned: unsigned reports for hosts with no pinned key only.
func TestAllowUnsigned(t *testing.T) {
	e := newEnv(t, "sqlite", func(o *Options) { o.AllowUnsigned = true })
	old := fleettest.Report(t, "debian-clean", "old-agent", "old-agent", t0)
	e.mustSend(t, old) // unsigned, no pin
	if sr, err := e.store.SignedReport(context.Background(), old.ReportID); err != nil || sr.Signature != nil {
		t.Errorf("unsigned report stored as %+v, %v", sr, err)
	}
	// Its agent is upgraded and signs: that pins, and unsigned reports of
	// the host are refused from then on.
	agent := agentKey("upgraded")
	if resp := e.sendSigned(t, fleettest.Report(t, "debian-clean", "old-agent", "old-agent", t0.Add(time.Minute)), agent, nil); resp.status != http.StatusCreated {
		t.Fatalf("signed: %d %s", resp.status, resp.body)
	}
	if code := refusal(t, e.send(t, fleettest.Report(t, "debian-clean", "old-agent", "old-agent", t0.Add(2*time.Minute)))); code != CodeUnsigned {
		t.Errorf("unsigned after pinning: code %q", code)
	}
}

func TestRekeyAPI(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			admins := SingleAdmin("alice", adminToken)
			e := newEnv(t, d, func(o *Options) { o.AllowUnsigned = false; o.Admins = admins })
			old, reinstalled := agentKey("old"), agentKey("reinstalled")
			e.mustSendSigned(t, fleettest.Report(t, "debian-kaspersky", "h1", "h1", t0), old)
			r2 := fleettest.Report(t, "debian-clean", "h1", "h1", t0.Add(time.Minute))
			if code := refusal(t, e.sendSigned(t, r2, reinstalled, nil)); code != CodeKeyMismatch {
				t.Fatalf("re-installed agent: code %q", code)
			}
			rekey := func(body, contentType string) response {
				req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/hosts/h1/rekey", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+adminToken)
				if contentType != "" {
					req.Header.Set("Content-Type", contentType)
				}
				return do(t, req)
			}
			newKey := keyHeader(reinstalled)
			for _, tt := range []struct {
				name, body, contentType string
				status                  int
			}{
				{"form_post", "key=" + newKey, "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType},
				{"text_plain", `{"key":"` + newKey + `"}`, "text/plain", http.StatusUnsupportedMediaType},
				{"both", `{"key":"` + newKey + `","clear":true}`, "application/json", http.StatusBadRequest},
				{"neither", `{}`, "application/json", http.StatusBadRequest},
				{"unknown_field", `{"key":"` + newKey + `","force":true}`, "application/json", http.StatusBadRequest},
				{"bad_key", `{"key":"ed25519:AAAA"}`, "application/json", http.StatusBadRequest},
				{"two_objects", `{"clear":true}{"clear":true}`, "application/json", http.StatusBadRequest},
				{"huge", `{"key":"` + strings.Repeat("A", 10000) + `"}`, "application/json", http.StatusBadRequest},
			} {
				if resp := rekey(tt.body, tt.contentType); resp.status != tt.status {
					t.Errorf("%s: %d %s, want %d", tt.name, resp.status, resp.body, tt.status)
				}
			}
			// Not an admin: refused before anything is read.
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/hosts/h1/rekey", strings.NewReader(`{"clear":true}`))
			req.Header.Set("Authorization", "Bearer "+e.token)
			req.Header.Set("Content-Type", "application/json")
			if resp := do(t, req); resp.status != http.StatusUnauthorized {
				t.Errorf("rekey with the enrollment token: %d", resp.status)
			}
			req, _ = http.NewRequest(http.MethodPost, e.srv.URL+"/v1/hosts/nobody/rekey", strings.NewReader(`{"clear":true}`))
			req.Header.Set("Authorization", "Bearer "+adminToken)
			req.Header.Set("Content-Type", "application/json")
			if resp := do(t, req); resp.status != http.StatusNotFound {
				t.Errorf("rekey of an unknown host: %d %s", resp.status, resp.body)
			}

			resp := rekey(`{"key":"`+newKey+`"}`, "application/json")
			var out struct {
				Before, After keyInfo
			}
			resp.json(t, &out)
			if resp.status != http.StatusOK || out.Before.Fingerprint != store.Fingerprint(old.Public().(ed25519.PublicKey)) ||
				out.After.PublicKey != newKey || out.After.PinnedBy != "alice" {
				t.Fatalf("rekey: %d %s", resp.status, resp.body)
			}
			if resp := e.sendSigned(t, r2, reinstalled, nil); resp.status != http.StatusCreated {
				t.Errorf("the re-installed agent after rekey: %d %s", resp.status, resp.body)
			}
			if code := refusal(t, e.sendSigned(t, fleettest.Report(t, "debian-clean", "h1", "h1", t0.Add(2*time.Minute)), old, nil)); code != CodeKeyMismatch {
				t.Errorf("the old key after rekey: %q", code)
			}
			log, err := e.store.AuditLog(context.Background(), "h1", 10)
			if err != nil || len(log) != 1 || log[0].Credential != "alice" || log[0].Action != store.AuditRekey || !strings.HasPrefix(log[0].Remote, "127.0.0.1:") {
				t.Errorf("audit log %+v, %v", log, err)
			}
		})
	}
}

func (e *env) mustSendSigned(t testing.TB, r *report.Report, k ed25519.PrivateKey) {
	t.Helper()
	if resp := e.sendSigned(t, r, k, nil); resp.status != http.StatusCreated {
		t.Fatalf("POST signed report %s of %s: %d %s", r.ReportID, r.Host.ID, resp.status, resp.body)
	}
}

// The id a key is pinned to is the id the report is stored under. The
// store keeps host ids with NUL (which PostgreSQL text cannot hold) with
// U+FFFD in its place, so a report for "a\x00b" lands on host "a\uFFFDb":
// it must meet that host's pinned key, not pin a key of its own to an id
// no report is stored under.
func TestPinnedIDIsStoredID(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d, func(o *Options) { o.AllowUnsigned = false })
			agent, thief := agentKey("agent"), agentKey("thief")
			const victim = "victim-\uFFFD-01"
			first := fleettest.Report(t, "windows-kes-active", victim, "victim", t0)
			e.mustSendSigned(t, first, agent)

			forged := fleettest.Report(t, "windows-clean", "victim-\x00-01", "victim", t0.Add(time.Minute))
			if code := refusal(t, e.sendSigned(t, forged, thief, nil)); code != CodeKeyMismatch {
				t.Errorf("report for the victim's id spelt with NUL: code %q, want %q", code, CodeKeyMismatch)
			}
			host, err := e.store.Host(context.Background(), victim, time.Hour)
			if err != nil || host.LastReportID != first.ReportID || host.State != store.HostRestricted {
				t.Errorf("victim after the forged report: latest %s, state %s, %v", host.LastReportID, host.State, err)
			}
			// The agent's own report for the NUL spelling is its host's.
			own := fleettest.Report(t, "windows-kes-active", "victim-\x00-01", "victim", t0.Add(2*time.Minute))
			e.mustSendSigned(t, own, agent)
			if k, err := e.store.HostKey(context.Background(), "victim-\x00-01"); err != nil || !bytes.Equal(k.PublicKey, agent.Public().(ed25519.PublicKey)) {
				t.Errorf("key of the NUL spelling: %+v, %v", k, err)
			}
		})
	}
}
