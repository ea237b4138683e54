//go:build !linux

package units

import (
	"errors"
	"io/fs"
)

// dirents reads folders itself on Linux only: elsewhere listDir is
// fs.ReadDir.
func dirents(fs.File, []byte, func(name string, typ fs.FileMode, known bool) bool) (bool, error) {
	return false, nil
}

// folderFD is -1: readIn reads nothing but on Linux.
func folderFD(fs.File) int { return -1 }

// readIn reads files itself on Linux only: elsewhere it reads nothing and
// the caller reads as it always did.
func readIn(int, string, *reader, int) ([]byte, bool) { return nil, false }

// statIn looks names up itself on Linux only: elsewhere the caller
// looks them up as it always did.
func statIn(int, string) (fs.FileMode, error) {
	return 0, errors.ErrUnsupported
}

// reader holds a worker's buffers where readIn reads: none here.
type reader struct{}
