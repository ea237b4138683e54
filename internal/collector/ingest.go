package collector

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/avscout/avscout/internal/collector/store"
	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/report/schema"
	"github.com/avscout/avscout/internal/text"
)

// Reasons a report is rejected, the label values of
// avscout_collector_reports_rejected_total.
const (
	reasonUnauthorized = "unauthorized"
	reasonRateLimited  = "rate_limited"
	reasonEncoding     = "unsupported_encoding"
	reasonMediaType    = "unsupported_media_type"
	reasonTooLarge     = "too_large"
	reasonBadGzip      = "bad_gzip"
	reasonBadJSON      = "bad_json"
	reasonSchema       = "invalid_schema"
	reasonIdempotency  = "idempotency_key"
	reasonFuture       = "future_report"
	reasonTooOld       = "too_old"
	reasonInvalid      = "invalid_report"
	reasonConflict     = "conflict"
	reasonStore        = "store_error"
	reasonOverLimit    = "over_limit"
	reasonOverloaded   = "overloaded"
	reasonGone         = "client_gone"
	reasonBodyTimeout  = "body_timeout"
)

var rejectReasons = []string{reasonUnauthorized, reasonRateLimited, reasonEncoding, reasonMediaType, reasonTooLarge,
	reasonBadGzip, reasonBadJSON, reasonSchema, reasonIdempotency, reasonFuture, reasonTooOld, reasonInvalid, reasonConflict, reasonStore,
	reasonOverLimit, reasonOverloaded, reasonGone, reasonBodyTimeout}

// Messages of log lines kept within a [logBudget].
const (
	msgRejected    = "report rejected"
	msgAdminFailed = "admin authentication failed"
)

// ingestTimeout bounds the store's work on one report.
const ingestTimeout = 30 * time.Second

// retryAfterStore is the Retry-After sent when the database fails.
const retryAfterStore = "30"

// retryAfterBusy is the Retry-After sent when the gate is full.
const retryAfterBusy = "5"

// ingestResponse is the body of a successful POST /v1/reports.
type ingestResponse struct {
	Status   string `json:"status"` // "stored" or "duplicate"
	ReportID string `json:"report_id"`
}

func (s *Server) handleIngest(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	defer func() { s.metrics.observe(time.Since(start)) }()
	log := s.log.With("remote", r.RemoteAddr)
	logged := true // false: this rejection's line is over the budget
	reject := func(rej *rejection) {
		s.metrics.reject(rej.reason)
		if rej.reason == reasonGone {
			if logged {
				log.Info("client went away", "msg", rej.msg)
			}
			return // nobody to answer
		}
		if logged {
			log.Info(msgRejected, "status", rej.status, "reason", rej.reason, "msg", rej.msg)
		}
		if rej.retryAfter != "" {
			w.Header().Set("Retry-After", rej.retryAfter)
		}
		writeError(w, rej.status, rej.msg)
	}

	tokenID, rej := s.admit(w, r)
	if rej != nil {
		// Anyone can cause these as fast as they can send: their lines
		// are bounded (the metrics count them all).
		logged = s.admitLogs.allow()
		reject(rej)
		return
	}
	log = log.With("token", tokenID)

	// Reading, decoding and storing hold a place at the gate.
	if err := s.gate.enter(r.Context()); err != nil {
		reject(gateRejection(err))
		return
	}
	defer s.gate.leave()
	// A place at the gate is scarce: the body must come soon, or the
	// sender is cut off (408) and the place goes to another report.
	if err := http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.bodyTimeout)); err != nil {
		log.Debug("no read deadline for the body", "err", err)
	}
	rep, raw, charged, rej := s.receive(w, r)
	defer s.gate.release(charged)
	if rej != nil {
		reject(rej)
		return
	}
	log = log.With("report_id", rep.ReportID, "host", rep.Host.ID)
	now := s.now()
	if rej := s.check(r, rep, now); rej != nil {
		reject(rej)
		return
	}

	pub, sig, ok := s.checkAgentKey(w, r, rep, raw, log)
	if !ok {
		return
	}

	// The store's work stops with the request: a report the client left
	// before it reached a transaction is dropped, and the agent's retry
	// stores it (one already in a shared transaction is stored, and the
	// retry is a duplicate).
	ctx, cancel := context.WithTimeout(r.Context(), ingestTimeout)
	defer cancel()
	outcome, err := s.store.Ingest(ctx, store.Incoming{Report: rep, Raw: raw, TokenID: tokenID, ReceivedAt: now, PublicKey: pub, Signature: sig})
	switch {
	case r.Context().Err() != nil:
		reject(&rejection{reason: reasonGone, msg: "while storing: " + r.Context().Err().Error()})
	case errors.Is(err, store.ErrConflict):
		reject(&rejection{status: http.StatusConflict, reason: reasonConflict, msg: "report_id already stored with different content"})
	case errors.Is(err, store.ErrInvalid):
		reject(&rejection{status: http.StatusBadRequest, reason: reasonInvalid, msg: err.Error()})
	case err != nil:
		log.Error("storing report", "err", err)
		reject(&rejection{status: http.StatusServiceUnavailable, reason: reasonStore, msg: "database unavailable, retry later", retryAfter: retryAfterStore})
	case outcome == store.Duplicate:
		s.metrics.duplicate.Add(1)
		log.Debug("duplicate report")
		writeJSON(w, http.StatusOK, ingestResponse{Status: "duplicate", ReportID: rep.ReportID})
	default:
		s.metrics.ingested.Add(1)
		log.Debug("report stored", "bytes", len(raw), "verdict", report.ComputeVerdict(rep.Products, rep.Sources))
		writeJSON(w, http.StatusCreated, ingestResponse{Status: "stored", ReportID: rep.ReportID})
	}
}

