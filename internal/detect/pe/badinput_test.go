package pe

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/avscout/avscout/internal/detect/pe/petest"
)

// Offsets in the synthetic PE32+ images of buildPE.
const (
	offNumSections  = synthPEOffset + 4 + 2
	offSizeOptHdr   = synthPEOffset + 4 + 16
	offOptHdr       = synthPEOffset + 24
	offNumRvas      = offOptHdr + 108
	offResourceDir  = offOptHdr + dirsOffset64 + dirResource*8
	offSecurityDir  = offOptHdr + dirsOffset64 + dirSecurity*8
	offRsrcRaw      = 0x1000 // .text is 3000 bytes: 0x400 + 0xc00
	offRsrcTypeDir  = offRsrcRaw + 24
	offRsrcNameDir  = offRsrcRaw + 48
	offRsrcData     = offRsrcRaw + 72
	offVersionBlob  = offRsrcRaw + 88
	synthTextLength = 3000
)

// result is what parsing one input gave.
type result struct {
	openErr error
	vi      *VersionInfo
	viErr   error
	sigs    []Signature
	sigErr  error
}

func parseAll(r io.ReaderAt, size int64) result {
	var res result
	img, err := Open(r, size)
	if err != nil {
		res.openErr = err
		return res
	}
	res.vi, res.viErr = img.VersionInfo()
	res.sigs, res.sigErr = img.Signatures(context.Background())
	return res
}

func put32(b []byte, off int, v uint32) []byte {
	b = bytes.Clone(b)
	binary.LittleEndian.PutUint32(b[off:], v)
	return b
}

func put16(b []byte, off int, v uint16) []byte {
	b = bytes.Clone(b)
	binary.LittleEndian.PutUint16(b[off:], v)
	return b
}

// flipAt flips one byte of the first occurrence of needle (at its index
// at) found at or after from.
func flipAt(t *testing.T, b, needle []byte, from, at int) []byte {
	t.Helper()
	i := bytes.Index(b[from:], needle)
	if i < 0 {
		t.Fatalf("% x not found", needle)
	}
	b = bytes.Clone(b)
	b[from+i+at] ^= 0xff
	return b
}

func utf16be(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.BigEndian.PutUint16(b[2*i:], c)
	}
	return b
}

// zeroTail is a reader that holds b and then zeros up to size: a file too
// large to build in a test.
type zeroTail struct{ b []byte }

func (z zeroTail) ReadAt(p []byte, off int64) (int, error) {
	clear(p)
	if off < int64(len(z.b)) {
		copy(p, z.b[off:])
	}
	return len(p), nil
}

