package collector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/avscout/avscout/internal/agentkey"
	"github.com/avscout/avscout/internal/auditbundle"
	"github.com/avscout/avscout/internal/collector/store"
)

// The fleet audit export: one bundle (package auditbundle) of every
// report received in a window as received, its agent's signature, the
// chain entries of the window and the access log, with a manifest signed
// by the collector's own key. `avscout verify BUNDLE` checks it offline.

// KeyFileName is the collector's signing key's file name beside its
// SQLite database.
const KeyFileName = "collector.key"

// DefaultKeyPath is where the collector keeps its signing key when no
// path is given: beside a SQLite database file. For PostgreSQL (and an
// in-memory or URI database) it is "": replicas must share one key, so
// its file is named with --signing-key.
func DefaultKeyPath(db string) string {
	if store.IsPostgres(db) || db == ":memory:" || strings.HasPrefix(db, "file:") {
		return ""
	}
	return filepath.Join(filepath.Dir(db), KeyFileName)
}

// LoadSigningKey loads the collector's Ed25519 signing key from path,
// making it (private to its owner) if missing; the same file format and
// checks as the agent's key (package agentkey).
func LoadSigningKey(path string, log *slog.Logger) (*agentkey.Key, error) {
	k, created, err := agentkey.LoadOrCreate(path, log)
	if err != nil {
		return nil, fmt.Errorf("collector signing key: %w", err)
	}
	if created && log != nil {
		log.Info("made the collector's signing key: auditors pin its fingerprint", "file", path, "fingerprint", k.Fingerprint())
	}
	return k, nil
}

// AuditStore is what an audit export reads; [*store.Store] is one.
type AuditStore interface {
	ChainHead(ctx context.Context) (auditbundle.ChainHead, error)
	ChainWindow(ctx context.Context, since, until time.Time) (first, last int64, ok bool, err error)
	ChainRange(ctx context.Context, first, last int64, fn func(store.ChainRecord) error) error
	AccessHead(ctx context.Context) (auditbundle.ChainHead, error)
	ChainCut(ctx context.Context, until time.Time) (time.Time, error)
	AccessWindow(ctx context.Context, since, until time.Time) (first, last int64, ok bool, err error)
	AccessRange(ctx context.Context, first, last int64, fn func(store.AccessRecord) error) error
}

// AuditExport says what to export.
type AuditExport struct {
	Since, Until time.Time
	Key          auditbundle.Signer
	TempDir      string // for the manifest while it is written; "" the system's
	Now          time.Time
}

// OpenEnd is the end of a window asked to reach the export itself (no
// until given): [ExportAudit] cuts it when the export begins, by the
// store's clock (the database server's, on PostgreSQL), not by the clock
// of the machine that asked.
var OpenEnd = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// ErrWindow: the window is empty or inverted.
var ErrWindow = errors.New("--since must be before --until")

// ExportAudit writes the bundle of x's window to out, streaming: memory
// stays bounded however many reports the window holds. It returns the
// manifest's header.
func ExportAudit(ctx context.Context, st AuditStore, x AuditExport, out io.Writer) (auditbundle.Header, error) {
	if !x.Since.Before(x.Until) {
		return auditbundle.Header{}, ErrWindow
	}
	if x.Now.IsZero() {
		x.Now = time.Now()
	}
	// A window reaching past the present ends now: a report in flight is
	// then in the next window, never between this one and the next.
	cut, err := st.ChainCut(ctx, x.Until)
	if err != nil {
		return auditbundle.Header{}, err
	}
	// A window starting in the future is empty, and ends where it starts.
	x.Until = maxTime(cut, x.Since)
	w, err := auditbundle.NewWriter(out, x.Key, x.TempDir, x.Since, x.Until, x.Now)
	if err != nil {
		return auditbundle.Header{}, err
	}
	defer w.Abort()
	first, last, ok, err := st.ChainWindow(ctx, x.Since, x.Until)
	if err != nil {
		return w.Header(), err
	}
	accFirst, accLast, accOK, err := st.AccessWindow(ctx, x.Since, x.Until)
	if err != nil {
		return w.Header(), err
	}
	// The heads after the windows: a chain only grows, so each is at or
	// past its window's last entry.
	head, err := st.ChainHead(ctx)
	if err != nil {
		return w.Header(), err
	}
	accHead, err := st.AccessHead(ctx)
	if err != nil {
		return w.Header(), err
	}
	if ok {
		err := st.ChainRange(ctx, first, last, func(rec store.ChainRecord) error {
			return w.Report(rec.Entry, rec.Raw, rec.PublicKey, rec.Signature)
		})
		if err != nil {
			return w.Header(), err
		}
	}
	if accOK {
		err := st.AccessRange(ctx, accFirst, accLast, func(rec store.AccessRecord) error {
			return w.Access(rec.Seq, rec.At, rec.AuditID, rec.Digest, rec.Prev, rec.Hash, rec.Entry)
		})
		if err != nil {
			return w.Header(), err
		}
	}
	if err := w.Close(head, accHead); err != nil {
		return w.Header(), err
	}
	return w.Header(), nil
}

