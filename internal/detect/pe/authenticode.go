package pe

import (
	"context"
	"crypto"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	_ "crypto/sha1"   // registers crypto.SHA1 for old signatures
	_ "crypto/sha256" // registers crypto.SHA256
	_ "crypto/sha512" // registers crypto.SHA384 and crypto.SHA512
)

// Bounds on signature work.
const (
	// MaxHashSize is the largest file whose Authenticode digest is
	// computed. A larger file's signatures are parsed but not matched
	// against it, so they are not valid.
	MaxHashSize = 256 << 20
	// maxCertTable caps the certificate table read into memory. Real ones
	// are a few kilobytes, tens with many certificates and timestamps.
	maxCertTable = 8 << 20
	// maxCertEntries bounds the WIN_CERTIFICATE entries read.
	maxCertEntries = 8
	// hashChunk is how much is hashed between two looks at the context.
	hashChunk = 1 << 20
)

// WIN_CERTIFICATE values.
const (
	winCertRevision1  = 0x0100
	winCertRevision2  = 0x0200
	winCertTypePKCS7  = 0x0002
	winCertHeaderSize = 8
)

// Signature is one Authenticode signature embedded in an image.
type Signature struct {
	// Subject is the signer certificate's subject, most specific part first
	// and written the way Windows shows it: "CN=AO Kaspersky Lab,
	// O=AO Kaspersky Lab, L=Moscow, C=RU". Values with commas or quotes
	// are quoted.
	Subject string
	// CommonName and Organization are the subject's CN and O.
	CommonName   string
	Organization string
	// Issuer is the signer certificate's issuer, written like Subject.
	Issuer string
	// SerialNumber is the signer certificate's serial, in hex.
	SerialNumber        string
	NotBefore, NotAfter time.Time
	// SigningTime is the signingTime signed attribute; zero when absent
	// (Windows' signtool puts the time in a countersignature instead).
	SigningTime time.Time
	// DigestAlgorithm names the hash of the image digest: "sha256".
	DigestAlgorithm string
	// Nested is true for a signature nested in another one (dual SHA-1 and
	// SHA-256 signing).
	Nested bool

	// DigestOK is true when the image digest the signer signed equals the
	// digest of this file: the file was not changed after signing, and the
	// signature was not copied from another file.
	DigestOK bool
	// SignatureOK is true when the signed attributes carry the digest of
	// the signed content and the signer certificate's key verifies their
	// signature. It says nothing about whether the certificate is trusted.
	SignatureOK bool
	// Err says why the signature is not valid; nil when it is.
	Err error
}

// Valid reports whether the signature is intact and belongs to this file.
func (s *Signature) Valid() bool { return s.DigestOK && s.SignatureOK && s.Err == nil }

// Name is the signer as a person would say it: the subject's CN, else its
// O, else the whole subject.
func (s *Signature) Name() string {
	switch {
	case s.CommonName != "":
		return s.CommonName
	case s.Organization != "":
		return s.Organization
	}
	return s.Subject
}

// Signature problems, wrapped in [Signature.Err].
var (
	ErrDigestMismatch    = errors.New("image digest does not match the file")
	ErrBadSignature      = errors.New("signature does not verify")
	ErrNoSignerCert      = errors.New("signer certificate not in the signature")
	ErrUnsupported       = errors.New("unsupported signature")
	ErrTooLargeToHash    = errors.New("file too large to hash")
	ErrMalformedPKCS7    = errors.New("malformed PKCS#7 signature")
	ErrMalformedCertList = errors.New("malformed certificate table")
)

