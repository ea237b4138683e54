package agent

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// Event ids of the records the service writes to a system event log.
const (
	EventIDWarning = 100
	EventIDError   = 200
)

// EventLog is a system event log the service also reports its warnings
// and errors to: on Windows the Application log under the service's
// source, where fleet tools collect them.
type EventLog interface {
	Warning(eventID uint32, msg string) error
	Error(eventID uint32, msg string) error
}

// WithEventLog returns a logger that passes every record to logger's
// handler and also writes Warn and Error ones to el as
// "message key=value …", with the ids [EventIDWarning] and [EventIDError].
func WithEventLog(logger *slog.Logger, el EventLog) *slog.Logger {
	return slog.New(&eventLogHandler{next: logger.Handler(), log: el})
}

type eventLogHandler struct {
	next  slog.Handler
	log   EventLog
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
		// Best effort: the record still reaches the next handler below,
		// and a failed event-log write has nowhere else to be reported.
		if r.Level >= slog.LevelError {
			_ = h.log.Error(EventIDError, b.String())
		} else {
			_ = h.log.Warning(EventIDWarning, b.String())
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
