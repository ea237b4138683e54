package collector

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/avscout/avscout/internal/collector/store"
	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/report/schema"
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
	reasonInvalid      = "invalid_report"
	reasonConflict     = "conflict"
	reasonStore        = "store_error"
)

var rejectReasons = []string{reasonUnauthorized, reasonRateLimited, reasonEncoding, reasonMediaType, reasonTooLarge,
	reasonBadGzip, reasonBadJSON, reasonSchema, reasonIdempotency, reasonFuture, reasonInvalid, reasonConflict, reasonStore}

// ingestTimeout bounds the store's work on one report.
const ingestTimeout = 30 * time.Second

// retryAfterStore is the Retry-After sent when the database fails.
const retryAfterStore = "30"

// ingestResponse is the body of a successful POST /v1/reports.
type ingestResponse struct {
	Status   string `json:"status"` // "stored" or "duplicate"
	ReportID string `json:"report_id"`
}

func (s *Server) handleIngest(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	defer func() { s.metrics.observe(time.Since(start)) }()
	log := s.log.With("remote", r.RemoteAddr)
	reject := func(status int, reason, msg string) {
		s.metrics.reject(reason)
		log.Info("report rejected", "status", status, "reason", reason, "msg", msg)
		writeError(w, status, msg)
	}

	secret, ok := bearer(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="avscout"`)
		reject(http.StatusUnauthorized, reasonUnauthorized, "enrollment token required (Authorization: Bearer …)")
		return
	}
	tokenID, err := s.store.Authenticate(r.Context(), secret)
	switch {
	case errors.Is(err, store.ErrUnauthorized):
		w.Header().Set("WWW-Authenticate", `Bearer realm="avscout", error="invalid_token"`)
		reject(http.StatusUnauthorized, reasonUnauthorized, "unknown or revoked enrollment token")
		return
	case err != nil:
		log.Error("authenticating agent", "err", err)
		w.Header().Set("Retry-After", retryAfterStore)
		reject(http.StatusServiceUnavailable, reasonStore, "database unavailable, retry later")
		return
	}
	log = log.With("token", tokenID)
	if ok, wait := s.limiter.allow(tokenID); !ok {
		w.Header().Set("Retry-After", strconv.FormatInt(int64(math.Ceil(wait.Seconds())), 10))
		reject(http.StatusTooManyRequests, reasonRateLimited, "too many reports for this enrollment token, retry later")
		return
	}

	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		reject(http.StatusUnsupportedMediaType, reasonMediaType, "Content-Type must be application/json")
		return
	}
	body := io.Reader(http.MaxBytesReader(w, r.Body, s.maxWire))
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			if status, reason, msg := bodyError(err, s.maxWire); status != 0 {
				reject(status, reason, msg)
				return
			}
			reject(http.StatusBadRequest, reasonBadGzip, "body is not gzip: "+err.Error())
			return
		}
		defer zr.Close()
		body = zr
	case "", "identity":
	default:
		reject(http.StatusUnsupportedMediaType, reasonEncoding, fmt.Sprintf("unsupported Content-Encoding %q (want gzip)", truncate(enc, 40)))
		return
	}
	key := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if key == "" {
		reject(http.StatusBadRequest, reasonIdempotency, "Idempotency-Key header required (the report_id)")
		return
	}

	// Read at most one byte past the limit: a gzip bomb stops there.
	raw, err := io.ReadAll(io.LimitReader(body, s.maxBody+1))
	if err != nil {
		if status, reason, msg := bodyError(err, s.maxWire); status != 0 {
			reject(status, reason, msg)
			return
		}
		reject(http.StatusBadRequest, reasonBadGzip, "malformed gzip body: "+err.Error())
		return
	}
	if int64(len(raw)) > s.maxBody {
		reject(http.StatusRequestEntityTooLarge, reasonTooLarge, fmt.Sprintf("report larger than %d bytes uncompressed", s.maxBody))
		return
	}

	var vErr *schema.ValidationError
	if err := schema.Validate(raw); errors.As(err, &vErr) {
		reject(http.StatusBadRequest, reasonSchema, vErr.Error())
		return
	} else if err != nil {
		reject(http.StatusBadRequest, reasonBadJSON, "body is not a JSON report")
		return
	}
	var rep report.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		reject(http.StatusBadRequest, reasonBadJSON, "decoding report: "+err.Error())
		return
	}
	log = log.With("report_id", rep.ReportID, "host", rep.Host.ID)
	if key != rep.ReportID {
		reject(http.StatusBadRequest, reasonIdempotency, fmt.Sprintf("Idempotency-Key %q does not match report_id %q", truncate(key, 64), rep.ReportID))
		return
	}
	now := s.now()
	if rep.GeneratedAt.After(now.Add(s.maxFuture)) {
		reject(http.StatusBadRequest, reasonFuture, fmt.Sprintf("generated_at %s is more than %v in the future", report.FormatTime(rep.GeneratedAt), s.maxFuture))
		return
	}

	// The report is stored whether or not the agent stays to hear it: if
	// it goes, its retry is answered "duplicate".
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), ingestTimeout)
	defer cancel()
	outcome, err := s.store.Ingest(ctx, store.Incoming{Report: &rep, Raw: raw, TokenID: tokenID, ReceivedAt: now})
	switch {
	case errors.Is(err, store.ErrConflict):
		reject(http.StatusConflict, reasonConflict, "report_id already stored with different content")
	case errors.Is(err, store.ErrInvalid):
		reject(http.StatusBadRequest, reasonInvalid, err.Error())
	case err != nil:
		log.Error("storing report", "err", err)
		w.Header().Set("Retry-After", retryAfterStore)
		reject(http.StatusServiceUnavailable, reasonStore, "database unavailable, retry later")
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

// bodyError classifies an error reading the body: a body over the wire
// limit gives 413; anything else 0 (the caller decides).
func bodyError(err error, maxWire int64) (status int, reason, msg string) {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return http.StatusRequestEntityTooLarge, reasonTooLarge, fmt.Sprintf("body larger than %d bytes as sent", maxWire)
	}
	return 0, "", ""
}

// truncate shortens s to at most n bytes of valid UTF-8, for messages.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
