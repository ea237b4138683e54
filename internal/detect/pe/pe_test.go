package pe

import (
	"bytes"
	"context"
	"crypto"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"

	"github.com/avscout/avscout/internal/detect/pe/petest"
)

// parse opens b and reads its version resource and signatures.
func parse(t testing.TB, b []byte) (*VersionInfo, []Signature, error) {
	t.Helper()
	img, err := Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	vi, err := img.VersionInfo()
	if err != nil {
		t.Fatalf("VersionInfo: %v", err)
	}
	sigs, err := img.Signatures(context.Background())
	return vi, sigs, err
}

// attachSignature appends a certificate table to an unsigned image and
// points the security directory at it, as someone copying a signature from
// another file would.
func attachSignature(t testing.TB, unsigned, table []byte) []byte {
	t.Helper()
	img, err := Open(bytes.NewReader(unsigned), int64(len(unsigned)))
	if err != nil {
		t.Fatal(err)
	}
	out := bytes.Clone(unsigned)
	for len(out)%8 != 0 {
		out = append(out, 0)
	}
	binary.LittleEndian.PutUint32(out[img.secDirOff:], uint32(len(out)))
	binary.LittleEndian.PutUint32(out[img.secDirOff+4:], uint32(len(table)))
	return append(out, table...)
}

