package main

import (
	"log/slog"

	"golang.org/x/sys/windows/svc/eventlog"

	"github.com/avscout/avscout/internal/agent"
)

// withEventLog also sends warnings and errors to the Windows Application
// event log under the service's source (registered by `service install`),
// where fleet tools collect them. When the source cannot be opened the
// logger is returned as it is.
func withEventLog(logger *slog.Logger, source string) *slog.Logger {
	el, err := eventlog.Open(source)
	if err != nil {
		logger.Warn("no Windows event log", "source", source, "err", err)
		return logger
	}
	return agent.WithEventLog(logger, el)
}
