package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// purge deletes dir and everything in it, entry by entry with os.Remove
// (os.RemoveAll on Windows deletes through an API that Wine 8 lacks:
// "Invalid function."). A missing dir is no error.
//
// It runs as SYSTEM, so it never follows a reparse point: every entry is
// looked at with Lstat right before it is handled, and a junction or
// symbolic link is deleted itself (os.Remove on the link), never entered.
// A dir that is itself a link is only unlinked. A dir not owned by SYSTEM
// or Administrators is refused: someone else made it.
func purge(dir string) error {
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if isLink(fi) {
		// Only the link goes; what it points to is not ours.
		return os.Remove(dir)
	}
	if err := checkOwned(dir); err != nil {
		return err
	}
	return removeTree(dir)
}

func removeTree(p string) error {
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() && !isLink(fi) {
		ents, err := os.ReadDir(p)
		if err != nil {
			return fmt.Errorf("list %s: %w", p, err)
		}
		for _, e := range ents {
			if err := removeTree(filepath.Join(p, e.Name())); err != nil {
				return err
			}
		}
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
