// Package privatefile reads the small secret files the collector is
// configured with (its admin tokens, its webhooks' HMAC secrets): regular
// files, bounded in size, that not every user on the machine may read.
// One reader serves them all, so the rules cannot drift apart.
package privatefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// ErrPublic is returned for a file every user may access.
var ErrPublic = errors.New("accessible to all users: chmod 600 it")

// Read reads path, a regular file of at most limit bytes that not every
// user may access, and returns its content and what Stat said of it.
// Errors name the path.
func Read(path string, limit int64) ([]byte, fs.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s: not a regular file", path)
	}
	if err := checkPrivate(st); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	return b, st, nil
}