// rejection is why a report is refused: the status, the metrics' reason,
// the message for the agent, and for a 503 or 429 when to come back.
type rejection struct {
	status     int
	reason     string
	msg        string
	retryAfter string
}

// admit checks what costs nothing to check, before the body is read:
// the enrollment token, its rate, and the headers. It returns the
// token's id.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) (string, *rejection) {
	secret, ok := bearer(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="avscout"`)
		return "", &rejection{status: http.StatusUnauthorized, reason: reasonUnauthorized, msg: "enrollment token required (Authorization: Bearer …)"}
	}
	tokenID, err := s.store.Authenticate(r.Context(), secret)
	switch {
	case errors.Is(err, store.ErrUnauthorized):
		w.Header().Set("WWW-Authenticate", `Bearer realm="avscout", error="invalid_token"`)
		return "", &rejection{status: http.StatusUnauthorized, reason: reasonUnauthorized, msg: "unknown or revoked enrollment token"}
	case r.Context().Err() != nil:
		return "", &rejection{reason: reasonGone, msg: "while authenticating"}
	case err != nil:
		s.log.Error("authenticating agent", "remote", r.RemoteAddr, "err", err)
		return "", &rejection{status: http.StatusServiceUnavailable, reason: reasonStore, msg: "database unavailable, retry later", retryAfter: retryAfterStore}
	}
	if ok, wait := s.limiter.allow(tokenID); !ok {
		return "", &rejection{status: http.StatusTooManyRequests, reason: reasonRateLimited,
			msg: "too many reports for this enrollment token, retry later", retryAfter: strconv.FormatInt(int64(math.Ceil(wait.Seconds())), 10)}
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return "", &rejection{status: http.StatusUnsupportedMediaType, reason: reasonMediaType, msg: "Content-Type must be application/json"}
	}
	switch enc := contentEncoding(r); enc {
	case "gzip", "", "identity":
	default:
		return "", &rejection{status: http.StatusUnsupportedMediaType, reason: reasonEncoding, msg: fmt.Sprintf("unsupported Content-Encoding %q (want gzip)", text.Clip(enc, 40))}
	}
	if strings.TrimSpace(r.Header.Get("Idempotency-Key")) == "" {
		return "", &rejection{status: http.StatusBadRequest, reason: reasonIdempotency, msg: "Idempotency-Key header required (the report_id)"}
	}
	return tokenID, nil
}

func contentEncoding(r *http.Request) string {
	return strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
}

// receive reads the body, bounded as sent and after decompression, into
// a buffer charged to the gate's byte budget (charged, which the caller
// releases even on error), and decodes the report, strictly and within
// the decoder's limits. Everything stops when the client goes away.
func (s *Server) receive(w http.ResponseWriter, r *http.Request) (rep *report.Report, raw []byte, charged int64, rej *rejection) {
	ctx := r.Context()
	body := io.Reader(http.MaxBytesReader(w, r.Body, s.maxWire))
	if contentEncoding(r) == "gzip" {
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, nil, 0, s.readRejection(ctx, err, "body is not gzip: ")
		}
		defer zr.Close()
		body = zr
	}
	raw, charged, err := s.gate.readAll(ctx, body, s.maxBody)
	if err != nil {
		return nil, nil, charged, s.readRejection(ctx, err, "malformed gzip body: ")
	}
	if int64(len(raw)) > s.maxBody {
		return nil, nil, charged, &rejection{status: http.StatusRequestEntityTooLarge, reason: reasonTooLarge, msg: fmt.Sprintf("report larger than %d bytes uncompressed", s.maxBody)}
	}
	rep, err = decodeReport(ctx, raw, s.limits)
	var (
		synErr *syntaxError
		limErr *limitError
		vErr   *schema.ValidationError
	)
	switch {
	case err == nil:
		return rep, raw, charged, nil
	case ctx.Err() != nil:
		return nil, nil, charged, &rejection{reason: reasonGone, msg: "while decoding"}
	case errors.As(err, &limErr):
		return nil, nil, charged, &rejection{status: http.StatusRequestEntityTooLarge, reason: reasonOverLimit, msg: limErr.Error()}
	case errors.As(err, &vErr):
		return nil, nil, charged, &rejection{status: http.StatusBadRequest, reason: reasonSchema, msg: vErr.Error()}
	case errors.As(err, &synErr):
		return nil, nil, charged, &rejection{status: http.StatusBadRequest, reason: reasonBadJSON, msg: "body is not a JSON report: " + synErr.Error()}
	default:
		return nil, nil, charged, &rejection{status: http.StatusBadRequest, reason: reasonBadJSON, msg: "body is not a JSON report"}
	}
}

// check applies the collector's rules to a decoded report: its
// Idempotency-Key and its date.
func (s *Server) check(r *http.Request, rep *report.Report, now time.Time) *rejection {
	if key := strings.TrimSpace(r.Header.Get("Idempotency-Key")); key != rep.ReportID {
		return &rejection{status: http.StatusBadRequest, reason: reasonIdempotency, msg: fmt.Sprintf("Idempotency-Key %q does not match report_id %q", text.Clip(key, 64), rep.ReportID)}
	}
	if rep.GeneratedAt.After(now.Add(s.maxFuture)) {
		return &rejection{status: http.StatusBadRequest, reason: reasonFuture, msg: fmt.Sprintf("generated_at %s is more than %v in the future", report.FormatTime(rep.GeneratedAt), s.maxFuture)}
	}
	if s.maxAge > 0 && rep.GeneratedAt.Before(now.Add(-s.maxAge)) {
		return &rejection{status: http.StatusBadRequest, reason: reasonTooOld, msg: fmt.Sprintf("generated_at %s is older than the history kept (%v)", report.FormatTime(rep.GeneratedAt), s.maxAge)}
	}
	return nil
}

// gateRejection answers a request the gate turned away.
func gateRejection(err error) *rejection {
	if errors.Is(err, errBusy) {
		return &rejection{status: http.StatusServiceUnavailable, reason: reasonOverloaded, msg: "collector busy, retry later", retryAfter: retryAfterBusy}
	}
	return &rejection{reason: reasonGone, msg: "waiting at the gate: " + err.Error()}
}

// readRejection classifies an error reading the body.
func (s *Server) readRejection(ctx context.Context, err error, prefix string) *rejection {
	if status, reason, msg := bodyError(err, s.maxWire); status != 0 {
		return &rejection{status: status, reason: reason, msg: msg}
	}
	if errors.Is(err, errBusy) {
		return gateRejection(err)
	}
	// Checked before the context, which the server cancels when a read
	// fails.
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return &rejection{status: http.StatusRequestTimeout, reason: reasonBodyTimeout,
			msg: fmt.Sprintf("report body not received within %v, retry later", s.bodyTimeout)}
	}
	if ctx.Err() != nil {
		return &rejection{reason: reasonGone, msg: "while reading the body"}
	}
	return &rejection{status: http.StatusBadRequest, reason: reasonBadGzip, msg: prefix + err.Error()}
}

// bodyError classifies an error reading the body: a body over the wire
// limit gives 413; anything else 0 (the caller decides).
func bodyError(err error, maxWire int64) (status int, reason, msg string) {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return http.StatusRequestEntityTooLarge, reasonTooLarge, fmt.Sprintf("body larger than %d bytes as sent", maxWire)
	}
	return 0, "", ""
}
