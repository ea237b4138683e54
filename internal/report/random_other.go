//go:build !linux

package report

import "crypto/rand"

// randomBytes fills b from the system's random source.
func randomBytes(b []byte) {
	_, _ = rand.Read(b) // never fails: crypto/rand crashes the program instead
}
