package collector

import (
	"bytes"
	"crypto/ed25519"
	"sync"
	"time"
)

// keyCache remembers, per replica, the keys recently confirmed as pinned
// to their hosts, so that a host's reports in quick succession (a queue
// flushed after an outage, a fleet reporting at once) cost one database
// read, not one each.
//
// It only ever confirms: a report whose key is not the cached one is
// checked against the database, so a host re-keyed on another replica
// is accepted with its new key at once. What it lets through for up to
// its time to live after a rekey done on another replica is the old key;
// a rekey done on this replica forgets the host here at once.
type keyCache struct {
	mu      sync.Mutex
	ttl     time.Duration
	max     int
	now     func() time.Time
	entries map[string]cachedKey
}

type cachedKey struct {
	pub   ed25519.PublicKey
	until time.Time
}

// Defaults of the key cache: a minute, and 100,000 hosts (some 15 MB).
const (
	keyCacheTTL = time.Minute
	keyCacheMax = 100_000
)

func newKeyCache(ttl time.Duration, max int, now func() time.Time) *keyCache {
	return &keyCache{ttl: ttl, max: max, now: now, entries: map[string]cachedKey{}}
}

// confirmed reports whether pub was confirmed as host's pinned key within
// the time to live.
func (c *keyCache) confirmed(host string, pub ed25519.PublicKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[host]
	return ok && c.now().Before(e.until) && bytes.Equal(e.pub, pub)
}

// remember notes that pub is host's pinned key, as the database said.
func (c *keyCache) remember(host string, pub ed25519.PublicKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[host]; !ok && len(c.entries) >= c.max {
		now := c.now()
		for h, e := range c.entries {
			if !now.Before(e.until) {
				delete(c.entries, h)
			}
		}
		if len(c.entries) >= c.max {
			clear(c.entries) // all fresh: start over rather than grow
		}
	}
	c.entries[host] = cachedKey{pub: bytes.Clone(pub), until: c.now().Add(c.ttl)}
}

// forget drops host, after an administrator moved its pin.
func (c *keyCache) forget(host string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, host)
}
