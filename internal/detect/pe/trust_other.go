//go:build !windows

package pe

func osTrust() TrustChecker { return nil }
