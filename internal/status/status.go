// Package status answers `avscout status`: what the last scan found,
// whether it can still be trusted, the queue and the last delivery, told
// from the files the service keeps, without scanning. [Evaluate] decides
// (the staleness rule, the verdict, the scan status the MDM checks act on,
// the dead-letter reason, the agent key's description) and the writers
// put that in each output's contract: a table for people, JSON for
// scripts, and the Intune and Jamf formats (packaging/mdm/README.md).
// It reads nothing itself: cmd/agent reads the config, the state, the
// spool and the key and hands them over, so every rule here is tested
// with plain values.
package status

import (
	"errors"
	iofs "io/fs"
	"time"

	"github.com/avscout/avscout/internal/agent"
	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/spool"
)

// Input is what the service left on disk, as cmd/agent read it.
type Input struct {
	StateDir string
	// State is the service's state file; nil when the service has not
	// written it yet.
	State *agent.State
	// Err says the config or the state could not be read. The MDM
	// formats report it in their own words.
	Err error
	// StaleAfter is the age beyond which the last scan is stale
	// (config.Schedule.StaleAfter, or the published summary's); 0: never.
	StaleAfter time.Duration
	// Queue is the spool's counts; nil when there is no spool yet.
	Queue *spool.Stats
	// KeyFingerprint is the agent key's, when KeyErr is nil; KeyErr is
	// why the key could not be loaded (ErrNotExist: not made yet).
	KeyFingerprint string
	KeyErr         error
	// AgentVersion is this binary's version, for the compliance output.
	AgentVersion string
}

// ScanStatus values: whether the last scan can be trusted. They are the
// ScanStatus of the Intune custom compliance output.
const (
	ScanOK           = "Ok"
	ScanIncomplete   = "Incomplete" // the last scan could not see everything: not Ok
	ScanStale        = "Stale"
	ScanFailed       = "Failed"
	ScanNeverScanned = "NeverScanned"
	ScanError        = "Error"
)

// Result is the status, decided. Doc is what `status --format json`
// prints; the other fields are what the MDM formats are made from.
type Result struct {
	Doc Doc
	// Scan is the last scan, with the verdict of an older agent's state
	// derived; nil when there is none or the state could not be read.
	Scan       *agent.ScanState
	ScanStatus string // one of the Scan* values
	// Verdict is the last scan's verdict: compliant, non_compliant or
	// incomplete; "" when there is none to trust (never scanned, failed,
	// unreadable).
	Verdict string
	// Restricted names the restricted products the last scan found in
	// use, even when the scan is stale.
	Restricted []string
	// Healthy is true when the last scan is recent, succeeded, could see
	// everything and found no restricted product in use: the one case in
	// which a check may say the host is fine.
	Healthy    bool
	Err        error
	Age        time.Duration // of the last scan
	StaleAfter time.Duration
	Now        time.Time
	// AgentVersion is the numeric MAJOR.MINOR.BUILD of the agent.
	AgentVersion string
}

// Doc is `avscout status --format json`: the service's state file and the
// spool's counts.
type Doc struct {
	StateDir     string               `json:"state_dir"`
	StartedAt    *time.Time           `json:"started_at,omitempty"`
	LastScan     *agent.ScanState     `json:"last_scan"`
	NextScan     *time.Time           `json:"next_scan,omitempty"`
	Queue        Queue                `json:"queue"`
	LastDelivery *agent.DeliveryState `json:"last_delivery"`
	AgentKey     Key                  `json:"agent_key"`
}

// Queue is the spool's counts.
type Queue struct {
	Reports     int   `json:"reports"`
	Bytes       int64 `json:"bytes"`
	DeadLetters int   `json:"dead_letters"`
	Dropped     int64 `json:"dropped"`
}

// Key is the agent's key as status shows it, for an administrator to
// compare with the key the collector pinned for this host.
type Key struct {
	Fingerprint string `json:"fingerprint,omitempty"` // SHA256:<base64>, as the collector shows it
	Error       string `json:"error,omitempty"`       // missing (made at the first delivery) or unusable
}

// KeyNotYet is the agent key's description before the service made it.
const KeyNotYet = "none yet (the service makes it when it first delivers)"

// Evaluate decides the status at now. It does not change in.
func Evaluate(in Input, now time.Time) Result {
	r := Result{Err: in.Err, StaleAfter: in.StaleAfter, Now: now, AgentVersion: NumericVersion(in.AgentVersion)}
	r.Doc = Doc{StateDir: in.StateDir, AgentKey: keyOf(in.KeyFingerprint, in.KeyErr)}
	if q := in.Queue; q != nil {
		r.Doc.Queue = Queue{Reports: q.Queued, Bytes: q.Bytes, DeadLetters: q.DeadLetters, Dropped: q.Dropped}
	}
	if st := in.State; st != nil && in.Err == nil {
		if st.LastScan != nil {
			ls := *st.LastScan
			if ls.Verdict == "" {
				// A state an older agent wrote: derive the verdict, and
				// say compliant only for a compliant one.
				if ls.Verdict = ls.VerdictOf(); ls.Verdict != "" {
					ls.Compliant = ls.Verdict == report.VerdictCompliant
				}
			}
			r.Scan = &ls
			r.Age = now.Sub(ls.At)
		}
		r.Doc.LastScan, r.Doc.LastDelivery = r.Scan, st.LastDelivery
		if !st.StartedAt.IsZero() {
			t := st.StartedAt
			r.Doc.StartedAt = &t
		}
		if !st.NextScan.IsZero() {
			t := st.NextScan
			r.Doc.NextScan = &t
		}
	}
	r.ScanStatus = scanStatus(r)
	if r.Err == nil && r.Scan != nil {
		r.Verdict = r.Scan.VerdictOf()
		r.Restricted = r.Scan.Restricted
	}
	r.Healthy = len(r.Restricted) == 0 && r.ScanStatus == ScanOK
	return r
}

// scanStatus says whether the last scan can be trusted.
func scanStatus(r Result) string {
	switch {
	case r.Err != nil:
		return ScanError
	case r.Scan == nil:
		return ScanNeverScanned
	case r.Scan.Error != "" && len(r.Scan.Restricted) == 0:
		// A scan whose report could not be queued still found what it found.
		return ScanFailed
	case r.StaleAfter > 0 && r.Age > r.StaleAfter:
		return ScanStale
	case r.Scan.VerdictOf() == report.VerdictIncomplete:
		return ScanIncomplete
	}
	return ScanOK
}

// keyOf describes the agent key.
func keyOf(fingerprint string, err error) Key {
	switch {
	case errors.Is(err, iofs.ErrNotExist):
		return Key{Error: KeyNotYet}
	case err != nil:
		return Key{Error: err.Error()}
	}
	return Key{Fingerprint: fingerprint}
}

// DeadLetterReason is why reports were last dead-lettered, shown while
// dead letters remain; "" otherwise.
func (r Result) DeadLetterReason() string {
	if l := r.Doc.LastDelivery; r.Doc.Queue.DeadLetters > 0 && l != nil {
		return l.DeadLetterReason
	}
	return ""
}
