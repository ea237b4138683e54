//go:build !windows

package main

import "errors"

// configureService exists on Windows only.
func configureService(string) (string, error) {
	return "", errors.New("services are configured on Windows only")
}
