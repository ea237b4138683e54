package agent

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// recordingLog is an event log that keeps what it is given.
type recordingLog struct{ events []string }

func (l *recordingLog) Warning(id uint32, msg string) error {
	l.events = append(l.events, fmt.Sprintf("W%d %s", id, msg))
	return nil
}

func (l *recordingLog) Error(id uint32, msg string) error {
	l.events = append(l.events, fmt.Sprintf("E%d %s", id, msg))
	return nil
}

// Warnings and errors reach the event log with their attributes, those
// added by With included; every record still reaches the main handler.
func TestWithEventLog(t *testing.T) {
	var main strings.Builder
	el := &recordingLog{}
	log := WithEventLog(slog.New(slog.NewTextHandler(&main, &slog.HandlerOptions{Level: slog.LevelDebug})), el)
	log.Debug("debug")
	log.Info("info", "k", 1)
	log.Warn("spool full", "dropped", 2)
	scoped := log.With("component", "sender")
	scoped.Error("delivery failed", "err", "503")
	log.WithGroup("g").Warn("grouped", "a", "b")
	log.Error("after With, unscoped")

	want := []string{
		"W100 spool full dropped=2",
		"E200 delivery failed component=sender err=503",
		"W100 grouped a=b",
		"E200 after With, unscoped",
	}
	if strings.Join(el.events, "\n") != strings.Join(want, "\n") {
		t.Errorf("event log:\n%s\nwant:\n%s", strings.Join(el.events, "\n"), strings.Join(want, "\n"))
	}
	for _, msg := range []string{"msg=debug", "msg=info", "msg=\"spool full\"", "component=sender", "g.a=b"} {
		if !strings.Contains(main.String(), msg) {
			t.Errorf("main log lacks %q:\n%s", msg, main.String())
		}
	}
}
