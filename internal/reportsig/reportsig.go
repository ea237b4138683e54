// Package reportsig writes and checks the detached signature of a report
// file, so that an auditor can tell a report avscout wrote from one
// edited afterwards, offline and without the collector.
//
// `avscout scan --output r.json --sign` writes r.json and, beside it,
// r.json.sig: a small JSON document holding the agent's Ed25519 public
// key and its signature of the exact bytes of r.json, the same signature
// the agent sends the collector with every report (see package agentkey
// and the README's "Trust model"). `avscout verify r.json` checks it.
//
// Two kinds of signature share the document, told apart by its format:
//
//   - [FormatFile], what `scan --sign` writes: the signature of a fixed
//     context string followed by the report's bytes. Because of the
//     context it is never a valid signature for the collector, so a report
//     file signed for an audit, which was never sent, cannot be posted to
//     the collector as this host's report.
//   - [FormatDelivered], what the collector serves for a report it
//     received: the signature the agent sent it, of the report's bytes
//     alone.
//
// A valid signature proves that whoever holds the key named in the file
// wrote these bytes, and nothing more: anyone can make a key and sign a
// forged report with it. What ties a key to a host is its fingerprint,
// which `avscout status` prints on the host and the collector shows for
// the key it pinned; [Verify] returns it, and a verifier that was told
// which key to expect passes it in [Options.Fingerprints].
package reportsig

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/avscout/avscout/internal/agentkey"
	"github.com/avscout/avscout/internal/edkey"
	"github.com/avscout/avscout/internal/text"
)

// Formats of the signature document (see the package doc).
const (
	FormatFile      = "avscout-report-signature/1"
	FormatDelivered = "avscout-delivered-report-signature/1"
)

// fileContext starts what a [FormatFile] signature signs, before the
// report's bytes. A report never starts with it (a report is a JSON
// object), so no file signature is a signature of a report as sent.
const fileContext = "avscout report file signature\n"

// signedMessage is what a signature document of format signs for report.
func signedMessage(format string, report []byte) []byte {
	if format == FormatFile {
		return append([]byte(fileContext), report...)
	}
	return report
}

// Ext is what a report's file name is given to name its signature file.
const Ext = ".sig"

// MaxSignatureFile bounds what is read of a signature file; a real one
// is about 400 bytes.
const MaxSignatureFile = 16 << 10

// Signature is the detached signature document.
type Signature struct {
	Format string `json:"format"`
	// PublicKey is "ed25519:" and the standard base64 of the 32-byte key.
	PublicKey string `json:"public_key"`
	// Fingerprint is the key's fingerprint ([agentkey.Fingerprint]), for
	// people; [Verify] checks it agrees with PublicKey.
	Fingerprint string `json:"fingerprint"`
	// SHA256 is the hex digest of the signed bytes, so that a changed
	// report is named as such rather than as a bad signature.
	SHA256 string `json:"sha256"`
	// Signature is "ed25519:" and the standard base64 of the 64-byte
	// signature of the report's exact bytes.
	Signature string `json:"signature"`
}

// Signer is what signing needs of a key; [*agentkey.Key] is one.
type Signer interface {
	PublicKey() ed25519.PublicKey
	Sign(msg []byte) []byte
}

// Sign returns the [FormatFile] signature document of report, signed by
// k, as the bytes to write to the signature file.
func Sign(report []byte, k Signer) ([]byte, error) {
	return document(FormatFile, report, k.PublicKey(), k.Sign(signedMessage(FormatFile, report)))
}

// Delivered returns the [FormatDelivered] document of a signature sig
// that pub made of report as sent, such as one the collector received
// with a report: a report downloaded from the collector and this document
// verify like a report signed by `scan --sign`. It does not check sig.
func Delivered(report []byte, pub ed25519.PublicKey, sig []byte) ([]byte, error) {
	return document(FormatDelivered, report, pub, sig)
}

func document(format string, report []byte, pub ed25519.PublicKey, sig []byte) ([]byte, error) {
	if err := edkey.Check(pub); err != nil {
		return nil, fmt.Errorf("sign report: %w", err)
	}
	if len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("sign report: a signature of %d bytes, want %d", len(sig), ed25519.SignatureSize)
	}
	sum := sha256.Sum256(report)
	doc := Signature{
		Format:      format,
		PublicKey:   edkey.Format(pub),
		Fingerprint: agentkey.Fingerprint(pub),
		SHA256:      hex.EncodeToString(sum[:]),
		Signature:   edkey.Format(sig),
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("sign report: %w", err)
	}
	return append(out, '\n'), nil
}

