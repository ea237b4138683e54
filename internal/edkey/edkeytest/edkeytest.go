// Package edkeytest gives tests the weak Ed25519 public keys of
// ../testdata/weak-keys.txt (points of small order, and non-canonical
// encodings), with where they come from.
package edkeytest

import (
	"bufio"
	"crypto/ed25519"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// WeakKey is one key of the list.
type WeakKey struct {
	Name string
	// SmallOrder: a canonical encoding of a point of small order;
	// otherwise a non-canonical encoding.
	SmallOrder bool
	Key        ed25519.PublicKey
}

// WeakKeys reads the list; it fails t if the file is missing or wrong.
func WeakKeys(t testing.TB) []WeakKey {
	t.Helper()
	_, self, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(self), "..", "testdata", "weak-keys.txt")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var keys []WeakKey
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 3 || fields[0] != "small" && fields[0] != "noncanonical" {
			t.Fatalf("%s: bad line %q", path, line)
		}
		b, err := hex.DecodeString(fields[2])
		if err != nil || len(b) != ed25519.PublicKeySize {
			t.Fatalf("%s: bad key in %q: %v", path, line, err)
		}
		keys = append(keys, WeakKey{Name: fields[1], SmallOrder: fields[0] == "small", Key: b})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 14 {
		t.Fatalf("%s: %d keys, want 8 small-order and 6 non-canonical", path, len(keys))
	}
	return keys
}

// ForgedSignature is the signature (R = identity, S = 0) that the
// identity key verifies for every message.
func ForgedSignature() []byte {
	sig := make([]byte, ed25519.SignatureSize)
	sig[0] = 1
	return sig
}
