//go:build !windows

package main

import (
	"context"
	"errors"
	"log/slog"
)

func isWindowsService() bool { return false }

func runUnderSCM(string, func(context.Context) error, *slog.Logger) error {
	return errors.New("--scm is only meaningful on Windows")
}
