// Package collector is the HTTP face of the avscout collector: agents
// POST their reports to it, and administrators, auditors and the
// dashboard read the fleet's state from it.
//
// It exists so that everything an agent sends passes one gate before it
// reaches the store: the enrollment token is checked, the agent's rate is
// bounded, the body is bounded before and after decompression, and the
// report is validated against its JSON Schema. Everything in a report is
// hostile: responses are JSON-encoded, CSV exports are neutralised
// against spreadsheet formula injection, and no raw input is echoed
// unescaped. The package holds no state that replicas must share (the
// rate limit is per replica); the store is the only shared state.
//
// Responses agents act on (the agent's protocol): 2xx delivered; 408,
// 429, 5xx retry later (429 and 503 carry Retry-After); any other 4xx
// means the report can never be accepted.
package collector

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/avscout/avscout/internal/collector/store"
)

// Store is what the server needs from the database; [*store.Store] is
// one. Its errors follow package store's ([store.ErrNotFound], …).
type Store interface {
	Ingest(ctx context.Context, in store.Incoming) (store.Outcome, error)
	Authenticate(ctx context.Context, secret string) (tokenID string, err error)
	Hosts(ctx context.Context, f store.HostFilter) (store.HostPage, error)
	Host(ctx context.Context, id string, staleAfter time.Duration) (store.HostDetail, error)
	Summary(ctx context.Context, staleAfter time.Duration) (store.Summary, error)
	Export(ctx context.Context, f store.HostFilter, fn func(store.ExportRow) error) error
	Ping(ctx context.Context) error
}

// Defaults of [Options].
const (
	DefaultMaxBody    = 8 << 20 // decompressed report, bytes
	DefaultRate       = 10      // reports per second per token, per replica
	DefaultBurst      = 200
	DefaultStaleAfter = 48 * time.Hour
	DefaultMaxFuture  = 24 * time.Hour
	// MinAdminToken is the shortest admin credential accepted.
	MinAdminToken = 16
)

// Options configure a [Server].
type Options struct {
	Store Store
	// AdminToken is the credential of the read API, /metrics and the
	// dashboard, at least MinAdminToken bytes. Empty disables them.
	AdminToken string
	// MaxBody bounds a report after decompression (default
	// DefaultMaxBody); MaxWire bounds it as sent (default MaxBody).
	MaxBody, MaxWire int64
	// Rate and Burst are each enrollment token's token bucket: reports
	// per second and the burst allowed (defaults DefaultRate,
	// DefaultBurst). The bucket is per replica.
	Rate  float64
	Burst int
	// StaleAfter is how long a host may stay silent before it is stale
	// (default DefaultStaleAfter).
	StaleAfter time.Duration
	// MaxFuture is how far in the future a report's generated_at may be
	// (default DefaultMaxFuture).
	MaxFuture time.Duration
	Logger    *slog.Logger     // nil: discard
	Now       func() time.Time // nil: time.Now
	// Dashboard, when not nil, is served at "/" (everything outside /v1/,
	// /healthz and /metrics) behind the admin credential, which browsers
	// give with HTTP Basic authentication.
	Dashboard http.Handler
}

// Server serves the collector's HTTP API. Build it with [New].
type Server struct {
	store      Store
	adminHash  [sha256.Size]byte
	adminSet   bool
	maxBody    int64
	maxWire    int64
	staleAfter time.Duration
	maxFuture  time.Duration
	log        *slog.Logger
	now        func() time.Time
	limiter    *limiter
	metrics    *metrics
	dashboard  http.Handler
}

