package pe

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Object identifiers of PKCS#7 and Authenticode, compared as dotted
// strings.
const (
	oidSignedData         = "1.2.840.113549.1.7.2"
	oidSpcIndirectData    = "1.3.6.1.4.1.311.2.1.4"
	oidSpcPEImageData     = "1.3.6.1.4.1.311.2.1.15"
	oidNestedSignature    = "1.3.6.1.4.1.311.2.4.1"
	oidAttrContentType    = "1.2.840.113549.1.9.3"
	oidAttrMessageDigest  = "1.2.840.113549.1.9.4"
	oidAttrSigningTime    = "1.2.840.113549.1.9.5"
	oidDigestSHA1         = "1.3.14.3.2.26"
	oidDigestSHA256       = "2.16.840.1.101.3.4.2.1"
	oidDigestSHA384       = "2.16.840.1.101.3.4.2.2"
	oidDigestSHA512       = "2.16.840.1.101.3.4.2.3"
	oidDigestMD5          = "1.2.840.113549.2.5"
	oidRSAEncryption      = "1.2.840.113549.1.1.1"
	oidSHA1WithRSA        = "1.2.840.113549.1.1.5"
	oidSHA256WithRSA      = "1.2.840.113549.1.1.11"
	oidSHA384WithRSA      = "1.2.840.113549.1.1.12"
	oidSHA512WithRSA      = "1.2.840.113549.1.1.13"
	oidECPublicKey        = "1.2.840.10045.2.1"
	oidECDSAWithSHA1      = "1.2.840.10045.4.1"
	oidECDSAWithSHA256    = "1.2.840.10045.4.3.2"
	oidECDSAWithSHA384    = "1.2.840.10045.4.3.3"
	oidECDSAWithSHA512    = "1.2.840.10045.4.3.4"
	oidEd25519            = "1.3.101.112"
	oidRSASSAPSS          = "1.2.840.113549.1.1.10"
	oidDigestSHA1WithRSA2 = "1.3.14.3.2.29" // sha1WithRSASignature (OIW)
)

// Bounds on one PKCS#7 blob.
const (
	maxCertificates = 64
	maxAttributes   = 64
	maxNested       = 8
	maxNestDepth    = 1
)

// ASN.1 shapes. Fields that are compared or hashed byte for byte are kept
// raw, so re-encoding never changes them.
type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	// Content is the [0] EXPLICIT wrapper itself (encoding/asn1 does not
	// unwrap a RawValue): its Bytes are the DER of the content.
	Content asn1.RawValue `asn1:"explicit,optional,tag:0"`
}

type signedDataASN struct {
	Version          int
	DigestAlgorithms asn1.RawValue
	ContentInfo      contentInfo
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos      []signerInfo  `asn1:"set"`
}

type signerInfo struct {
	Version                   int
	SID                       asn1.RawValue // issuerAndSerialNumber, or [0] subjectKeyIdentifier
	DigestAlgorithm           algorithmIdentifier
	AuthenticatedAttributes   asn1.RawValue `asn1:"optional,tag:0"`
	DigestEncryptionAlgorithm algorithmIdentifier
	EncryptedDigest           []byte
	UnauthenticatedAttributes asn1.RawValue `asn1:"optional,tag:1"`
}

type algorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial asn1.RawValue
}

type spcIndirectDataContent struct {
	Data struct {
		Type  asn1.ObjectIdentifier
		Value asn1.RawValue `asn1:"optional"`
	}
	MessageDigest struct {
		Algorithm algorithmIdentifier
		Digest    []byte
	}
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue // SET OF ANY
}

type certificateASN struct {
	TBS    asn1.RawValue
	SigAlg asn1.RawValue
	Sig    asn1.RawValue
}

type tbsCertificate struct {
	Version  int `asn1:"optional,explicit,default:0,tag:0"`
	Serial   asn1.RawValue
	SigAlg   asn1.RawValue
	Issuer   asn1.RawValue
	Validity struct {
		NotBefore asn1.RawValue
		NotAfter  asn1.RawValue
	}
	Subject asn1.RawValue
	SPKI    asn1.RawValue
}

// certificate is the little of an X.509 certificate a signature needs. It
// is parsed leniently, by hand, because [x509.ParseCertificate] refuses
// certificates Windows accepts (negative serial numbers, odd encodings),
// and old signers are full of them.
type certificate struct {
	issuerRaw []byte // DER of the issuer Name
	serial    []byte // content octets of the serial INTEGER
	subject   name
	issuer    name
	notBefore time.Time
	notAfter  time.Time
	spki      []byte
}

