//go:build !windows

package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Off Windows (the unit tests) private means Unix modes 0700 and 0600,
// and trusted means owned by root or by the user running the helper (the
// counterpart of SYSTEM, which runs it on Windows).

func mkdirPrivate(dir string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o700); err == nil {
		return nil
	} else if !os.IsExist(err) {
		return err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if isLink(fi) {
		return fmt.Errorf("%s is a junction or symbolic link, not a folder: refusing to install through it (delete it, then install again)", dir)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a folder", dir)
	}
	if err := ownerOK(dir, fi); err != nil {
		return err
	}
	return os.Chmod(dir, 0o700)
}

func checkOwned(name string) error {
	fi, err := os.Lstat(name)
	if err != nil {
		return err
	}
	if isLink(fi) {
		return fmt.Errorf("%s is a junction or symbolic link: refusing to trust it (check it, delete it, then install again)", name)
	}
	return ownerOK(name, fi)
}

func ownerOK(name string, fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 || int(st.Uid) == os.Getuid() {
		return nil
	}
	return fmt.Errorf("%s already exists and is owned by uid %d, not by root or the installer: refusing to trust it (check it, delete it, then install again)", name, st.Uid)
}

func writePrivate(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(name)
		return err
	}
	return f.Close()
}

func isLink(fi fs.FileInfo) bool { return fi.Mode()&(fs.ModeSymlink|fs.ModeIrregular) != 0 }
