//go:build !windows

package main

import (
	"io"
	"os"
)

// rawCommandLine exists on Windows only (the checks of the split values
// still run).
func rawCommandLine() string { return "" }

func outputs() (io.Writer, io.Writer, func()) { return os.Stdout, os.Stderr, func() {} }
