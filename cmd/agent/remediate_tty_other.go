//go:build !linux && !darwin && !windows

package main

import "os"

// isTerminal reports false where no terminal can be told: --execute then
// needs --yes.
func isTerminal(*os.File) bool { return false }
