//go:build !unix && !windows

package agentkey

import (
	"errors"
	"io/fs"
	"os"
)

func openNoFollow(path string) (*os.File, error) { return os.Open(path) }

// checkPrivate checks nothing where the OS has no owners or modes to read.
func checkPrivate(*os.File, fs.FileInfo) error { return nil }

// writeNew creates path exclusively. Without a link or a no-replace move
// a reader may see it half-written; the agent is not built for these OSes.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

func linkBack(from, to string) error {
	if _, err := os.Lstat(to); err == nil {
		return fs.ErrExist
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.Rename(from, to)
}
