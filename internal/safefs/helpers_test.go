package safefs

import (
	"testing"
	"time"
)

// Within is within, for the external tests.
var Within = within

// within runs fn and fails the test when it has not returned after d: a
// blocked open must not hang the test run.
func within(t *testing.T, d time.Duration, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("still blocked after %s", d)
	}
}
