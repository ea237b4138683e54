//go:build !windows

package main

import "os"

// Off Windows (the unit tests) private means Unix modes 0700 and 0600.

func mkdirPrivate(dir string) error { return os.MkdirAll(dir, 0o700) }

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
