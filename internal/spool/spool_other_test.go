//go:build !linux

package spool

// osChild: no OS-specific child roles outside Linux.
func osChild(string, string) bool { return false }
