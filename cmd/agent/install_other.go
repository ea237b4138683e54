//go:build !windows

package main

// afterInstall has nothing to add to the service manager's unit.
func afterInstall(string) string { return "" }