// signedData is one parsed signature, not yet checked against the file.
type signedData struct {
	sig         Signature
	imageHash   crypto.Hash // the algorithm of the signed image digest; 0 when unknown
	imageDigest []byte
}

// parseSignedData parses a PKCS#7 ContentInfo holding an Authenticode
// SignedData and verifies everything that does not need the file: the
// signer certificate, the signed attributes and their signature. It
// returns the signature and, at depth 0, those nested in it. An error means
// the blob (or a nested one) could not be parsed at all.
func parseSignedData(blob []byte, depth int) ([]*signedData, error) {
	var ci contentInfo
	if _, err := asn1.Unmarshal(blob, &ci); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedPKCS7, err)
	}
	if ci.ContentType.String() != oidSignedData {
		return nil, fmt.Errorf("%w: content type %v is not signedData", ErrMalformedPKCS7, ci.ContentType)
	}
	var sd signedDataASN
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return nil, fmt.Errorf("%w: SignedData: %w", ErrMalformedPKCS7, err)
	}
	if sd.ContentInfo.ContentType.String() != oidSpcIndirectData {
		return nil, fmt.Errorf("%w: signed content %v is not SpcIndirectDataContent", ErrMalformedPKCS7, sd.ContentInfo.ContentType)
	}
	if len(sd.SignerInfos) != 1 {
		return nil, fmt.Errorf("%w: %d signer infos (Authenticode has one)", ErrMalformedPKCS7, len(sd.SignerInfos))
	}
	// The messageDigest attribute is the hash of the content octets of
	// the SpcIndirectDataContent SEQUENCE, without its tag and length.
	var content asn1.RawValue
	if _, err := asn1.Unmarshal(sd.ContentInfo.Content.Bytes, &content); err != nil {
		return nil, fmt.Errorf("%w: SpcIndirectDataContent: %w", ErrMalformedPKCS7, err)
	}
	var spc spcIndirectDataContent
	if _, err := asn1.Unmarshal(content.FullBytes, &spc); err != nil {
		return nil, fmt.Errorf("%w: SpcIndirectDataContent: %w", ErrMalformedPKCS7, err)
	}
	certs, err := parseCertificates(sd.Certificates)
	if err != nil {
		return nil, err
	}

	out := &signedData{sig: Signature{Nested: depth > 0}}
	si := &sd.SignerInfos[0]
	out.imageHash, out.sig.DigestAlgorithm = digestHash(spc.MessageDigest.Algorithm.Algorithm)
	out.imageDigest = spc.MessageDigest.Digest
	out.sig.Err = verifySigner(&out.sig, si, content.Bytes, certs)
	switch {
	case out.sig.Err != nil:
	case spc.Data.Type.String() != oidSpcPEImageData:
		out.sig.Err = fmt.Errorf("%w: indirect data %v is not a PE image", ErrUnsupported, spc.Data.Type)
	case out.imageHash == 0:
		out.sig.Err = fmt.Errorf("%w: image digest algorithm %v", ErrUnsupported, spc.MessageDigest.Algorithm.Algorithm)
	}

	all := []*signedData{out}
	if depth >= maxNestDepth || len(si.UnauthenticatedAttributes.Bytes) == 0 {
		return all, nil
	}
	var errs []error
	attrs, _ := parseAttributes(si.UnauthenticatedAttributes.Bytes)
	nested := 0
	for _, a := range attrs {
		if a.Type.String() != oidNestedSignature {
			continue
		}
		for rest := a.Values.Bytes; len(rest) > 0 && nested < maxNested; nested++ {
			var v asn1.RawValue
			var err error
			if rest, err = asn1.Unmarshal(rest, &v); err != nil {
				errs = append(errs, fmt.Errorf("nested signature: %w: %w", ErrMalformedPKCS7, err))
				break
			}
			sds, err := parseSignedData(v.FullBytes, depth+1)
			all = append(all, sds...)
			if err != nil {
				errs = append(errs, fmt.Errorf("nested signature: %w", err))
			}
		}
	}
	return all, errors.Join(errs...)
}