// TestSignedGoBinary signs a real cross-compiled Go binary, given a version
// resource, with osslsigncode and checks everything read back: version
// resource, signer, digest (against osslsigncode's own), and that changed
// files and copied signatures are caught.
func TestSignedGoBinary(t *testing.T) {
	dir := t.TempDir()
	kaspersky := newSigner(t, dir, "kaspersky", kasperskyRDNs(), "rsa")
	other := newSigner(t, dir, "other", otherRDNs(), "ecdsa")
	exe := withResource(t, petest.WindowsProgram(t), kesVersion())
	signed := petest.SignWith(t, exe, kaspersky, "sha256", false)

	t.Run("version_and_signer", func(t *testing.T) {
		vi, sigs, err := parse(t, signed)
		if err != nil {
			t.Fatal(err)
		}
		want := VersionInfo{
			CompanyName: "AO Kaspersky Lab", ProductName: "Kaspersky Endpoint Security for Windows",
			FileDescription: "Kaspersky Endpoint Security for Windows", OriginalFilename: "avp.exe",
			InternalName: "avp", LegalCopyright: "© 2023 AO Kaspersky Lab",
			ProductVersion: "12.3.0.493", FileVersion: "12.3.0.493",
			FixedFileVersion: "12.3.0.493", FixedProductVersion: "12.3.0.493",
		}
		got := *vi
		got.Strings = nil
		if !reflect.DeepEqual(got, want) {
			t.Errorf("version info:\n got %+v\nwant %+v", got, want)
		}
		if len(sigs) != 1 {
			t.Fatalf("got %d signatures, want 1", len(sigs))
		}
		s := sigs[0]
		if !s.Valid() || !s.DigestOK || !s.SignatureOK || s.Err != nil {
			t.Errorf("signature not valid: %+v", s)
		}
		if s.Subject != kasperskyDN {
			t.Errorf("subject %q, want %q", s.Subject, kasperskyDN)
		}
		if s.Issuer != "CN=avscout test root kaspersky, O=avscout tests" {
			t.Errorf("issuer %q", s.Issuer)
		}
		if s.Name() != "AO Kaspersky Lab" || s.Organization != "AO Kaspersky Lab" {
			t.Errorf("name %q, organization %q", s.Name(), s.Organization)
		}
		if s.DigestAlgorithm != "sha256" || s.Nested || s.SigningTime.IsZero() || s.NotAfter.IsZero() {
			t.Errorf("details: %+v", s)
		}
	})

	t.Run("digest_matches_osslsigncode", func(t *testing.T) {
		img, err := Open(bytes.NewReader(signed), int64(len(signed)))
		if err != nil {
			t.Fatal(err)
		}
		off, _ := certTable(t, signed)
		d, err := img.authenticodeDigests(context.Background(), int64(off), []crypto.Hash{crypto.SHA256})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := hex.EncodeToString(d[crypto.SHA256]), calculatedDigest(t, signed); got != want {
			t.Errorf("digest %s, osslsigncode calculates %s", got, want)
		}
	})

	t.Run("byte_flipped_after_signing", func(t *testing.T) {
		tampered := bytes.Clone(signed)
		tampered[0x1000] ^= 0x01 // in .text
		_, sigs, err := parse(t, tampered)
		if err != nil {
			t.Fatal(err)
		}
		s := sigs[0]
		if s.DigestOK || s.Valid() || !errors.Is(s.Err, ErrDigestMismatch) {
			t.Errorf("tampered file accepted: %+v", s)
		}
		if !s.SignatureOK || s.Subject != kasperskyDN {
			t.Errorf("the signature itself is intact and should say who made it: %+v", s)
		}
	})

	t.Run("signature_copied_to_another_file", func(t *testing.T) {
		off, size := certTable(t, signed)
		// Another program: the same binary with a different resource.
		otherExe := withResource(t, petest.WindowsProgram(t), petest.VersionInfo("1.0.0.0", "1.0.0.0",
			english([2]string{"CompanyName", "Someone Else"}, [2]string{"ProductName", "Something"})))
		forged := attachSignature(t, otherExe, signed[off:off+size])
		vi, sigs, err := parse(t, forged)
		if err != nil {
			t.Fatal(err)
		}
		if vi.CompanyName != "Someone Else" {
			t.Errorf("read the wrong file: %+v", vi)
		}
		if len(sigs) != 1 || sigs[0].Valid() || !errors.Is(sigs[0].Err, ErrDigestMismatch) {
			t.Errorf("copied signature accepted: %+v", sigs)
		}
	})

	t.Run("nested_signature", func(t *testing.T) {
		dual := petest.SignWith(t, signed, other, "sha384", true)
		_, sigs, err := parse(t, dual)
		if err != nil {
			t.Fatal(err)
		}
		if len(sigs) != 2 {
			t.Fatalf("got %d signatures, want 2: %+v", len(sigs), sigs)
		}
		if !sigs[0].Valid() || sigs[0].Subject != kasperskyDN || sigs[0].Nested {
			t.Errorf("primary: %+v", sigs[0])
		}
		if !sigs[1].Valid() || sigs[1].Subject != otherDN || !sigs[1].Nested || sigs[1].DigestAlgorithm != "sha384" {
			t.Errorf("nested: %+v", sigs[1])
		}
	})

	t.Run("sha1_signature", func(t *testing.T) {
		_, sigs, err := parse(t, petest.SignWith(t, exe, kaspersky, "sha1", false))
		if err != nil {
			t.Fatal(err)
		}
		if len(sigs) != 1 || !sigs[0].Valid() || sigs[0].DigestAlgorithm != "sha1" {
			t.Errorf("sha1: %+v", sigs)
		}
	})

	t.Run("unsigned", func(t *testing.T) {
		img, err := Open(bytes.NewReader(exe), int64(len(exe)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := img.Signatures(context.Background()); !errors.Is(err, ErrNotSigned) {
			t.Errorf("unsigned: err %v, want ErrNotSigned", err)
		}
	})
}

// TestSignedSynthetic signs the package's own minimal images, PE32+ and
// PE32, with both test identities.
func TestSignedSynthetic(t *testing.T) {
	dir := t.TempDir()
	kaspersky := newSigner(t, dir, "kaspersky", kasperskyRDNs(), "rsa")
	other := newSigner(t, dir, "other", otherRDNs(), "ecdsa")
	for _, tc := range []struct {
		name   string
		pe32   bool
		signer petest.Signer
		digest string
		want   string
	}{
		{"pe32plus_rsa_sha256", false, kaspersky, "sha256", kasperskyDN},
		{"pe32_rsa_sha256", true, kaspersky, "sha256", kasperskyDN},
		{"pe32plus_ecdsa_sha512", false, other, "sha512", otherDN},
		{"pe32_ecdsa_sha1", true, other, "sha1", otherDN},
	} {
		t.Run(tc.name, func(t *testing.T) {
			signed := petest.SignWith(t, buildPE(t, bytes.Repeat([]byte{0xcc}, 3000), kesVersion(), tc.pe32), tc.signer, tc.digest, false)
			vi, sigs, err := parse(t, signed)
			if err != nil {
				t.Fatal(err)
			}
			if vi.CompanyName != "AO Kaspersky Lab" {
				t.Errorf("CompanyName %q", vi.CompanyName)
			}
			if len(sigs) != 1 || !sigs[0].Valid() || sigs[0].Subject != tc.want || sigs[0].DigestAlgorithm != tc.digest {
				t.Fatalf("signatures: %+v", sigs)
			}
			img, _ := Open(bytes.NewReader(signed), int64(len(signed)))
			off, _ := certTable(t, signed)
			h, _ := digestHashByName(tc.digest)
			d, err := img.authenticodeDigests(context.Background(), int64(off), []crypto.Hash{h})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := hex.EncodeToString(d[h]), calculatedDigest(t, signed); got != want {
				t.Errorf("digest %s, osslsigncode calculates %s", got, want)
			}
		})
	}
}

func digestHashByName(n string) (crypto.Hash, bool) {
	switch n {
	case "sha1":
		return crypto.SHA1, true
	case "sha256":
		return crypto.SHA256, true
	case "sha384":
		return crypto.SHA384, true
	case "sha512":
		return crypto.SHA512, true
	}
	return 0, false
}
