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

// wholePrefix is the prefix that makes a name of the root rootName an
// absolute path of this machine when that root is its whole filesystem
// ("/"), and "" for any other root.
func wholePrefix(rootName string) string {
	if rootName == "/" {
		return "/"
	}
	return ""
}