// verifySigner finds the signer's certificate, fills in who signed, and
// checks the signed attributes against content (the content octets of the
// SpcIndirectDataContent) and their signature against the certificate's
// key. It returns why the signature is not valid, or nil.
func verifySigner(s *Signature, si *signerInfo, content []byte, certs []*certificate) error {
	if si.SID.Class != asn1.ClassUniversal || si.SID.Tag != asn1.TagSequence {
		return fmt.Errorf("%w: signer identified by key identifier", ErrUnsupported)
	}
	var ias issuerAndSerial
	if _, err := asn1.Unmarshal(si.SID.FullBytes, &ias); err != nil {
		return fmt.Errorf("%w: issuerAndSerialNumber: %w", ErrMalformedPKCS7, err)
	}
	var cert *certificate
	for _, c := range certs {
		if bytes.Equal(c.serial, ias.Serial.Bytes) && bytes.Equal(c.issuerRaw, ias.Issuer.FullBytes) {
			cert = c
			break
		}
	}
	if cert == nil {
		return ErrNoSignerCert
	}
	s.Subject, s.CommonName, s.Organization = cert.subject.String(), cert.subject.first("CN"), cert.subject.first("O")
	s.Issuer = cert.issuer.String()
	s.SerialNumber = hex.EncodeToString(cert.serial)
	s.NotBefore, s.NotAfter = cert.notBefore, cert.notAfter

	if len(si.AuthenticatedAttributes.Bytes) == 0 {
		return fmt.Errorf("%w: no signed attributes", ErrUnsupported)
	}
	attrHash, name := digestHash(si.DigestAlgorithm.Algorithm)
	if attrHash == 0 || !attrHash.Available() {
		return fmt.Errorf("%w: digest algorithm %v (%s)", ErrUnsupported, si.DigestAlgorithm.Algorithm, name)
	}
	attrs, err := parseAttributes(si.AuthenticatedAttributes.Bytes)
	if err != nil {
		return err
	}
	var md []byte
	var ctOK bool
	for _, a := range attrs {
		switch a.Type.String() {
		case oidAttrMessageDigest:
			if _, err := asn1.Unmarshal(a.Values.Bytes, &md); err != nil {
				return fmt.Errorf("%w: messageDigest: %w", ErrMalformedPKCS7, err)
			}
		case oidAttrContentType:
			var ct asn1.ObjectIdentifier
			if _, err := asn1.Unmarshal(a.Values.Bytes, &ct); err == nil && ct.String() == oidSpcIndirectData {
				ctOK = true
			}
		case oidAttrSigningTime:
			var t time.Time
			if _, err := asn1.Unmarshal(a.Values.Bytes, &t); err == nil {
				s.SigningTime = t.UTC()
			}
		}
	}
	if !ctOK {
		return fmt.Errorf("%w: contentType attribute missing or not SpcIndirectDataContent", ErrBadSignature)
	}
	h := attrHash.New()
	h.Write(content)
	if !constantTimeEqual(h.Sum(nil), md) {
		return fmt.Errorf("%w: messageDigest attribute does not match the signed content", ErrBadSignature)
	}
	// The signature covers the attributes DER-encoded as a SET OF, not
	// with the [0] IMPLICIT tag they are stored under.
	signed := bytes.Clone(si.AuthenticatedAttributes.FullBytes)
	signed[0] = 0x31
	h = attrHash.New()
	h.Write(signed)
	if err := verifyWithKey(cert.spki, si.DigestEncryptionAlgorithm.Algorithm, attrHash, h.Sum(nil), signed, si.EncryptedDigest); err != nil {
		return err
	}
	s.SignatureOK = true
	return nil
}

// verifyWithKey checks sig, made over a message whose hash is digest, with
// the public key in spki.
func verifyWithKey(spki []byte, alg asn1.ObjectIdentifier, h crypto.Hash, digest, msg, sig []byte) error {
	pub, err := x509.ParsePKIXPublicKey(spki)
	if err != nil {
		return fmt.Errorf("%w: signer public key: %w", ErrUnsupported, err)
	}
	switch alg.String() {
	case oidRSAEncryption, oidSHA1WithRSA, oidDigestSHA1WithRSA2, oidSHA256WithRSA, oidSHA384WithRSA, oidSHA512WithRSA:
		k, ok := pub.(*rsa.PublicKey)
		if !ok {
			return fmt.Errorf("%w: RSA signature with a %T key", ErrBadSignature, pub)
		}
		if err := rsa.VerifyPKCS1v15(k, h, digest, sig); err != nil {
			return fmt.Errorf("%w: %w", ErrBadSignature, err)
		}
	case oidECPublicKey, oidECDSAWithSHA1, oidECDSAWithSHA256, oidECDSAWithSHA384, oidECDSAWithSHA512:
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return fmt.Errorf("%w: ECDSA signature with a %T key", ErrBadSignature, pub)
		}
		if !ecdsa.VerifyASN1(k, digest, sig) {
			return fmt.Errorf("%w: ECDSA verification failed", ErrBadSignature)
		}
	case oidEd25519:
		k, ok := pub.(ed25519.PublicKey)
		if !ok {
			return fmt.Errorf("%w: Ed25519 signature with a %T key", ErrBadSignature, pub)
		}
		if !ed25519.Verify(k, msg, sig) {
			return fmt.Errorf("%w: Ed25519 verification failed", ErrBadSignature)
		}
	case oidRSASSAPSS:
		return fmt.Errorf("%w: RSASSA-PSS signatures", ErrUnsupported)
	default:
		return fmt.Errorf("%w: signature algorithm %v", ErrUnsupported, alg)
	}
	return nil
}

