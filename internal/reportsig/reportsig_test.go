package reportsig

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/agentkey"
)

// testKey signs with a fixed key, as an agent's key would.
type testKey struct{ priv ed25519.PrivateKey }

func (k testKey) PublicKey() ed25519.PublicKey { return k.priv.Public().(ed25519.PublicKey) }
func (k testKey) Sign(msg []byte) []byte       { return ed25519.Sign(k.priv, msg) }

func newKey(seed byte) testKey {
	return testKey{ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))}
}

// report is a real report: a copy of cmd/agent's golden report of a
// Debian root with Kaspersky Endpoint Security installed.
func report(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/report.json")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func signDoc(t *testing.T, rep []byte, k Signer) *Signature {
	t.Helper()
	out, err := Sign(rep, k)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := Parse(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("Parse(Sign(...)): %v\n%s", err, out)
	}
	return sig
}

func TestSignVerify(t *testing.T) {
	rep := report(t)
	k := newKey(1)
	sig := signDoc(t, rep, k)
	fp, err := Verify(rep, sig, Options{})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if want := agentkey.Fingerprint(k.PublicKey()); fp != want {
		t.Errorf("fingerprint %s, want %s", fp, want)
	}
	if _, err := Verify(rep, sig, Options{Fingerprints: []string{"SHA256:other", fp}}); err != nil {
		t.Errorf("Verify with the signer among the expected keys: %v", err)
	}
	// A file signature is never one the collector accepts for the report
	// as sent: a report signed for an audit cannot be posted as the host's.
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(sig.Signature, "ed25519:"))
	if ed25519.Verify(k.PublicKey(), rep, raw) {
		t.Error("a file signature verifies as the agent's signature of the report as sent")
	}
}

// TestDelivered: the collector's document of the signature an agent sent
// with a report verifies that report; relabelled as a file signature, or
// a file signature relabelled as delivered, it does not.
func TestDelivered(t *testing.T) {
	rep := report(t)
	k := newKey(1)
	out, err := Delivered(rep, k.PublicKey(), k.Sign(rep))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := Parse(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if sig.Format != FormatDelivered {
		t.Errorf("format %q", sig.Format)
	}
	if _, err := Verify(rep, sig, Options{}); err != nil {
		t.Errorf("Verify(delivered): %v", err)
	}
	relabel := *sig
	relabel.Format = FormatFile
	if _, err := Verify(rep, &relabel, Options{}); !errors.Is(err, ErrBadSignature) {
		t.Errorf("a delivered signature relabelled as a file signature: %v", err)
	}
	file := *signDoc(t, rep, k)
	file.Format = FormatDelivered
	if _, err := Verify(rep, &file, Options{}); !errors.Is(err, ErrBadSignature) {
		t.Errorf("a file signature relabelled as delivered: %v", err)
	}
	if _, err := Delivered(rep, k.PublicKey(), []byte("short")); err == nil {
		t.Error("Delivered accepted a 5-byte signature")
	}
}

// TestTampering: every way of changing the report or its signature file
// fails, and says what is wrong.
func TestTampering(t *testing.T) {
	rep := report(t)
	k, other := newKey(1), newKey(2)
	good := signDoc(t, rep, k)
	otherSig := signDoc(t, rep, other)
	flip := func(b []byte, i int) []byte {
		c := bytes.Clone(b)
		c[i] ^= 0x01
		return c
	}
	verdict := bytes.Replace(rep, []byte(`"verdict": "non_compliant"`), []byte(`"verdict": "compliant"    `), 1)
	if bytes.Equal(verdict, rep) {
		t.Fatal("the golden report has no non_compliant verdict to change")
	}
	tests := []struct {
		name string
		rep  []byte
		sig  func(s Signature) Signature
		opts Options
		want error
	}{
		{name: "one byte of the report", rep: flip(rep, len(rep)/2), want: ErrChanged},
		{name: "the verdict, same length", rep: verdict, want: ErrChanged},
		{name: "a byte appended", rep: append(bytes.Clone(rep), '\n'), want: ErrChanged},
		{name: "the report truncated", rep: rep[:len(rep)-1], want: ErrChanged},
		{name: "the verdict, digest updated", rep: verdict, sig: func(s Signature) Signature {
			s.SHA256 = signDoc(t, verdict, k).SHA256
			return s
		}, want: ErrBadSignature},
		{name: "another key's signature", rep: rep, sig: func(s Signature) Signature {
			s.Signature = otherSig.Signature
			return s
		}, want: ErrBadSignature},
		{name: "the key swapped, fingerprint updated", rep: rep, sig: func(s Signature) Signature {
			s.PublicKey, s.Fingerprint = otherSig.PublicKey, otherSig.Fingerprint
			return s
		}, want: ErrBadSignature},
		{name: "a forgery by another key", rep: verdict, sig: func(Signature) Signature {
			return *signDoc(t, verdict, other)
		}, opts: Options{Fingerprints: []string{good.Fingerprint}}, want: ErrUnexpectedSigner},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig := *good
			if tt.sig != nil {
				sig = tt.sig(sig)
			}
			_, err := Verify(tt.rep, &sig, tt.opts)
			if !errors.Is(err, tt.want) {
				t.Errorf("Verify: %v, want %v", err, tt.want)
			}
		})
	}
}

