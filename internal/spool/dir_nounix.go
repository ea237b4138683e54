//go:build !unix

package spool

import (
	"io/fs"
	"os"
)

// secureDir checks nothing here: on Windows the directory's ACL, set by
// the installer, decides who may use it.
func secureDir(string, fs.FileInfo) error {
	return nil
}

// syncDir does nothing: Windows cannot flush a directory handle, and NTFS
// journals renames.
func syncDir(*os.File) error {
	return nil
}
