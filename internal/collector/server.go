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
// [Serve] runs it as the collector process from a [Config] (listener,
// TLS, admin credentials, retention), so that cmd/collector only turns
// flags into a Config.
//
// Responses agents act on (the agent's protocol): 2xx delivered; 408,
// 429, 5xx retry later (429 and 503 carry Retry-After); 401 and 403 hold
// the report: the agent keeps it and retries at its longest backoff, a
// 401 until its enrollment token is fixed, a 403 whether the collector
// refused the agent's signature (code key_mismatch, bad_signature or
// unsigned) or it has none of these codes (a proxy or WAF in front of the
// collector); any other 4xx means the report can never be accepted.
package collector

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/avscout/avscout/internal/auditbundle"
	"github.com/avscout/avscout/internal/collector/store"
	"github.com/avscout/avscout/internal/text"
)

// Store is what the server needs from the database; [*store.Store] is
// one. Its errors follow package store's ([store.ErrNotFound], …).
type Store interface {
	KeyStore
	Ingest(ctx context.Context, in store.Incoming) (store.Outcome, error)
	Authenticate(ctx context.Context, secret string) (tokenID string, err error)
	Hosts(ctx context.Context, f store.HostFilter) (store.HostPage, error)
	Host(ctx context.Context, id string, staleAfter time.Duration) (store.HostDetail, error)
	Summary(ctx context.Context, staleAfter time.Duration) (store.Summary, error)
	Trend(ctx context.Context, days int, staleAfter time.Duration) ([]store.TrendDay, error)
	Breakdown(ctx context.Context, by string, staleAfter time.Duration) (store.Breakdown, error)
	TagKeys(ctx context.Context) ([]store.TagKey, error)
	Export(ctx context.Context, f store.HostFilter, fn func(store.ExportRow) error) error
	SignedReport(ctx context.Context, id string) (store.SignedReport, error)
	Audit(ctx context.Context, e store.AuditEntry) error
	AuditPage(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error)
	Ping(ctx context.Context) error
}

// Defaults of [Options].
const (
	DefaultMaxBody    = 8 << 20 // decompressed report, bytes
	DefaultRate       = 10      // reports per second per token, per replica
	DefaultBurst      = 200
	DefaultStaleAfter = 48 * time.Hour
	DefaultMaxFuture  = 5 * time.Minute
	// DefaultMaxInflight is how many reports a replica reads, decodes
	// and stores at once; DefaultMaxInflightBytes how many bytes of
	// decompressed reports they may hold. Small reports (a few KiB) are
	// bounded by the first, large ones by the second: eight 8 MiB
	// reports at once.
	DefaultMaxInflight      = 64
	DefaultMaxInflightBytes = 64 << 20
	// DefaultBodyTimeout is how long a report's body may take to arrive
	// once the report holds a place at the gate.
	DefaultBodyTimeout = 30 * time.Second
	// gateWait is how long a report waits for room at the gate before
	// it is answered 503.
	gateWait = 250 * time.Millisecond
	// MinAdminToken is the shortest admin credential accepted.
	MinAdminToken = 16
)

// Options configure a [Server].
type Options struct {
	Store Store
	// AdminToken is the credential of the read API, /metrics and the
	// dashboard, at least MinAdminToken bytes, named "admin". Empty
	// disables them, unless Admins is set.
	AdminToken string
	// Admins are the named admin credentials; they replace AdminToken.
	Admins *AdminCredentials
	// AllowUnsigned accepts reports without the agent's signature for
	// hosts that have no pinned key (a migration aid for agents older
	// than report signing); otherwise they get 403 "unsigned".
	AllowUnsigned bool
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
	// (default DefaultMaxFuture): the clock skew allowed.
	MaxFuture time.Duration
	// MaxAge, when positive, refuses reports generated longer ago: the
	// history's retention. Older reports have been pruned, so a replay of
	// one could no longer be recognised as a duplicate.
	MaxAge time.Duration
	// MaxInflight bounds the reports read, decoded and stored at once,
	// MaxInflightBytes the bytes of decompressed reports they hold
	// (defaults DefaultMaxInflight, DefaultMaxInflightBytes; the latter
	// at least MaxBody). A report that finds no room within a moment is
	// answered 503 with Retry-After.
	MaxInflight      int
	MaxInflightBytes int64
	// BodyTimeout bounds the time a report's body takes to arrive once
	// the report has a place at the gate (default DefaultBodyTimeout), so
	// that slow senders cannot hold every place for the server's whole
	// ReadTimeout. A body that takes longer is answered 408; the agent
	// retries it.
	BodyTimeout time.Duration
	Logger      *slog.Logger     // nil: discard
	Now         func() time.Time // nil: time.Now
	// Dashboard, when not nil, is served at "/" (everything outside /v1/,
	// /healthz and /metrics) behind the admin credential, which browsers
	// give with HTTP Basic authentication.
	Dashboard http.Handler
	// DashboardLogin, when not nil, answers a browser (a request that
	// accepts text/html) that asks for the dashboard without a valid
	// credential, after the Basic challenge is set: a page that says how
	// to log in, instead of a JSON error. It must answer 401.
	DashboardLogin http.Handler
	// AuditKey signs audit bundles (GET /v1/audit/export); nil turns
	// the export off.
	AuditKey auditbundle.Signer
	// Alerts, when not nil, adds the alert delivery's metrics to /metrics.
	Alerts MetricsWriter
}

