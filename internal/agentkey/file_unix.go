//go:build unix

package agentkey

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// openNoFollow opens path for reading, refusing a symbolic link.
func openNoFollow(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
}

// checkPrivate refuses a key file owned by another user or open to group
// or others.
func checkPrivate(_ *os.File, fi fs.FileInfo) error {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("owned by uid %d, not by the service's uid %d: check who made it, then delete it "+
			"(a new key is made, and an administrator must run `avscout-collector host rekey`)", st.Uid, os.Geteuid())
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("mode %04o lets other users read or change it, so it may have been copied: "+
			"if it was not, chmod 600 it; otherwise delete it (a new key is made, and an administrator must run "+
			"`avscout-collector host rekey`)", perm)
	}
	return nil
}

// writeNew writes data to path, mode 0600, only if path does not exist:
// the data goes whole to a temporary file that is then hard-linked to
// path, which fails (fs.ErrExist) rather than replace a file.
func writeNew(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	err = tmp.Chmod(0o600)
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		var le *os.LinkError
		if errors.As(err, &le) && errors.Is(le.Err, fs.ErrExist) {
			return fmt.Errorf("create %s: %w", path, fs.ErrExist)
		}
		return err
	}
	if d, err := os.Open(dir); err == nil {
		// The new name survives a power cut; a folder that cannot be
		// synced leaves the file written all the same.
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// linkBack puts the file at from back at to, unless to exists.
func linkBack(from, to string) error {
	if err := os.Link(from, to); err != nil {
		return err
	}
	return os.Remove(from)
}
