//go:build !windows

package main

import "log/slog"

// withEventLog: only Windows has an event log; elsewhere the journal or
// the log file is the record.
func withEventLog(logger *slog.Logger, _ string) *slog.Logger { return logger }
