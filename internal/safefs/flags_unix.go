//go:build unix

package safefs

import (
	"os"
	"syscall"
)

// openFlags opens without blocking: a named pipe with no writer would
// otherwise hold open(2) forever. Regular files and directories read as
// usual.
const openFlags = os.O_RDONLY | syscall.O_NONBLOCK
