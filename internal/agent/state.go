package agent

import (
	"bytes"
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
	"github.com/avscout/avscout/internal/report"
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
	At         time.Time `json:"at"`
	ReportID   string    `json:"report_id,omitempty"`
	DurationMS int64     `json:"duration_ms"`
	// Verdict is the report's: compliant, non_compliant or incomplete;
	// empty when the scan failed, and in states written before the
	// verdict existed (see [ScanState.VerdictOf]).
	Verdict       string   `json:"verdict,omitempty"`
	Compliant     bool     `json:"compliant"` // true exactly when Verdict is compliant
	Products      int      `json:"products"`
	Restricted    []string `json:"restricted,omitempty"` // names of restricted products active or installed
	FailedSources []string `json:"failed_sources,omitempty"`
	Error         string   `json:"error,omitempty"` // the scan or queueing failed
}

// VerdictOf returns the scan's verdict: the one recorded, or, in a state
// written by an agent older than the verdict, the one its restricted
// products and failed sources support (the rule of
// [report.ComputeVerdict]). It is "" for a scan that failed before it
// could judge anything.
func (s *ScanState) VerdictOf() string {
	switch {
	case s == nil:
		return ""
	case s.Verdict == report.VerdictCompliant, s.Verdict == report.VerdictNonCompliant, s.Verdict == report.VerdictIncomplete:
		return s.Verdict
	case len(s.Restricted) > 0:
		return report.VerdictNonCompliant
	case s.Error != "" && s.ReportID == "":
		return "" // the scan itself failed: no report, no verdict
	case len(s.FailedSources) > 0:
		return report.VerdictIncomplete
	case !s.Compliant:
		return report.VerdictNonCompliant // the old rule: not compliant means restricted
	}
	return report.VerdictCompliant
}

// DeliveryState is the outcome of the last delivery attempt.
type DeliveryState struct {
	At           time.Time `json:"at"`
	Sent         int       `json:"sent"`
	DeadLettered int       `json:"dead_lettered"`
	// DeadLetterReason is why a report was last moved to dead letters,
	// in this delivery or an earlier one.
	DeadLetterReason string `json:"dead_letter_reason,omitempty"`
	Error            string `json:"error,omitempty"`
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
	// public and staleAfter are set by Publish; published is the summary
	// last written there, so that updates that change only the private
	// state (next scan, deliveries) do not rewrite it; publicWarned stops
	// a failing publication from logging at every update.
	public       string
	staleAfter   time.Duration
	published    []byte
	publicWarned bool
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
	f.writePublic()
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
	var s State
	if err := readVersioned(path, "state", &s, &s.Version); err != nil {
		return nil, err
	}
	return &s, nil
}

// readVersioned reads the JSON document at path, named what in errors,
// into v, whose layout version is *version: a version newer than
// [StateVersion] is refused.
func readVersioned(path, what string, v any, version *int) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read %s %s: %w", what, path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxStateSize+1))
	if err != nil {
		return fmt.Errorf("read %s %s: %w", what, path, err)
	}
	if len(b) > maxStateSize {
		return fmt.Errorf("read %s %s: larger than %d bytes", what, path, maxStateSize)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("read %s %s: %w", what, path, err)
	}
	if *version > StateVersion {
		return fmt.Errorf("read %s %s: version %d is newer than this agent's %d", what, path, *version, StateVersion)
	}
	return nil
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

// Public is the part of the state an unprivileged user may read: the gist
// of the last scan and when it counts as stale. The service publishes it,
// world-readable, for MDM checks that do not run as root (Intune custom
// compliance on Linux runs its discovery script as the logged-in user).
// It holds nothing secret: no collector URL, token, report id, delivery
// outcome or error text (which may name files and hosts).
type Public struct {
	Version int `json:"version"`
	// StaleAfterSeconds is the age beyond which the last scan is stale,
	// from the service's schedule.
	StaleAfterSeconds int64      `json:"stale_after_seconds"`
	LastScan          *ScanState `json:"last_scan,omitempty"`
}

// PublicScanError replaces a failed scan's error text in [Public].
const PublicScanError = "the last scan failed (details: avscout status, as root)"

// PublicOf returns the publishable part of s.
func PublicOf(s State, staleAfter time.Duration) Public {
	p := Public{Version: StateVersion, StaleAfterSeconds: int64(staleAfter / time.Second)}
	if s.LastScan != nil {
		ls := *s.LastScan
		ls.ReportID = ""
		if ls.Error != "" {
			ls.Error = PublicScanError
		}
		p.LastScan = &ls
	}
	return p
}

// Publish makes every later [StateFile.Update] also write [PublicOf] the
// state to path, mode 0644 in a folder of mode 0755, and writes it now.
func (f *StateFile) Publish(path string, staleAfter time.Duration) {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.public, f.staleAfter, f.published = path, staleAfter, nil
	f.writePublic()
}

// writePublic writes the public summary; f.mu is held.
func (f *StateFile) writePublic() {
	if f.public == "" {
		return
	}
	b, err := json.MarshalIndent(PublicOf(f.state, f.staleAfter), "", "  ")
	if err == nil {
		if bytes.Equal(b, f.published) {
			return // only the private state changed
		}
		err = writePublicFile(f.public, append(b, '\n'))
	}
	f.published = nil
	if err == nil {
		f.published = b
	}
	switch {
	case err != nil && !f.publicWarned:
		f.logger.Warn("could not publish the status summary for unprivileged MDM checks", "path", f.public, "err", err)
		f.publicWarned = true
	case err == nil && f.publicWarned:
		f.logger.Info("status summary published again", "path", f.public)
		f.publicWarned = false
	}
}

// ReadPublic reads a summary written by [StateFile.Publish].
func ReadPublic(path string) (*Public, error) {
	var p Public
	if err := readVersioned(path, "status summary", &p, &p.Version); err != nil {
		return nil, err
	}
	return &p, nil
}

// writePublicFile writes b to path atomically, readable by everyone.
func writePublicFile(path string, b []byte) error {
	// A folder made here gets 0755 whatever the umask (systemd's UMask=0077).
	if dir := filepath.Dir(path); !exists(dir) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			return err
		}
	}
	return atomicfile.Write(path, b, 0o644)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
