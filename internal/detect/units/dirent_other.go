//go:build !linux

package units

import "io/fs"

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