// digestHash maps a digest algorithm OID to its hash and name; the hash is
// 0 for one this package does not compute (MD5 among them).
func digestHash(oid asn1.ObjectIdentifier) (crypto.Hash, string) {
	switch oid.String() {
	case oidDigestSHA1:
		return crypto.SHA1, "sha1"
	case oidDigestSHA256:
		return crypto.SHA256, "sha256"
	case oidDigestSHA384:
		return crypto.SHA384, "sha384"
	case oidDigestSHA512:
		return crypto.SHA512, "sha512"
	case oidDigestMD5:
		return 0, "md5"
	}
	return 0, oid.String()
}

// parseAttributes parses the content octets of a SET OF Attribute.
func parseAttributes(b []byte) ([]attribute, error) {
	var attrs []attribute
	for rest := b; len(rest) > 0; {
		if len(attrs) >= maxAttributes {
			return attrs, fmt.Errorf("%w: more than %d attributes", ErrMalformedPKCS7, maxAttributes)
		}
		var a attribute
		var err error
		if rest, err = asn1.Unmarshal(rest, &a); err != nil {
			return attrs, fmt.Errorf("%w: attribute: %w", ErrMalformedPKCS7, err)
		}
		attrs = append(attrs, a)
	}
	return attrs, nil
}

// parseCertificates parses the [0] IMPLICIT SET OF Certificate of a
// SignedData. A certificate that cannot be parsed is skipped: it is then
// simply not found as the signer.
func parseCertificates(set asn1.RawValue) ([]*certificate, error) {
	var certs []*certificate
	for rest := set.Bytes; len(rest) > 0; {
		if len(certs) >= maxCertificates {
			break
		}
		var raw asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &raw); err != nil {
			return nil, fmt.Errorf("%w: certificate list: %w", ErrMalformedPKCS7, err)
		}
		if c, err := parseCertificate(raw.FullBytes); err == nil {
			certs = append(certs, c)
		}
	}
	return certs, nil
}

func parseCertificate(der []byte) (*certificate, error) {
	var c certificateASN
	if _, err := asn1.Unmarshal(der, &c); err != nil {
		return nil, err
	}
	var tbs tbsCertificate
	if _, err := asn1.Unmarshal(c.TBS.FullBytes, &tbs); err != nil {
		return nil, err
	}
	if tbs.Serial.Tag != asn1.TagInteger || tbs.Serial.Class != asn1.ClassUniversal {
		return nil, errors.New("serial number is not an INTEGER")
	}
	subject, err := parseName(tbs.Subject.FullBytes)
	if err != nil {
		return nil, fmt.Errorf("subject: %w", err)
	}
	issuer, err := parseName(tbs.Issuer.FullBytes)
	if err != nil {
		return nil, fmt.Errorf("issuer: %w", err)
	}
	return &certificate{
		issuerRaw: tbs.Issuer.FullBytes,
		serial:    tbs.Serial.Bytes,
		subject:   subject,
		issuer:    issuer,
		notBefore: parseTime(tbs.Validity.NotBefore),
		notAfter:  parseTime(tbs.Validity.NotAfter),
		spki:      tbs.SPKI.FullBytes,
	}, nil
}

// parseTime reads a UTCTime or GeneralizedTime; zero when it cannot.
func parseTime(v asn1.RawValue) time.Time {
	var t time.Time
	if _, err := asn1.Unmarshal(v.FullBytes, &t); err != nil {
		return time.Time{}
	}
	return t.UTC()
}