// New returns a server for opts. It does not start anything.
func New(opts Options) *Server {
	s := &Server{
		store:      opts.Store,
		maxBody:    opts.MaxBody,
		maxWire:    opts.MaxWire,
		staleAfter: opts.StaleAfter,
		maxFuture:  opts.MaxFuture,
		log:        opts.Logger,
		now:        opts.Now,
		dashboard:  opts.Dashboard,
		metrics:    newMetrics(),
	}
	if len(opts.AdminToken) >= MinAdminToken {
		s.adminHash, s.adminSet = sha256.Sum256([]byte(opts.AdminToken)), true
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBody
	}
	if s.maxWire <= 0 {
		s.maxWire = s.maxBody
	}
	if s.staleAfter <= 0 {
		s.staleAfter = DefaultStaleAfter
	}
	if s.maxFuture <= 0 {
		s.maxFuture = DefaultMaxFuture
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	rate, burst := opts.Rate, opts.Burst
	if rate <= 0 {
		rate = DefaultRate
	}
	if burst <= 0 {
		burst = DefaultBurst
	}
	s.limiter = newLimiter(rate, burst, s.now)
	return s
}

// Handler returns the HTTP handler of the whole API:
//
//	POST /v1/reports        agents (enrollment token)
//	GET  /v1/hosts          admin: the fleet, filtered and paged
//	GET  /v1/hosts/{id}     admin: one host, its latest report, its history
//	GET  /v1/summary        admin: the fleet at a glance
//	GET  /v1/export         admin: CSV or JSON of the fleet's current state
//	GET  /metrics           admin: Prometheus text
//	GET  /healthz           anyone: 200 when the database answers
//	/                       admin: the dashboard, if any
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/reports", s.handleIngest)
	mux.Handle("GET /v1/hosts", s.admin(http.HandlerFunc(s.handleHosts), false))
	mux.Handle("GET /v1/hosts/{id...}", s.admin(http.HandlerFunc(s.handleHost), false))
	mux.Handle("GET /v1/summary", s.admin(http.HandlerFunc(s.handleSummary), false))
	mux.Handle("GET /v1/export", s.admin(http.HandlerFunc(s.handleExport), false))
	mux.Handle("GET /metrics", s.admin(http.HandlerFunc(s.handleMetrics), false))
	mux.HandleFunc("GET /healthz", s.handleHealth)
	for path, allow := range map[string]string{"/v1/reports": "POST", "/v1/hosts": "GET, HEAD", "/v1/hosts/{id...}": "GET, HEAD",
		"/v1/summary": "GET, HEAD", "/v1/export": "GET, HEAD", "/metrics": "GET, HEAD", "/healthz": "GET, HEAD"} {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			writeError(w, http.StatusMethodNotAllowed, "method not allowed")
		})
	}
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API endpoint")
	})
	if s.dashboard != nil {
		mux.Handle("/", s.admin(s.dashboard, true))
	} else {
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusNotFound, "not found (this collector has no dashboard)")
		})
	}
	return securityHeaders(mux)
}

// securityHeaders sets headers every response carries; a handler (the
// dashboard) may replace them, e.g. with its own Content-Security-Policy.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// admin lets through requests that carry the admin credential, as a
// bearer token or as the password of HTTP Basic authentication (any
// user). browser says to challenge with Basic, so that browsers ask.
func (s *Server) admin(next http.Handler, browser bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.adminSet {
			writeError(w, http.StatusForbidden, "the read API is disabled: start the collector with --admin-token-file")
			return
		}
		if !s.isAdmin(r) {
			if browser {
				w.Header().Set("WWW-Authenticate", `Basic realm="avscout", charset="UTF-8"`)
			} else {
				w.Header().Set("WWW-Authenticate", `Bearer realm="avscout"`)
			}
			writeError(w, http.StatusUnauthorized, "admin credential required")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) isAdmin(r *http.Request) bool {
	secret, ok := bearer(r)
	if !ok {
		_, secret, ok = r.BasicAuth()
	}
	if !ok {
		return false
	}
	sum := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(sum[:], s.adminHash[:]) == 1
}

// bearer returns the token of an "Authorization: Bearer …" header.
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("health check failed", "err", err)
		writeError(w, http.StatusServiceUnavailable, "database unavailable")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// writeJSON writes v as the response, HTML-escaped so that a browser
// that sniffs anyway finds no markup.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v) // the client may be gone; nothing to do about it
}

// writeError writes {"error": msg}.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
