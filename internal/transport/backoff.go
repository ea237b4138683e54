package transport

import (
	"math/rand/v2"
	"time"
)

// Backoff computes waits between failed delivery passes: exponential
// with full jitter, so that a fleet whose collector comes back does not
// return all at once.
type Backoff struct {
	Base time.Duration // first cap; zero means 1s
	Max  time.Duration // cap; zero means 5m
	// Rand returns a uniform draw in [0, n); nil means math/rand/v2.
	// Tests fix it.
	Rand func(n int64) int64
}

// Longest returns the cap, the longest wait [Backoff.Next] gives.
func (b Backoff) Longest() time.Duration {
	base, ceil := b.limits()
	return max(ceil, base)
}

// limits returns Base and Max with their defaults.
func (b Backoff) limits() (base, ceil time.Duration) {
	base, ceil = b.Base, b.Max
	if base <= 0 {
		base = time.Second
	}
	if ceil <= 0 {
		ceil = 5 * time.Minute
	}
	return base, ceil
}

// Next returns the wait after the failure numbered attempt (0 for the
// first): a uniform draw in [0, min(Max, Base·2^attempt)].
func (b Backoff) Next(attempt int) time.Duration {
	base, ceil := b.limits()
	ceil = max(ceil, base)
	attempt = max(attempt, 0)
	limit := ceil
	if attempt < 62 && base <= ceil>>attempt {
		limit = base << attempt
	}
	draw := rand.Int64N
	if b.Rand != nil {
		draw = b.Rand
	}
	return time.Duration(draw(int64(limit) + 1))
}
