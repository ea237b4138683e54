//go:build !windows

package privatefile

import "io/fs"

// checkPrivate refuses a file that every user may read or write (a group
// the service shares may read it).
func checkPrivate(st fs.FileInfo) error {
	if st.Mode().Perm()&0o007 != 0 {
		return ErrPublic
	}
	return nil
}
