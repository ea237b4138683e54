package agent

import (
	"io"
	"log/slog"

	"github.com/avscout/avscout/internal/config"
	"github.com/avscout/avscout/internal/logfile"
)

// NewLogger is the service's logger as lc chooses it: JSON lines to the
// configured file, rotated, or text to stderr where the service manager
// keeps it (the journal). An unknown level logs at Info. close closes the
// file.
func NewLogger(lc config.Log, stderr io.Writer) (logger *slog.Logger, close func(), err error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(lc.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if lc.File == "" {
		return slog.New(slog.NewTextHandler(stderr, opts)), func() {}, nil
	}
	w, err := logfile.Open(lc.File, int64(lc.MaxSizeMB)<<20, lc.MaxFiles)
	if err != nil {
		return nil, nil, err
	}
	return slog.New(slog.NewJSONHandler(w, opts)), func() { w.Close() }, nil
}
