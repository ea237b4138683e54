//go:build !windows

package alert

import (
	"errors"
	"io/fs"
)

// checkPrivate refuses a secret file that every user may read or write
// (a group the service shares may read it).
func checkPrivate(st fs.FileInfo) error {
	if st.Mode().Perm()&0o007 != 0 {
		return errors.New("accessible to all users: chmod 600 it")
	}
	return nil
}
