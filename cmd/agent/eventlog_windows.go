package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"golang.org/x/sys/windows/svc/eventlog"
)

// Event ids of the records the service writes to the Application log.
const (
	eventIDWarning = 100
	eventIDError   = 200
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
	return slog.New(&eventLogHandler{next: logger.Handler(), log: el})
}

// eventLogHandler passes every record on, and writes Warn and Error ones
// to the event log as "message key=value …".
type eventLogHandler struct {
	next  slog.Handler
	log   *eventlog.Log
	attrs []slog.Attr
}

func (h *eventLogHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *eventLogHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		var b strings.Builder
		b.WriteString(r.Message)
		write := func(a slog.Attr) bool {
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
			return true
		}
		for _, a := range h.attrs {
			write(a)
		}
		r.Attrs(write)
		if r.Level >= slog.LevelError {
			h.log.Error(eventIDError, b.String())
		} else {
			h.log.Warning(eventIDWarning, b.String())
		}
	}
	return h.next.Handle(ctx, r)
}

func (h *eventLogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &eventLogHandler{next: h.next.WithAttrs(as), log: h.log, attrs: append(h.attrs[:len(h.attrs):len(h.attrs)], as...)}
}

func (h *eventLogHandler) WithGroup(name string) slog.Handler {
	return &eventLogHandler{next: h.next.WithGroup(name), log: h.log, attrs: h.attrs}
}
