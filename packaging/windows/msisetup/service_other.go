//go:build !windows

package main

import (
	"errors"
	"time"
)

// configureService exists on Windows only.
func configureService(string) (string, error) {
	return "", errors.New("services are configured on Windows only")
}

// waitExit exists on Windows only.
func waitExit(time.Duration) (string, error) {
	return "", errors.New("processes are waited for on Windows only")
}

// stopService exists on Windows only.
func stopService(string, time.Duration) (string, error) {
	return "", errors.New("services are stopped on Windows only")
}
