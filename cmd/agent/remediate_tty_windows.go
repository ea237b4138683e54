package main

import (
	"os"

	"golang.org/x/sys/windows"
)

// isTerminal reports whether f is a console (not NUL, a pipe or a file):
// the only input a confirmation may come from.
func isTerminal(f *os.File) bool {
	var mode uint32
	return windows.GetConsoleMode(windows.Handle(f.Fd()), &mode) == nil
}
