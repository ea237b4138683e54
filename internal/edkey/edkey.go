// Package edkey refuses Ed25519 public keys that bind nothing. A key
// that is a point of small order (the identity among them) verifies
// forged signatures: with the identity, the signature R = identity, S = 0
// verifies every message. Whoever pinned such a key to a host could sign
// anything for it, and so could anyone else. Such keys never come out of
// key generation; they are made on purpose.
package edkey

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"

	"filippo.io/edwards25519"
)

var (
	// ErrEncoding: the key is not the canonical encoding of a point of
	// the curve.
	ErrEncoding = errors.New("not the canonical encoding of an Ed25519 point")
	// ErrSmallOrder: the key is a point of small order, which verifies
	// forged signatures.
	ErrSmallOrder = errors.New("a point of small order, which verifies forged signatures")
)

// Check returns nil for a usable Ed25519 public key: 32 bytes, the
// canonical encoding (RFC 8032 section 5.1.3, y < p, no sign bit on x =
// 0) of a curve point whose multiple by the cofactor 8 is not the
// identity. Errors wrap [ErrEncoding] or [ErrSmallOrder].
func Check(pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: %d bytes, want %d", ErrEncoding, len(pub), ed25519.PublicKeySize)
	}
	p, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrEncoding, err)
	}
	// SetBytes accepts non-canonical encodings; the point's own encoding
	// is the canonical one.
	if !bytes.Equal(p.Bytes(), pub) {
		return ErrEncoding
	}
	if new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1 {
		return ErrSmallOrder
	}
	return nil
}
