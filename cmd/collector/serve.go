package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/avscout/avscout/internal/collector"
	"github.com/avscout/avscout/internal/collector/dashboard"
	"github.com/avscout/avscout/internal/collector/store"
)

const (
	defaultListen    = "127.0.0.1:8443"
	defaultDB        = "avscout.db"
	defaultRetention = 400 * 24 * time.Hour // 13 months
	pruneEvery       = 6 * time.Hour
	shutdownTimeout  = 20 * time.Second
	adminReloadEvery = 5 * time.Second // a deleted admin credential is refused within this
)

// dbFlag adds --db to fs.
func dbFlag(fs *flag.FlagSet) *string {
	return fs.String("db", defaultDB, "SQLite database `PATH`, or a postgres:// URL")
}

// logLevelFlag adds --log-level to fs.
func logLevelFlag(fs *flag.FlagSet) *slog.Level {
	level := new(slog.Level)
	fs.TextVar(level, "log-level", slog.LevelInfo, "log `LEVEL`: debug, info, warn or error")
	return level
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return errHelp
	} else if err != nil {
		return errReported
	}
	return nil
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "  avscout-collector [serve] [flags]\n\nReceives agents' reports and serves the read API and the dashboard.", args, stdout, stderr)
	listen := fs.String("listen", defaultListen, "listen on `ADDR` (host:port)")
	db := dbFlag(fs)
	tlsCert := fs.String("tls-cert", "", "TLS certificate chain `FILE` (PEM); without it, plain HTTP (put a TLS proxy in front)")
	tlsKey := fs.String("tls-key", "", "TLS private key `FILE` (PEM)")
	clientCA := fs.String("client-ca", "", "require client certificates signed by the CAs in `FILE` (PEM)")
	adminFile := fs.String("admin-token-file", "", "`FILE` of named admin credentials, lines NAME:SECRET (or one bare secret, named admin); secrets 16+ characters, "+
		"the file not world-readable and re-read when it changes; without it the read API is off")
	allowUnsigned := fs.Bool("allow-unsigned", false, "accept reports without the agent's signature for hosts with no pinned key (migration aid for agents older than report signing)")
	maxBody := fs.Int64("max-body", collector.DefaultMaxBody, "largest report accepted, in `BYTES` after decompression")
	rate := fs.Float64("rate", collector.DefaultRate, "reports per second allowed per enrollment token, per replica")
	burst := fs.Int("burst", collector.DefaultBurst, "reports an enrollment token may send in a burst, per replica")
	maxInflight := fs.Int("max-inflight", collector.DefaultMaxInflight, "reports read, decoded and stored at once; more wait a moment, then get 503 and Retry-After")
	maxInflightBytes := fs.Int64("max-inflight-bytes", collector.DefaultMaxInflightBytes, "`BYTES` of decompressed reports held at once (at least --max-body)")
	bodyTimeout := fs.Duration("body-timeout", collector.DefaultBodyTimeout, "how long a report's body may take to arrive once it has a place (see --max-inflight); slower senders get 408")
	maxFuture := fs.Duration("max-future", collector.DefaultMaxFuture, "clock skew allowed: how far in the future a report's generated_at may be")
	retention := days(defaultRetention)
	fs.Var(&retention, "retention", "keep report history this long (e.g. 400d, 9600h; 0 keeps everything)")
	staleAfter := days(collector.DefaultStaleAfter)
	fs.Var(&staleAfter, "stale-after", "a host silent this long is stale (e.g. 48h, 3d)")
	level := logLevelFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("serve: unexpected argument %q", fs.Arg(0))
	}
	switch {
	case (*tlsCert == "") != (*tlsKey == ""):
		return usagef("--tls-cert and --tls-key go together")
	case *clientCA != "" && *tlsCert == "":
		return usagef("--client-ca needs --tls-cert and --tls-key")
	case *maxBody <= 0 || *rate <= 0 || *burst <= 0 || staleAfter <= 0 || retention < 0:
		return usagef("--max-body, --rate, --burst and --stale-after must be positive, --retention not negative")
	case *maxInflight <= 0 || *maxInflightBytes <= 0 || *maxFuture <= 0 || *bodyTimeout <= 0:
		return usagef("--max-inflight, --max-inflight-bytes, --max-future and --body-timeout must be positive")
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	var admins *collector.AdminCredentials
	if *adminFile != "" {
		var err error
		if admins, err = collector.LoadAdminCredentials(*adminFile); err != nil {
			return usageError{err}
		}
		log.Info("admin credentials loaded", "file", *adminFile, "names", strings.Join(admins.Names(), ","))
		go admins.Watch(ctx, adminReloadEvery, log)
	} else {
		log.Warn("no --admin-token-file: the read API, /metrics and the dashboard are disabled")
	}
	var tlsConfig *tls.Config
	if *tlsCert != "" {
		var err error
		if tlsConfig, err = serverTLS(*tlsCert, *tlsKey, *clientCA); err != nil {
			return usageError{err}
		}
	}

	st, err := store.Open(ctx, *db, store.Options{Logger: log})
	if err != nil {
		return fmt.Errorf("opening database %s: %w", store.RedactDSN(*db), err)
	}
	defer st.Close()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", *listen, err)
	}
	if *allowUnsigned {
		log.Warn("--allow-unsigned: reports without a signature are accepted for hosts with no pinned key; turn it off once every agent signs")
	}
	if tlsConfig == nil && !loopback(*listen) {
		log.Warn("serving plain HTTP on a non-loopback address: enrollment tokens and reports cross the network in clear unless a TLS proxy fronts this", "listen", *listen)
	}
	dash, err := dashboard.New(st, dashboard.Options{StaleAfter: time.Duration(staleAfter), Logger: log})
	if err != nil {
		return err
	}
	login, err := dashboard.LoginPage(dashboard.Options{})
	if err != nil {
		return err
	}
	api := collector.New(collector.Options{
		Store: st, Admins: admins, AllowUnsigned: *allowUnsigned, MaxBody: *maxBody, Rate: *rate, Burst: *burst,
		MaxInflight: *maxInflight, MaxInflightBytes: *maxInflightBytes, MaxFuture: *maxFuture, BodyTimeout: *bodyTimeout, MaxAge: time.Duration(retention),
		StaleAfter: time.Duration(staleAfter), Logger: log, Dashboard: dash, DashboardLogin: login,
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

	if retention > 0 {
		go collector.RunRetention(ctx, st, time.Duration(retention), pruneEvery, log)
	}
	// Said before the first request can be answered: the socket is
	// bound, so the address is true, and whoever waits for the collector
	// to answer finds these lines already written.
	log.Info("avscout-collector listening", "addr", ln.Addr().String(), "tls", tlsConfig != nil,
		"client_certs", *clientCA != "", "db", store.RedactDSN(*db), "version", version)
	logDashboard(log, dashboardURL(ln.Addr(), tlsConfig != nil), *adminFile)
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

// logDashboard tells the person who just started the collector where
// the dashboard is and how to log in to it: which file holds the
// credentials, never a secret.
func logDashboard(log *slog.Logger, url, adminFile string) {
	if adminFile == "" {
		log.Warn("dashboard off: start with --admin-token-file FILE, a file of NAME:SECRET lines, to open it", "url", url)
		return
	}
	log.Info("dashboard ready: open the url and log in with any user name and, as the password, "+
		"the SECRET of a NAME:SECRET line of the admin token file (the whole line if it has no colon)",
		"url", url, "admin_token_file", adminFile)
}

// dashboardURL is the URL of the dashboard served on addr. A wildcard
// address is shown as localhost, which reaches it from this machine.
func dashboardURL(addr net.Addr, tls bool) string {
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

// serverTLS loads the server's certificate and, with caFile, requires
// client certificates signed by those CAs.
func serverTLS(certFile, keyFile, caFile string) (*tls.Config, error) {
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

// loopback reports whether addr listens on a loopback interface only.
func loopback(addr string) bool {
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

// days is a duration flag that also takes whole days: "400d".
type days time.Duration

func (d *days) String() string { return time.Duration(*d).String() }

func (d *days) Set(s string) error {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		v, err := strconv.ParseUint(n, 10, 32)
		if err != nil {
			return fmt.Errorf("want a number of days such as 400d")
		}
		*d = days(time.Duration(v) * 24 * time.Hour)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration such as 48h or 400d")
	}
	*d = days(v)
	return nil
}
