//go:build unix

package spool

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// secureDir refuses a spool directory that another user owns or that
// every user may write to, and narrows its mode to 0700.
func secureDir(dir string, fi fs.FileInfo) error {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("spool directory %s is owned by uid %d, not by this process (uid %d); refusing it", dir, st.Uid, os.Geteuid())
	}
	perm := fi.Mode().Perm()
	if perm&0o002 != 0 {
		return fmt.Errorf("spool directory %s is writable by every user (mode %v); refusing it", dir, perm)
	}
	if perm&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("make spool directory %s private: %w", dir, err)
		}
	}
	return nil
}

// syncDir makes the names created, renamed and removed in d durable.
func syncDir(d *os.File) error {
	return d.Sync()
}
