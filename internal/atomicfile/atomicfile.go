// Package atomicfile writes a file so that a reader, or the machine after
// a crash, sees either the old content or the new one, never half of it:
// the report written by `avscout scan --output`, the service's state file.
package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Write replaces name with data through a synced temporary file in the same
// folder and a rename, then syncs the folder (where the OS allows) so the
// rename itself survives a power cut. The file gets mode perm.
func Write(name string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(name)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(name)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, bare(err))
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", name, bare(err))
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", name, bare(err))
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", name, bare(err))
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", name, bare(err))
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("write %s: %w", name, bare(err))
	}
	syncDir(dir)
	return nil
}

// syncDir flushes a folder's entries. Windows cannot open a folder for
// syncing, and NTFS journals renames, so a failure is not an error.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync() // not an error: see above
	d.Close()
}

// bare drops the temporary file's name from a path error, so that an error
// names only the file the caller asked for: the temporary one is ours.
func bare(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
