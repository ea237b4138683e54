package collector

import (
	"crypto/ed25519"
	"fmt"
	"testing"
	"time"
)

func TestKeyCache(t *testing.T) {
	now := t0
	c := newKeyCache(time.Minute, 3, func() time.Time { return now })
	a := ed25519.NewKeyFromSeed(bytesOf(1)).Public().(ed25519.PublicKey)
	b := ed25519.NewKeyFromSeed(bytesOf(2)).Public().(ed25519.PublicKey)

	if c.confirmed("h1", a) {
		t.Fatal("an empty cache confirmed a key")
	}
	c.remember("h1", a)
	if !c.confirmed("h1", a) {
		t.Error("a remembered key is not confirmed")
	}
	if c.confirmed("h1", b) || c.confirmed("h2", a) {
		t.Error("another key, or another host, is confirmed")
	}
	now = now.Add(time.Minute)
	if c.confirmed("h1", a) {
		t.Error("a key is confirmed after its time to live")
	}
	c.remember("h1", a)
	c.forget("h1")
	if c.confirmed("h1", a) {
		t.Error("a forgotten (re-keyed) host's key is confirmed")
	}
	// Bounded: never more than max entries.
	for i := range 10 {
		c.remember(fmt.Sprintf("host-%d", i), a)
		if len(c.entries) > 3 {
			t.Fatalf("%d entries, want at most 3", len(c.entries))
		}
	}
}

func bytesOf(b byte) []byte {
	s := make([]byte, ed25519.SeedSize)
	for i := range s {
		s[i] = b
	}
	return s
}
