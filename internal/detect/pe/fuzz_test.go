package pe

import (
	"bytes"
	"context"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/avscout/avscout/internal/detect/pe/petest"
	"github.com/avscout/avscout/internal/hostile"
)

// signedSeeds returns real signed images for the fuzzers' seed corpora: a
// PE32+ and a PE32, the first dual-signed. The keys are ECDSA: every fuzz
// worker runs this setup again, and generating an RSA key in a
// coverage-instrumented binary takes most of a minute.
func signedSeeds(f *testing.F) [][]byte {
	f.Helper()
	dir := f.TempDir()
	kaspersky := newSigner(f, dir, "kaspersky", kasperskyRDNs(), "ecdsa")
	other := newSigner(f, dir, "other", otherRDNs(), "ecdsa")
	text := bytes.Repeat([]byte{0xcc}, 600)
	dual := petest.SignWith(f, petest.SignWith(f, buildPE(f, text, kesVersion(), false), kaspersky, "sha256", false), other, "sha1", true)
	pe32 := petest.SignWith(f, buildPE(f, text, kesVersion(), true), other, "sha256", false)
	return [][]byte{dual, pe32}
}

// FuzzImage feeds whole files to Open, VersionInfo and Signatures.
func FuzzImage(f *testing.F) {
	text := bytes.Repeat([]byte{0xcc}, 600)
	f.Add(buildPE(f, text, kesVersion(), false))
	f.Add(buildPE(f, text, kesVersion(), true))
	f.Add(buildPE(f, text, nil, false))
	f.Add(hostile.QuadraticResources()[:0x200+2*(16+8*4096)+16]) // the hostile corpus's, without its padding
	f.Add(hostile.PE(nil, 1024))
	for _, s := range signedSeeds(f) {
		f.Add(s)
		f.Add(s[:len(s)-100])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := Open(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		if vi, err := img.VersionInfo(); err == nil {
			checkVersionInfo(t, vi)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		sigs, _ := img.Signatures(ctx)
		for _, s := range sigs {
			if s.Valid() && (!s.DigestOK || !s.SignatureOK || s.Subject == "") {
				t.Errorf("valid signature without its checks: %+v", s)
			}
		}
	})
}

// FuzzVersionInfo feeds VS_VERSIONINFO blobs to ParseVersionInfo.
func FuzzVersionInfo(f *testing.F) {
	f.Add(kesVersion())
	f.Add(acmeVersion())
	f.Add(petest.VersionInfo("1.2.3.4", "1.2.3.4"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if vi, err := ParseVersionInfo(b); err == nil {
			checkVersionInfo(t, vi)
		}
	})
}

// FuzzSignedData feeds PKCS#7 blobs to the signature parser.
func FuzzSignedData(f *testing.F) {
	for _, s := range signedSeeds(f) {
		f.Add(pkcs7Of(f, s))
	}
	f.Add([]byte{0x30, 0x03, 0x06, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		sds, _ := parseSignedData(b, 0)
		if len(sds) > 1+maxNested {
			t.Errorf("%d signatures from one blob", len(sds))
		}
		for _, sd := range sds {
			if sd.sig.SignatureOK && sd.sig.Subject == "" {
				t.Errorf("verified signature with no signer: %+v", sd.sig)
			}
		}
	})
}

func checkVersionInfo(t *testing.T, vi *VersionInfo) {
	t.Helper()
	if len(vi.Strings) > maxStrings {
		t.Errorf("%d strings", len(vi.Strings))
	}
	for k, v := range vi.Strings {
		if len(v) > maxStringLen || len(k) > maxStringLen || !utf8.ValidString(v) {
			t.Errorf("string %q = %q escapes the bounds", k, v)
		}
	}
}