// TestBadInput feeds broken files to the parsers: each must give a clear
// error or a clear verdict, never a panic, and quickly.
func TestBadInput(t *testing.T) {
	base := buildPE(t, bytes.Repeat([]byte{0xcc}, synthTextLength), kesVersion(), false)
	if binary.LittleEndian.Uint16(base[offVersionBlob+6:]) != 'V' {
		t.Fatalf("synthetic layout changed: version blob not at %#x", offVersionBlob)
	}
	kaspersky := newSigner(t, t.TempDir(), "kaspersky", kasperskyRDNs(), "rsa")
	signed := petest.SignWith(t, base, kaspersky, "sha256", false)
	certOff, certSize := certTable(t, signed)
	blobOff := certOff + 8
	garbage := make([]byte, 4096)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	garbage[0], garbage[1] = 'M', 'Z' // get past the first check

	isErr := func(target error) func(*testing.T, result) {
		return func(t *testing.T, r result) {
			t.Helper()
			for _, err := range []error{r.openErr, r.viErr, r.sigErr} {
				if errors.Is(err, target) {
					return
				}
			}
			t.Errorf("want %v; got open %v, version %v, signatures %v", target, r.openErr, r.viErr, r.sigErr)
		}
	}
	openErr := func(target error) func(*testing.T, result) {
		return func(t *testing.T, r result) {
			t.Helper()
			if !errors.Is(r.openErr, target) {
				t.Errorf("Open: %v, want %v", r.openErr, target)
			}
		}
	}
	versionOK := func(t *testing.T, r result) {
		t.Helper()
		if r.viErr != nil || r.vi == nil || r.vi.CompanyName != "AO Kaspersky Lab" {
			t.Errorf("version resource not read: %+v, %v (open %v)", r.vi, r.viErr, r.openErr)
		}
	}
	sigErr := func(target error, digestOK, signatureOK bool) func(*testing.T, result) {
		return func(t *testing.T, r result) {
			t.Helper()
			if r.openErr != nil || len(r.sigs) != 1 {
				t.Fatalf("want one signature; open %v, signatures %+v, %v", r.openErr, r.sigs, r.sigErr)
			}
			s := r.sigs[0]
			if s.Valid() || !errors.Is(s.Err, target) || s.DigestOK != digestOK || s.SignatureOK != signatureOK {
				t.Errorf("want invalid with %v (digest ok %v, signature ok %v); got %+v", target, digestOK, signatureOK, s)
			}
		}
	}

	tests := []struct {
		name  string
		input []byte
		size  int64 // when not len(input)
		check func(*testing.T, result)
	}{
		{"empty", nil, 0, openErr(ErrNotPE)},
		{"mz_only", []byte("MZ"), 0, openErr(ErrNotPE)},
		{"garbage", garbage, 0, openErr(ErrNotPE)},
		{"not_pe_text", []byte("#!/bin/sh\necho this is a script named avp.exe\n"), 0, openErr(ErrNotPE)},
		{"truncated_headers", base[:0x100], 0, openErr(ErrMalformed)},
		{"truncated_in_resources", base[:offRsrcRaw+20], 0, isErr(ErrNoVersionInfo)},
		{"truncated_in_version_blob", base[:offVersionBlob+40], 0, isErr(ErrMalformed)},
		{"pe_offset_huge", put32(base, 0x3c, 0xfffffff0), 0, openErr(ErrNotPE)},
		{"object_file", put16(base, offSizeOptHdr, 0), 0, openErr(ErrNotPE)},
		{"sections_too_many", put16(base, offNumSections, 0xffff), 0, openErr(ErrMalformed)},
		{"optional_header_huge", put16(base, offSizeOptHdr, 0xffff), 0, openErr(ErrMalformed)},
		{"optional_header_bad_magic", put16(base, offOptHdr, 0x1234), 0, openErr(ErrMalformed)},
		{"no_data_directories", put32(base, offNumRvas, 0), 0, func(t *testing.T, r result) {
			if !errors.Is(r.viErr, ErrNoVersionInfo) || !errors.Is(r.sigErr, ErrNotSigned) {
				t.Errorf("version %v, signatures %v", r.viErr, r.sigErr)
			}
		}},
		{"rva_count_huge", put32(base, offNumRvas, 0xffffffff), 0, versionOK},
		{"resource_dir_outside_image", put32(base, offResourceDir, 0x7ffff000), 0, isErr(ErrMalformed)},
		{"resource_entries_huge", put16(base, offRsrcRaw+14, 0xffff), 0, versionOK},
		{"resource_loop_self", put32(base, offRsrcNameDir+20, 0x80000000|48), 0, isErr(ErrMalformed)},
		{"resource_loop_root", put32(base, offRsrcTypeDir+20, 0x80000000), 0, isErr(ErrMalformed)}, // a subdirectory at offset 0: the root
		{"resource_subdir_outside", put32(base, offRsrcTypeDir+20, 0x80000000|0x7ffffff0), 0, isErr(ErrMalformed)},
		{"resource_data_rva_outside", put32(base, offRsrcData, 0x7fffffff), 0, isErr(ErrMalformed)},
		{"resource_data_size_huge", put32(base, offRsrcData+4, 0xffffffff), 0, versionOK},
		{"version_length_zero", put16(base, offVersionBlob, 0), 0, isErr(ErrMalformed)},
		{"version_length_huge", put16(base, offVersionBlob, 0xffff), 0, isErr(ErrMalformed)},
		{"version_wrong_key", put16(base, offVersionBlob+6, 'X'), 0, isErr(ErrMalformed)},
		{"cert_table_beyond_eof", put32(signed, offSecurityDir+4, uint32(certSize+4096)), 0, isErr(ErrMalformedCertList)},
		{"cert_table_huge", put32(signed, offSecurityDir+4, 0xfffffff0), 0, isErr(ErrMalformedCertList)},
		{"cert_table_in_headers", put32(signed, offSecurityDir, 0x10), 0, isErr(ErrMalformedCertList)},
		{"win_certificate_length_zero", put32(signed, certOff, 0), 0, isErr(ErrMalformedCertList)},
		{"win_certificate_length_huge", put32(signed, certOff, 0xfffffff0), 0, isErr(ErrMalformedCertList)},
		{"win_certificate_not_pkcs7", put16(signed, certOff+6, 1), 0, isErr(ErrNotSigned)},
		{"pkcs7_garbage", append(bytes.Clone(signed[:blobOff]), bytes.Repeat([]byte{0xff}, certSize-8)...), 0, isErr(ErrMalformedPKCS7)},
		{"pkcs7_truncated", put32(signed, certOff, uint32(certSize/2)), 0, isErr(ErrMalformedPKCS7)},
		{"pkcs7_not_signed_data", flipAt(t, signed, []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02}, blobOff, 10), 0, isErr(ErrMalformedPKCS7)},
		{"byte_flipped_in_code", flipAt(t, signed, []byte{0xcc, 0xcc, 0xcc}, 0x400, 1), 0, sigErr(ErrDigestMismatch, false, true)},
		{"signed_attribute_changed", flipAt(t, signed, []byte(petest.Description), blobOff, 3), 0, sigErr(ErrBadSignature, true, false)},
		{"signed_image_digest_changed", flipAt(t, signed, pkcs7ImageDigest(t, signed), blobOff, 0), 0, sigErr(ErrBadSignature, false, false)},
		{"signer_serial_changed", flipLast(t, signed, kaspersky.Serial.Bytes(), blobOff, 4), 0, sigErr(ErrNoSignerCert, true, false)},
		{"file_too_large_to_hash", signed, MaxHashSize + 1, sigErr(ErrTooLargeToHash, false, true)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			size := tc.size
			if size == 0 {
				size = int64(len(tc.input))
			}
			start := time.Now()
			var r result
			if size > int64(len(tc.input)) {
				r = parseAll(zeroTail{tc.input}, size)
			} else {
				r = parseAll(bytes.NewReader(tc.input), size)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
			tc.check(t, r)
		})
	}
}

// pkcs7ImageDigest returns the image digest a signed image's signature
// carries.
func pkcs7ImageDigest(t *testing.T, signed []byte) []byte {
	t.Helper()
	sds, err := parseSignedData(pkcs7Of(t, signed), 0)
	if err != nil || len(sds) == 0 {
		t.Fatalf("parse: %v", err)
	}
	return sds[0].imageDigest
}

// flipLast is flipAt on the last occurrence of needle.
func flipLast(t *testing.T, b, needle []byte, from, at int) []byte {
	t.Helper()
	i := bytes.LastIndex(b[from:], needle)
	if i < 0 {
		t.Fatalf("% x not found", needle)
	}
	b = bytes.Clone(b)
	b[from+i+at] ^= 0xff
	return b
}