// MetricsWriter writes metrics in the Prometheus text format;
// *alert.Dispatcher is one.
type MetricsWriter interface {
	WriteMetrics(ctx context.Context, w io.Writer)
}

// Server serves the collector's HTTP API. Build it with [New].
type Server struct {
	store         Store
	admins        *AdminCredentials // nil: the admin API is off
	adminFails    *failGuard
	adminLogs     *logBudget // lines of failed admin logins
	admitLogs     *logBudget // lines of reports refused before their body is read
	allowUnsigned bool
	maxBody       int64
	maxWire       int64
	staleAfter    time.Duration
	maxFuture     time.Duration
	maxAge        time.Duration
	log           *slog.Logger
	now           func() time.Time
	limiter       *limiter
	metrics       *metrics
	dashboard     http.Handler
	login         http.Handler
	gate          *gate
	keys          *keyCache
	bodyTimeout   time.Duration
	limits        decodeLimits
	auditKey      auditbundle.Signer
	alerts        MetricsWriter
}

// New returns a server for opts. It does not start anything.
func New(opts Options) *Server {
	s := &Server{
		store:       opts.Store,
		maxBody:     opts.MaxBody,
		maxWire:     opts.MaxWire,
		staleAfter:  opts.StaleAfter,
		maxFuture:   opts.MaxFuture,
		maxAge:      opts.MaxAge,
		log:         opts.Logger,
		now:         opts.Now,
		dashboard:   opts.Dashboard,
		login:       opts.DashboardLogin,
		metrics:     newMetrics(),
		alerts:      opts.Alerts,
		limits:      defaultLimits(),
		bodyTimeout: opts.BodyTimeout,
		auditKey:    opts.AuditKey,
	}
	s.admins, s.adminFails, s.allowUnsigned = opts.Admins, newFailGuard(func() time.Time { return s.now() }), opts.AllowUnsigned
	if s.admins == nil && len(opts.AdminToken) >= MinAdminToken {
		s.admins = SingleAdmin(LegacyAdminName, opts.AdminToken)
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
	if s.bodyTimeout <= 0 {
		s.bodyTimeout = DefaultBodyTimeout
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
	s.adminLogs, s.admitLogs = newLogBudget(s.log, msgAdminFailed), newLogBudget(s.log, msgRejected)
	rate, burst := opts.Rate, opts.Burst
	if rate <= 0 {
		rate = DefaultRate
	}
	if burst <= 0 {
		burst = DefaultBurst
	}
	s.limiter = newLimiter(rate, burst, s.now)
	inflight, inflightBytes := opts.MaxInflight, opts.MaxInflightBytes
	if inflight <= 0 {
		inflight = DefaultMaxInflight
	}
	if inflightBytes <= 0 {
		inflightBytes = DefaultMaxInflightBytes
	}
	s.keys = newKeyCache(keyCacheTTL, keyCacheMax, func() time.Time { return s.now() })
	s.gate = newGate(inflight, max(inflightBytes, s.maxBody+1), gateWait)
	return s
}

// Handler returns the HTTP handler of the whole API:
//
//	POST /v1/reports        agents (enrollment token)
//	GET  /v1/hosts          admin: the fleet, filtered and paged
//	GET  /v1/hosts/{id}     admin: one host, its latest report, its history, its key
//	POST /v1/hosts/{id}/rekey admin: pin another key to the host, or clear its pin
//	GET  /v1/summary        admin: the fleet at a glance
//	GET  /v1/export         admin: CSV or JSON of the fleet's current state
//	GET  /v1/audit/export   admin: the signed audit bundle of a window (tar)
//	GET  /metrics           admin: Prometheus text
//	GET  /healthz           anyone: 200 when the database answers
//	/                       admin: the dashboard, if any
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/reports", s.handleIngest)
	mux.Handle("GET /v1/hosts", s.admin(http.HandlerFunc(s.handleHosts), false))
	mux.Handle("GET /v1/hosts/{id...}", s.admin(http.HandlerFunc(s.handleHost), false))
	mux.Handle("POST /v1/hosts/{id}/rekey", s.admin(http.HandlerFunc(s.handleRekey), false))
	mux.Handle("GET /v1/summary", s.admin(http.HandlerFunc(s.handleSummary), false))
	mux.Handle("GET /v1/summary/trend", s.admin(http.HandlerFunc(s.handleTrend), false))
	mux.Handle("GET /v1/summary/breakdown", s.admin(http.HandlerFunc(s.handleBreakdown), false))
	mux.Handle("GET /v1/export", s.admin(http.HandlerFunc(s.handleExport), false))
	mux.Handle("GET /v1/audit", s.admin(http.HandlerFunc(s.handleAudit), false))
	mux.Handle("GET /v1/audit/export", s.admin(http.HandlerFunc(s.handleAuditExport), false))
	mux.Handle("GET /v1/reports/{id}/raw", s.admin(http.HandlerFunc(s.handleReportRaw), false))
	mux.Handle("GET /v1/reports/{id}/signature", s.admin(http.HandlerFunc(s.handleReportSignature), false))
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

// admin lets through requests that carry an admin credential, as a
// bearer token or as the password of HTTP Basic authentication (any
// user), and puts the credential's name in the request's context
// ([AdminName]). browser says to challenge with Basic, so that browsers
// ask, and to show a browser the login page (Options.DashboardLogin). A client whose credentials failed several times waits,
// exponentially longer (429 with Retry-After), before it is heard again;
// every failure is counted and logged (never the secret tried), the lines
// within a budget per replica.
func (s *Server) admin(next http.Handler, browser bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.admins == nil {
			writeError(w, http.StatusForbidden, "the read API is disabled: start the collector with --admin-token-file")
			return
		}
		client := clientKey(r)
		if wait := s.adminFails.wait(client); wait > 0 {
			w.Header().Set("Retry-After", strconv.FormatInt(int64(math.Ceil(wait.Seconds())), 10))
			writeError(w, http.StatusTooManyRequests, "too many failed admin logins from this address, retry later")
			return
		}
		name, presented := s.isAdmin(r)
		if name == "" {
			if presented {
				failures, wait := s.adminFails.fail(client)
				s.metrics.adminFailures.Add(1)
				if s.adminLogs.allow() {
					s.log.Warn(msgAdminFailed, "remote", r.RemoteAddr, "user", adminUser(r),
						"path", text.Clip(r.URL.Path, 128), "failures", failures, "backoff", wait)
				}
			}
			if browser {
				w.Header().Set("WWW-Authenticate", `Basic realm="avscout", charset="UTF-8"`)
				if s.login != nil && acceptsHTML(r) {
					s.login.ServeHTTP(w, r)
					return
				}
			} else {
				w.Header().Set("WWW-Authenticate", `Bearer realm="avscout"`)
			}
			writeError(w, http.StatusUnauthorized, "admin credential required")
			return
		}
		s.adminFails.succeed(client)
		if !s.logAccess(r.Context(), r, name) {
			w.Header().Set("Retry-After", retryAfterStore)
			writeError(w, http.StatusServiceUnavailable, "the access log cannot be written: database unavailable")
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), adminNameKey{}, name)))
	})
}

// acceptsHTML reports whether r is a browser's: its Accept header names
// text/html.
func acceptsHTML(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		if strings.Contains(strings.ToLower(v), "text/html") {
			return true
		}
	}
	return false
}

// isAdmin returns the name of the admin credential r carries, "" if
// none matches; presented says whether r carried a credential at all.
func (s *Server) isAdmin(r *http.Request) (name string, presented bool) {
	secret, ok := bearer(r)
	if !ok {
		_, secret, ok = r.BasicAuth()
	}
	if !ok || secret == "" {
		return "", false
	}
	name, _ = s.admins.match(secret)
	return name, true
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
