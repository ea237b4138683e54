package collector

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/avscout/avscout/internal/auditbundle"
	"github.com/avscout/avscout/internal/collector/alert"
	"github.com/avscout/avscout/internal/collector/dashboard"
	"github.com/avscout/avscout/internal/collector/store"
)

// Defaults of a [Config] the serve command starts from.
const (
	DefaultListen    = "127.0.0.1:8443"
	DefaultDB        = "avscout.db"
	DefaultRetention = 400 * 24 * time.Hour // 13 months
)

const (
	pruneEvery       = 6 * time.Hour
	shutdownTimeout  = 20 * time.Second
	adminReloadEvery = 5 * time.Second // a deleted admin credential is refused within this
)

// Config is what a collector process serves with: one field per flag of
// "avscout-collector serve", so that the command only parses flags and
// [Serve] decides. Its errors name the flags.
type Config struct {
	Listen string // host:port
	DB     string // SQLite path or postgres:// URL
	// TLSCert and TLSKey are PEM files, both or neither (then plain
	// HTTP); ClientCA, with them, requires client certificates.
	TLSCert, TLSKey, ClientCA string
	// AdminTokenFile holds the admin credentials (NAME:SECRET lines),
	// re-read when it changes; empty turns the read API, /metrics and the
	// dashboard off.
	AdminTokenFile string
	AllowUnsigned  bool
	// SigningKey is the collector's audit signing key file, made if
	// missing; "" is DefaultKeyPath(DB).
	SigningKey string
	// AlertsFile is the alerts configuration (YAML: webhooks and
	// delivery); empty sends no alerts.
	AlertsFile string

	MaxBody          int64
	Rate             float64
	Burst            int
	MaxInflight      int
	MaxInflightBytes int64
	BodyTimeout      time.Duration
	MaxFuture        time.Duration
	Retention        time.Duration // 0 keeps everything
	StaleAfter       time.Duration

	Version string       // logged at start
	Logger  *slog.Logger // nil discards
}

// DefaultConfig is the configuration of "avscout-collector serve"
// without flags.
func DefaultConfig() Config {
	return Config{
		Listen: DefaultListen, DB: DefaultDB,
		MaxBody: DefaultMaxBody, Rate: DefaultRate, Burst: DefaultBurst,
		MaxInflight: DefaultMaxInflight, MaxInflightBytes: DefaultMaxInflightBytes,
		BodyTimeout: DefaultBodyTimeout, MaxFuture: DefaultMaxFuture,
		Retention: DefaultRetention, StaleAfter: DefaultStaleAfter,
	}
}

// ConfigError is a mistake in a [Config] or in a file it names: the
// operator's to fix, not a failure of the server.
type ConfigError struct{ Err error }

// Error is the mistake, naming the flag or file.
func (e *ConfigError) Error() string { return e.Err.Error() }

// Unwrap returns the mistake.
func (e *ConfigError) Unwrap() error { return e.Err }

func configErrorf(format string, args ...any) error {
	return &ConfigError{fmt.Errorf(format, args...)}
}

// Check reports the first mistake in c as a [*ConfigError].
func (c Config) Check() error {
	switch {
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return configErrorf("--tls-cert and --tls-key go together")
	case c.ClientCA != "" && c.TLSCert == "":
		return configErrorf("--client-ca needs --tls-cert and --tls-key")
	case c.MaxBody <= 0 || c.Rate <= 0 || c.Burst <= 0 || c.StaleAfter <= 0 || c.Retention < 0:
		return configErrorf("--max-body, --rate, --burst and --stale-after must be positive, --retention not negative")
	case c.MaxInflight <= 0 || c.MaxInflightBytes <= 0 || c.MaxFuture <= 0 || c.BodyTimeout <= 0:
		return configErrorf("--max-inflight, --max-inflight-bytes, --max-future and --body-timeout must be positive")
	}
	return nil
}