// Signatures reads the image's embedded Authenticode signatures — each
// PKCS#7 SignedData of the certificate table, then the signatures nested in
// them — and checks each one against the file. The file is hashed once, for
// every digest algorithm the signatures use, and only when it is at most
// [MaxHashSize] bytes. It returns [ErrNotSigned] when the image has no
// certificate table; signatures that are present but invalid are returned
// with their Err set, and a blob that cannot be parsed at all is reported
// in the error alongside the signatures that could.
func (img *Image) Signatures(ctx context.Context) ([]Signature, error) {
	d := img.dir(dirSecurity)
	if img.secDirOff < 0 || d.VirtualAddress == 0 || d.Size == 0 {
		return nil, ErrNotSigned
	}
	// The security directory holds a file offset, not an address.
	certOff, certSize := int64(d.VirtualAddress), int64(d.Size)
	switch {
	case certOff < img.secDirOff+dataDirSize || certOff > img.size || certSize > img.size-certOff:
		return nil, fmt.Errorf("%w: certificate table at %d (%d bytes) outside the file of %d bytes", ErrMalformedCertList, certOff, certSize, img.size)
	case certSize > maxCertTable:
		return nil, fmt.Errorf("%w: certificate table of %d bytes (at most %d)", ErrMalformedCertList, certSize, maxCertTable)
	}
	table := make([]byte, certSize)
	if err := img.readFull(table, certOff); err != nil {
		return nil, fmt.Errorf("certificate table: %w", err)
	}

	var parsed []*signedData
	var errs []error
	for i, off := 0, 0; off+winCertHeaderSize <= len(table) && i < maxCertEntries; i++ {
		length := int(binary.LittleEndian.Uint32(table[off:]))
		rev := binary.LittleEndian.Uint16(table[off+4:])
		typ := binary.LittleEndian.Uint16(table[off+6:])
		if length < winCertHeaderSize || length > len(table)-off {
			errs = append(errs, fmt.Errorf("%w: entry at %d claims %d bytes", ErrMalformedCertList, off, length))
			break
		}
		if (rev == winCertRevision2 || rev == winCertRevision1) && typ == winCertTypePKCS7 {
			sds, err := parseSignedData(table[off+winCertHeaderSize:off+length], 0)
			parsed = append(parsed, sds...)
			if err != nil {
				errs = append(errs, err)
			}
		}
		off += (length + 7) &^ 7
	}
	if len(parsed) == 0 && len(errs) == 0 {
		return nil, ErrNotSigned
	}

	// One pass over the file for every algorithm used.
	var algs []crypto.Hash
	for _, sd := range parsed {
		if sd.imageHash != 0 && !containsHash(algs, sd.imageHash) {
			algs = append(algs, sd.imageHash)
		}
	}
	var digests map[crypto.Hash][]byte
	var hashErr error
	switch {
	case len(algs) == 0:
	case img.size > MaxHashSize:
		hashErr = fmt.Errorf("%w: %d bytes (at most %d)", ErrTooLargeToHash, img.size, MaxHashSize)
	default:
		digests, hashErr = img.authenticodeDigests(ctx, certOff, algs)
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
	}

	// The digest is compared even for a signature that is itself broken,
	// so the report can say both; Err keeps the first problem.
	sigs := make([]Signature, 0, len(parsed))
	for _, sd := range parsed {
		s := sd.sig
		switch {
		case sd.imageHash == 0:
		case hashErr != nil:
			s.Err = cmpOr(s.Err, hashErr)
		default:
			s.DigestOK = constantTimeEqual(digests[sd.imageHash], sd.imageDigest)
			if !s.DigestOK {
				s.Err = cmpOr(s.Err, ErrDigestMismatch)
			}
		}
		sigs = append(sigs, s)
	}
	return sigs, errors.Join(errs...)
}

func containsHash(hs []crypto.Hash, h crypto.Hash) bool {
	for _, x := range hs {
		if x == h {
			return true
		}
	}
	return false
}

func constantTimeEqual(a, b []byte) bool {
	if len(a) != len(b) || len(a) == 0 {
		return false
	}
	var v byte
	for i := range a {
		v |= a[i] ^ b[i]
	}
	return v == 0
}

// authenticodeDigests hashes the image the Authenticode way: every byte
// before the certificate table except the header checksum and the security
// directory entry, which signing changes. This is the linear form
// osslsigncode and signify use; for images whose sections follow the
// headers without gaps, as linkers lay them out, it equals the
// section-by-section form of Microsoft's specification.
func (img *Image) authenticodeDigests(ctx context.Context, certOff int64, algs []crypto.Hash) (map[crypto.Hash][]byte, error) {
	hs := make([]hash.Hash, len(algs))
	ws := make([]io.Writer, len(algs))
	for i, a := range algs {
		if !a.Available() {
			return nil, fmt.Errorf("%w: hash %v", ErrUnsupported, a)
		}
		hs[i] = a.New()
		ws[i] = hs[i]
	}
	w := io.MultiWriter(ws...)
	ranges := [][2]int64{
		{0, img.checksumOff},
		{img.checksumOff + 4, img.secDirOff},
		{img.secDirOff + dataDirSize, certOff},
	}
	buf := make([]byte, min(hashChunk, max(certOff, 1)))
	for _, rg := range ranges {
		for off := rg[0]; off < rg[1]; {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			n := min(int64(len(buf)), rg[1]-off)
			if err := img.readFull(buf[:n], off); err != nil {
				return nil, fmt.Errorf("hashing at %d: %w", off, err)
			}
			_, _ = w.Write(buf[:n]) // a hash.Hash never returns an error
			off += n
		}
	}
	out := make(map[crypto.Hash][]byte, len(algs))
	for i, a := range algs {
		out[a] = hs[i].Sum(nil)
	}
	return out, nil
}
