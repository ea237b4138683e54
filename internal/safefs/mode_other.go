//go:build !windows

package safefs

import (
	"io/fs"
	"os"
)

// openedInfo says what an opened file is: its Stat, kept for the file's
// own Stat.
func openedInfo(f *os.File) (fs.FileMode, fs.FileInfo, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, nil, err
	}
	return fi.Mode(), fi, nil
}