// TestParseRefuses: signature files that are not well-formed, or whose
// key is one the collector would refuse, never reach verification.
func TestParseRefuses(t *testing.T) {
	rep := report(t)
	out, err := Sign(rep, newKey(1))
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]string
	if err := json.Unmarshal(out, &fields); err != nil {
		t.Fatal(err)
	}
	with := func(key, value string) string {
		m := map[string]string{}
		for k, v := range fields {
			m[k] = v
		}
		if value == "\x00delete" {
			delete(m, key)
		} else {
			m[key] = value
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	// The identity point: a small-order key that verifies forged
	// signatures (see package edkey).
	identity := "ed25519:" + base64.StdEncoding.EncodeToString(append([]byte{1}, make([]byte, 31)...))
	tests := []struct {
		name, doc, want string
	}{
		{"empty", "", "EOF"},
		{"not JSON", "ed25519 signature", "invalid character"},
		{"unknown field", with("comment", "x"), "unknown field"},
		{"two documents", string(out) + string(out), "after the JSON object"},
		{"other format", with("format", "avscout-report-signature/2"), "format"},
		{"no key", with("public_key", "\x00delete"), "public_key"},
		{"key without prefix", with("public_key", strings.TrimPrefix(fields["public_key"], "ed25519:")), "does not start with"},
		{"short key", with("public_key", "ed25519:AAAA"), "32 bytes"},
		{"non-canonical base64", with("public_key", fields["public_key"][:len(fields["public_key"])-2]+"B="), "32 bytes"},
		{"small-order key", with("public_key", identity), "public_key"},
		{"fingerprint of another key", with("fingerprint", signDocFingerprint(t, rep)), "is not the public key's"},
		{"short signature", with("signature", "ed25519:AAAA"), "64 bytes"},
		{"upper-case digest", with("sha256", strings.ToUpper(fields["sha256"])), "sha256"},
		{"short digest", with("sha256", "abcd"), "sha256"},
		{"control characters quoted", with("format", "a\x1b[2Jb"), `"a?[2Jb"`},
		{"huge", `{"format":"` + strings.Repeat("a", MaxSignatureFile) + `"}`, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func signDocFingerprint(t *testing.T, rep []byte) string {
	return signDoc(t, rep, newKey(2)).Fingerprint
}

func FuzzParse(f *testing.F) {
	out, err := Sign([]byte("{}"), newKey(1))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(out)
	f.Add([]byte(`{"format":"avscout-report-signature/1"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		sig, err := Parse(bytes.NewReader(data))
		if err != nil {
			return
		}
		// A parsed document verifies or fails cleanly.
		_, _ = Verify([]byte("{}"), sig, Options{})
	})
}
