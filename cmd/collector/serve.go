package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"

	"github.com/avscout/avscout/internal/collector"
)

// dbFlag adds --db to fs.
func dbFlag(fs *flag.FlagSet) *string {
	return fs.String("db", collector.DefaultDB, "SQLite database `PATH`, or a postgres:// URL")
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
	cfg := collector.DefaultConfig()
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "listen on `ADDR` (host:port)")
	db := dbFlag(fs)
	fs.StringVar(&cfg.TLSCert, "tls-cert", "", "TLS certificate chain `FILE` (PEM); without it, plain HTTP (put a TLS proxy in front)")
	fs.StringVar(&cfg.TLSKey, "tls-key", "", "TLS private key `FILE` (PEM)")
	fs.StringVar(&cfg.ClientCA, "client-ca", "", "require client certificates signed by the CAs in `FILE` (PEM)")
	fs.StringVar(&cfg.AdminTokenFile, "admin-token-file", "", "`FILE` of named admin credentials, lines NAME:SECRET (or one bare secret, named admin); secrets 16+ characters, "+
		"the file not world-readable and re-read when it changes; without it the read API is off")
	fs.StringVar(&cfg.SigningKey, "signing-key", "", "the collector's audit signing key `FILE`, made if missing (default: "+collector.KeyFileName+" beside a SQLite database; replicas on PostgreSQL share one)")
	fs.StringVar(&cfg.AlertsFile, "alerts", "", "alerts configuration `FILE` (YAML: webhooks, their events, HMAC secrets and format; see README \"Alerts\"); the file not world-readable")
	fs.BoolVar(&cfg.AllowUnsigned, "allow-unsigned", false, "accept reports without the agent's signature for hosts with no pinned key (migration aid for agents older than report signing)")
	fs.Int64Var(&cfg.MaxBody, "max-body", cfg.MaxBody, "largest report accepted, in `BYTES` after decompression")
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "reports per second allowed per enrollment token, per replica")
	fs.IntVar(&cfg.Burst, "burst", cfg.Burst, "reports an enrollment token may send in a burst, per replica")
	fs.IntVar(&cfg.MaxInflight, "max-inflight", cfg.MaxInflight, "reports read, decoded and stored at once; more wait a moment, then get 503 and Retry-After")
	fs.Int64Var(&cfg.MaxInflightBytes, "max-inflight-bytes", cfg.MaxInflightBytes, "`BYTES` of decompressed reports held at once (at least --max-body)")
	fs.DurationVar(&cfg.BodyTimeout, "body-timeout", cfg.BodyTimeout, "how long a report's body may take to arrive once it has a place (see --max-inflight); slower senders get 408")
	fs.DurationVar(&cfg.MaxFuture, "max-future", cfg.MaxFuture, "clock skew allowed: how far in the future a report's generated_at may be")
	fs.Var((*collector.Days)(&cfg.Retention), "retention", "keep report history this long (e.g. 400d, 9600h; 0 keeps everything)")
	fs.Var((*collector.Days)(&cfg.StaleAfter), "stale-after", "a host whose latest scan is this old is stale, however recently its report arrived (e.g. 48h, 3d)")
	level := logLevelFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("serve: unexpected argument %q", fs.Arg(0))
	}
	cfg.DB, cfg.Version = *db, version
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	return collector.Serve(ctx, cfg)
}