// ParseAuditTime reads a window bound: RFC 3339, or a date (UTC midnight).
func ParseAuditTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q: want RFC 3339 (2026-11-01T00:00:00Z) or a date (2026-11-01)", s)
}

// handleAuditExport streams the audit bundle of ?since= to ?until=
// (default: the export itself, see [OpenEnd]; since defaults to a day
// before until, or before now). The request is
// in the access log before the bundle is made, so a window reaching now
// holds it.
func (s *Server) handleAuditExport(w http.ResponseWriter, r *http.Request) {
	st, ok := s.store.(AuditStore)
	if !ok || s.auditKey == nil {
		writeError(w, http.StatusNotImplemented, "audit export is not available on this collector")
		return
	}
	q := r.URL.Query()
	until, since := OpenEnd, s.now().Add(-24*time.Hour)
	var err error
	if v := q.Get("until"); v != "" {
		if until, err = ParseAuditTime(v); err != nil {
			writeError(w, http.StatusBadRequest, "until: "+err.Error())
			return
		}
		since = until.Add(-24 * time.Hour)
	}
	if v := q.Get("since"); v != "" {
		if since, err = ParseAuditTime(v); err != nil {
			writeError(w, http.StatusBadRequest, "since: "+err.Error())
			return
		}
	}
	if !since.Before(until) {
		writeError(w, http.StatusBadRequest, "since must be before until")
		return
	}
	// The file is named before the export cuts the window: an open end
	// is named by the time asked.
	named := until
	if until.Equal(OpenEnd) {
		named = s.now()
	}
	name := fmt.Sprintf("avscout-audit-%s-%s.tar", since.UTC().Format("20060102T150405Z"), named.UTC().Format("20060102T150405Z"))
	h := w.Header()
	h.Set("Content-Type", "application/x-tar")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	h.Set("Cache-Control", "no-store")
	// The server's write timeout bounds a whole response; a bundle of a
	// busy day takes longer. Each write pushes the deadline on instead, so
	// a stalled client is still dropped.
	cw := &countingWriter{w: w, rc: http.NewResponseController(w)}
	hdr, err := ExportAudit(r.Context(), st, AuditExport{Since: since, Until: until, Key: s.auditKey, Now: s.now()}, cw)
	if err != nil && cw.n == 0 {
		h.Del("Content-Disposition")
		s.storeError(w, "audit export", err)
		return
	}
	if err != nil {
		// Part of the bundle may be out: end the connection, so the client
		// sees a truncated archive rather than a short bundle.
		s.log.Error("audit export failed", "since", since, "until", until, "err", err)
		panic(http.ErrAbortHandler)
	}
	s.log.Info("audit export", "credential", AdminName(r.Context()), "since", hdr.Since, "until", hdr.Until, "reports", hdr.Reports,
		"first_seq", hdr.FirstSeq, "last_seq", hdr.LastSeq)
}

// countingWriter counts what went out and, with rc, extends the write
// deadline by exportStall before each write.
type countingWriter struct {
	w  io.Writer
	rc *http.ResponseController
	n  int64
}

// exportStall is how long an audit export may wait on one write.
const exportStall = 2 * time.Minute

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.rc != nil {
		_ = c.rc.SetWriteDeadline(time.Now().Add(exportStall)) // unsupported by a test recorder: the server's timeout stands
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
