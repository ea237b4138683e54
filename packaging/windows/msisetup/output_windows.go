package main

import (
	"io"
	"os"
	"strings"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc/eventlog"
)

// eventSource is the agent's event log source, which the MSI registers.
const eventSource = "avscout"

// rawCommandLine is the command line as the process got it.
func rawCommandLine() string { return windows.UTF16PtrToString(windows.GetCommandLine()) }

// outputs returns stdout and stderr that also write each message to the
// Application event log (information and error events), and a func that
// closes the log.
func outputs() (io.Writer, io.Writer, func()) {
	l, err := eventlog.Open(eventSource)
	if err != nil {
		return os.Stdout, os.Stderr, func() {}
	}
	return tee{os.Stdout, eventWriter{l.Info}}, tee{os.Stderr, eventWriter{l.Error}}, func() { l.Close() }
}

// eventWriter makes one event of each write (one message: run writes
// each with one Fprintf).
type eventWriter struct{ report func(uint32, string) error }

func (e eventWriter) Write(p []byte) (int, error) {
	// Event ID 1: the EventCreate.exe message file's IDs are 1 to 1000.
	// A message the event log refuses is lost; the output goes on.
	_ = e.report(1, strings.TrimRight(string(p), "\r\n"))
	return len(p), nil
}

// tee writes to each writer, ignoring failures (a GUI process's standard
// handles may be missing).
type tee []io.Writer

func (t tee) Write(p []byte) (int, error) {
	for _, w := range t {
		if w != nil {
			_, _ = w.Write(p)
		}
	}
	return len(p), nil
}
