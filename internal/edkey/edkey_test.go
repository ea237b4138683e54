package edkey

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/avscout/avscout/internal/edkey/edkeytest"
)

func decode(t *testing.T, h string) ed25519.PublicKey {
	t.Helper()
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != ed25519.PublicKeySize {
		t.Fatalf("fixture %q: %v", h, err)
	}
	return b
}

func TestCheck(t *testing.T) {
	for _, k := range edkeytest.WeakKeys(t) {
		t.Run(k.Name, func(t *testing.T) {
			want := ErrEncoding
			if k.SmallOrder {
				want = ErrSmallOrder
			}
			if err := Check(k.Key); !errors.Is(err, want) {
				t.Errorf("Check(%x) = %v, want %v", k.Key, err, want)
			}
		})
	}
	t.Run("not_on_curve", func(t *testing.T) {
		// y = 2: (y²-1)/(d·y²+1) has no square root mod p.
		if err := Check(decode(t, "0200000000000000000000000000000000000000000000000000000000000000")); !errors.Is(err, ErrEncoding) {
			t.Errorf("Check = %v, want ErrEncoding", err)
		}
	})
	t.Run("wrong_size", func(t *testing.T) {
		if err := Check(make([]byte, 31)); !errors.Is(err, ErrEncoding) {
			t.Errorf("Check = %v, want ErrEncoding", err)
		}
	})
	t.Run("generated", func(t *testing.T) {
		for range 100 {
			pub, _, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			if err := Check(pub); err != nil {
				t.Fatalf("Check(%x) = %v", pub, err)
			}
		}
	})
	// RFC 8032 section 7.1, TEST 1.
	t.Run("rfc8032_test1", func(t *testing.T) {
		if err := Check(decode(t, "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")); err != nil {
			t.Errorf("Check = %v", err)
		}
	})
}

// Why: the identity key verifies any message with the signature (R =
// identity, S = 0), so whoever pinned it could sign for the host.
func TestIdentityKeyForges(t *testing.T) {
	k := edkeytest.WeakKeys(t)[0]
	if k.Name != "identity" {
		t.Fatalf("first weak key %q, want identity", k.Name)
	}
	id := k.Key
	sig := edkeytest.ForgedSignature()
	for _, msg := range []string{"a report", "another report"} {
		if !ed25519.Verify(id, []byte(msg), sig) {
			t.Fatalf("the identity key does not verify %q: the premise of Check is wrong", msg)
		}
	}
}
