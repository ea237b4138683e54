package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/avscout/avscout/internal/atomicfile"
)

// StateVersion is the version of the state file's layout.
const StateVersion = 1

// maxStateSize bounds what ReadState accepts; the file is a few hundred
// bytes.
const maxStateSize = 1 << 20

// State is what the service remembers between its own runs and tells
// `avscout status`: the last scan, the queue, the last delivery.
type State struct {
	Version      int            `json:"version"`
	PID          int            `json:"pid,omitempty"`
	StartedAt    time.Time      `json:"started_at,omitzero"`
	NextScan     time.Time      `json:"next_scan,omitzero"`
	LastScan     *ScanState     `json:"last_scan,omitempty"`
	LastDelivery *DeliveryState `json:"last_delivery,omitempty"`
}

// ScanState is the gist of one scan.
type ScanState struct {
	At            time.Time `json:"at"`
	ReportID      string    `json:"report_id,omitempty"`
	DurationMS    int64     `json:"duration_ms"`
	Compliant     bool      `json:"compliant"`
	Products      int       `json:"products"`
	Restricted    []string  `json:"restricted,omitempty"` // names of restricted products active or installed
	FailedSources []string  `json:"failed_sources,omitempty"`
	Error         string    `json:"error,omitempty"` // the scan or queueing failed
}

// DeliveryState is the outcome of the last delivery attempt.
type DeliveryState struct {
	At           time.Time `json:"at"`
	Sent         int       `json:"sent"`
	DeadLettered int       `json:"dead_lettered"`
	Error        string    `json:"error,omitempty"`
	// LastSuccess is when a report last reached the collector.
	LastSuccess time.Time `json:"last_success,omitzero"`
}

// StateFile is the state kept in one JSON file, rewritten atomically after
// each change. A nil *StateFile ignores updates, for one-off runs.
type StateFile struct {
	path   string
	logger *slog.Logger
	mu     sync.Mutex
	state  State
}

// OpenState loads the state at path, or starts an empty one when the file
// is missing or unreadable (the state is a convenience: a damaged file is
// logged and replaced, never fatal).
func OpenState(path string, logger *slog.Logger) *StateFile {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	f := &StateFile{path: path, logger: logger, state: State{Version: StateVersion}}
	st, err := ReadState(path)
	switch {
	case err == nil:
		f.state = *st
		f.state.Version = StateVersion
	case !errors.Is(err, os.ErrNotExist):
		logger.Warn("state file unreadable; starting afresh", "path", path, "err", err)
	}
	return f
}

// Update changes the state under a lock and writes it out.
func (f *StateFile) Update(change func(*State)) {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	change(&f.state)
	if err := writeJSONAtomic(f.path, f.state); err != nil {
		f.logger.Warn("could not save the state file", "path", f.path, "err", err)
	}
}

// Snapshot returns a copy of the current state.
func (f *StateFile) Snapshot() State {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.state
	if s.LastScan != nil {
		ls := *s.LastScan
		s.LastScan = &ls
	}
	if s.LastDelivery != nil {
		ld := *s.LastDelivery
		s.LastDelivery = &ld
	}
	return s
}

// ReadState reads a state file written by a service.
func ReadState(path string) (*State, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read state %s: %w", path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxStateSize+1))
	if err != nil {
		return nil, fmt.Errorf("read state %s: %w", path, err)
	}
	if len(b) > maxStateSize {
		return nil, fmt.Errorf("read state %s: larger than %d bytes", path, maxStateSize)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("read state %s: %w", path, err)
	}
	if s.Version > StateVersion {
		return nil, fmt.Errorf("read state %s: version %d is newer than this agent's %d", path, s.Version, StateVersion)
	}
	return &s, nil
}

// writeJSONAtomic writes v to path atomically, private to the service
// account, creating the state folder when missing.
func writeJSONAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'), 0o600)
}

func currentPID() int { return os.Getpid() }