// Serve runs a collector with cfg until ctx ends, then shuts it down
// gracefully and returns nil. A mistake in cfg, or in the files it
// names, is a [*ConfigError], found before the database is opened.
func Serve(ctx context.Context, cfg Config) error {
	if err := cfg.Check(); err != nil {
		return err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	var admins *AdminCredentials
	if cfg.AdminTokenFile != "" {
		var err error
		if admins, err = LoadAdminCredentials(cfg.AdminTokenFile); err != nil {
			return &ConfigError{err}
		}
		log.Info("admin credentials loaded", "file", cfg.AdminTokenFile, "names", strings.Join(admins.Names(), ","))
		go admins.Watch(ctx, adminReloadEvery, log)
	} else {
		log.Warn("no --admin-token-file: the read API, /metrics and the dashboard are disabled")
	}
	var tlsConfig *tls.Config
	if cfg.TLSCert != "" {
		var err error
		if tlsConfig, err = ServerTLS(cfg.TLSCert, cfg.TLSKey, cfg.ClientCA); err != nil {
			return &ConfigError{err}
		}
	}

	keyPath := cfg.SigningKey
	if keyPath == "" {
		keyPath = DefaultKeyPath(cfg.DB)
	}
	var auditKey auditbundle.Signer
	if keyPath != "" {
		k, err := LoadSigningKey(keyPath, log)
		if err != nil {
			return &ConfigError{err}
		}
		log.Info("audit bundles are signed", "key", keyPath, "fingerprint", k.Fingerprint())
		auditKey = k
	} else {
		log.Warn("no --signing-key: GET /v1/audit/export is off (replicas on PostgreSQL share one key file)")
	}

	var alerts *alert.Config
	if cfg.AlertsFile != "" {
		var err error
		if alerts, err = alert.Load(cfg.AlertsFile, alert.Env{}); err != nil {
			return &ConfigError{err}
		}
	}

	st, err := store.Open(ctx, cfg.DB, store.Options{Logger: log, AlertRoutes: alerts.Routes()})
	if err != nil {
		return fmt.Errorf("opening database %s: %w", store.RedactDSN(cfg.DB), err)
	}
	defer st.Close()
	var alertMetrics MetricsWriter
	if alerts != nil {
		// Delivery runs until shutdown and ends before the database closes.
		d := alert.New(alerts, st, alert.Options{Logger: log, Version: cfg.Version})
		actx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); d.Run(actx) }()
		defer func() { stop(); <-done }()
		alertMetrics = d
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	if cfg.AllowUnsigned {
		log.Warn("--allow-unsigned: reports without a signature are accepted for hosts with no pinned key; turn it off once every agent signs")
	}
	if tlsConfig == nil && !Loopback(cfg.Listen) {
		log.Warn("serving plain HTTP on a non-loopback address: enrollment tokens and reports cross the network in clear unless a TLS proxy fronts this", "listen", cfg.Listen)
	}
	dash, err := dashboard.New(st, dashboard.Options{StaleAfter: cfg.StaleAfter, Logger: log})
	if err != nil {
		ln.Close()
		return err
	}
	login, err := dashboard.LoginPage(dashboard.Options{})
	if err != nil {
		ln.Close()
		return err
	}
	api := New(Options{
		Store: st, Admins: admins, AllowUnsigned: cfg.AllowUnsigned, MaxBody: cfg.MaxBody, Rate: cfg.Rate, Burst: cfg.Burst,
		MaxInflight: cfg.MaxInflight, MaxInflightBytes: cfg.MaxInflightBytes, MaxFuture: cfg.MaxFuture, BodyTimeout: cfg.BodyTimeout, MaxAge: cfg.Retention,
		StaleAfter: cfg.StaleAfter, Logger: log, Dashboard: dash, DashboardLogin: login, AuditKey: auditKey, Alerts: alertMetrics,
	})
	srv := &http.Server{
		Handler:           api.Handler(),
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,  // an 8 MiB report over a slow link
		WriteTimeout:      10 * time.Minute, // a large export
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	if cfg.Retention > 0 {
		go RunRetention(ctx, st, cfg.Retention, pruneEvery, log)
	}
	// Said before the first request can be answered: the socket is
	// bound, so the address is true, and whoever waits for the collector
	// to answer finds these lines already written.
	log.Info("avscout-collector listening", "addr", ln.Addr().String(), "tls", tlsConfig != nil,
		"client_certs", cfg.ClientCA != "", "db", store.RedactDSN(cfg.DB), "version", cfg.Version)
	LogDashboard(log, DashboardURL(ln.Addr(), tlsConfig != nil), cfg.AdminTokenFile)
	served := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			served <- srv.ServeTLS(ln, "", "")
		} else {
			served <- srv.Serve(ln)
		}
	}()

	select {
	case err := <-served:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving: %w", err)
	}
	log.Info("stopped")
	return nil
}

// LogDashboard tells the person who just started the collector where
// the dashboard is and how to log in to it: which file holds the
// credentials, never a secret.
func LogDashboard(log *slog.Logger, url, adminFile string) {
	if adminFile == "" {
		log.Warn("dashboard off: start with --admin-token-file FILE, a file of NAME:SECRET lines, to open it", "url", url)
		return
	}
	log.Info("dashboard ready: open the url and log in with any user name and, as the password, "+
		"the SECRET of a NAME:SECRET line of the admin token file (the whole line if it has no colon)",
		"url", url, "admin_token_file", adminFile)
}

// DashboardURL is the URL of the dashboard served on addr. A wildcard
// address is shown as localhost, which reaches it from this machine.
func DashboardURL(addr net.Addr, tls bool) string {
	scheme := "http"
	if tls {
		scheme = "https"
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return scheme + "://" + addr.String() + "/"
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/"
}

// ServerTLS loads the server's certificate and, with caFile, requires
// client certificates signed by those CAs.
func ServerTLS(certFile, keyFile, caFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("loading TLS certificate %s and key %s: %w", certFile, keyFile, err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("reading client CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("client CA file %s: no PEM certificates", caFile)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// Loopback reports whether addr (host:port) listens on a loopback
// interface only.
func Loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Days is a duration that also takes whole days ("400d"), as
// --retention and --stale-after do; it is a [flag.Value].
type Days time.Duration

// String formats d as a Go duration ("9600h0m0s").
func (d *Days) String() string { return time.Duration(*d).String() }

// Set parses s: a number of days with "d", or a Go duration ("48h").
func (d *Days) Set(s string) error {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		v, err := strconv.ParseUint(n, 10, 32)
		if err != nil {
			return fmt.Errorf("want a number of days such as 400d")
		}
		*d = Days(time.Duration(v) * 24 * time.Hour)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration such as 48h or 400d")
	}
	*d = Days(v)
	return nil
}