// Parse reads a signature document: one JSON object with exactly the
// fields of [Signature], at most [MaxSignatureFile] bytes. It checks the
// form of every field, not the signature.
func Parse(r io.Reader) (*Signature, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSignatureFile+1))
	if err != nil {
		return nil, fmt.Errorf("read signature: %w", err)
	}
	if len(data) > MaxSignatureFile {
		return nil, fmt.Errorf("signature file larger than %d bytes: not an avscout signature", MaxSignatureFile)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Signature
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("signature file: %w", err)
	}
	if dec.More() {
		return nil, errors.New("signature file: data after the JSON object")
	}
	if s.Format != FormatFile && s.Format != FormatDelivered {
		return nil, fmt.Errorf("signature file: format %q, want %q or %q", clip(s.Format), FormatFile, FormatDelivered)
	}
	if _, err := s.publicKey(); err != nil {
		return nil, err
	}
	if _, err := decodeField("signature", s.Signature, ed25519.SignatureSize); err != nil {
		return nil, err
	}
	if b, err := hex.DecodeString(s.SHA256); err != nil || len(b) != sha256.Size || s.SHA256 != strings.ToLower(s.SHA256) {
		return nil, fmt.Errorf("signature file: sha256 %q is not a lower-case hex SHA-256", clip(s.SHA256))
	}
	return &s, nil
}

// publicKey decodes and checks s's public key, and that the fingerprint
// written beside it is its own.
func (s *Signature) publicKey() (ed25519.PublicKey, error) {
	b, err := decodeField("public_key", s.PublicKey, ed25519.PublicKeySize)
	if err != nil {
		return nil, err
	}
	pub := ed25519.PublicKey(b)
	if err := edkey.Check(pub); err != nil {
		return nil, fmt.Errorf("signature file: public_key: %w", err)
	}
	if fp := agentkey.Fingerprint(pub); s.Fingerprint != fp {
		return nil, fmt.Errorf("signature file: fingerprint %q is not the public key's (%s)", clip(s.Fingerprint), fp)
	}
	return pub, nil
}

// decodeField decodes "ed25519:<base64>" of n bytes.
func decodeField(name, v string, n int) ([]byte, error) {
	if !strings.HasPrefix(v, edkey.Prefix) {
		return nil, fmt.Errorf("signature file: %s %q does not start with %q", name, clip(v), edkey.Prefix)
	}
	b, err := edkey.ParseTagged(v, n)
	if err != nil {
		return nil, fmt.Errorf("signature file: %s is not the standard base64 of %d bytes", name, n)
	}
	return b, nil
}

// ErrChanged means the report is not the one signed: its digest differs
// from the one the signature file records.
var ErrChanged = errors.New("the report is not the one signed: its bytes changed since")

// ErrBadSignature means the signature does not verify: the signature
// file, or the report and the digest in it, were changed.
var ErrBadSignature = errors.New("the signature does not verify")

// ErrUnexpectedSigner means the signature is valid but made by a key the
// verifier was not told to expect.
var ErrUnexpectedSigner = errors.New("signed by another key than the expected one")

// Options are what a verifier expects.
type Options struct {
	// Fingerprints, when not empty, are the keys allowed to have signed
	// (as [agentkey.Fingerprint] writes them).
	Fingerprints []string
}

// Verify checks that sig is a valid signature of report, by one of the
// keys opts expects if it names any, and returns the signer's
// fingerprint.
func Verify(report []byte, sig *Signature, opts Options) (fingerprint string, err error) {
	pub, err := sig.publicKey()
	if err != nil {
		return "", err
	}
	sigBytes, err := decodeField("signature", sig.Signature, ed25519.SignatureSize)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(report)
	if got := hex.EncodeToString(sum[:]); got != sig.SHA256 {
		return "", fmt.Errorf("%w (sha256 %s, signed %s)", ErrChanged, got, sig.SHA256)
	}
	if !ed25519.Verify(pub, signedMessage(sig.Format, report), sigBytes) {
		return "", ErrBadSignature
	}
	fp := agentkey.Fingerprint(pub)
	if len(opts.Fingerprints) > 0 && !slices.Contains(opts.Fingerprints, fp) {
		return fp, fmt.Errorf("%w: %s", ErrUnexpectedSigner, fp)
	}
	return fp, nil
}

// clip makes text from the file safe to quote in an error: one line,
// at most 80 bytes.
func clip(s string) string { return text.Clip(text.OneLine(s), 80) }
