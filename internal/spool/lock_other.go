//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || windows)

package spool

import (
	"errors"
	"os"
)

// lockFile is not implemented here: without a lock two agents could share
// a spool, so Open refuses.
func lockFile(*os.File) error {
	return errors.ErrUnsupported
}
