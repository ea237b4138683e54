// Command avscout-collector is the reference collector of avscout: agents
// send it their reports; administrators and auditors read the fleet's
// state from it (HTTP API, export, dashboard).
//
// It runs with zero setup on an embedded SQLite file, or on PostgreSQL
// (--db postgres://…) as several stateless replicas behind a load
// balancer. This file only wires flags to internal/collector and
// internal/collector/store.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/avscout/avscout/internal/collector"
	"github.com/avscout/avscout/internal/collector/store"
)

// version is stamped at build time with -ldflags "-X main.version=…".
var version = "dev"

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the server or a command failed
	exitUsage = 2 // bad command line or configuration
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd, rest := "serve", args
	if len(args) > 0 && (len(args[0]) == 0 || args[0][0] != '-' || slices.Contains(helpArgs, args[0])) {
		cmd, rest = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = runServe(ctx, rest, stdout, stderr)
	case "token":
		err = runToken(ctx, rest, stdout, stderr)
	case "host":
		err = runHost(ctx, rest, stdout, stderr)
	case "audit":
		err = runAudit(ctx, rest, stdout, stderr)
	case "migrate":
		err = runMigrate(ctx, rest, stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "avscout-collector %s (schema %d)\n", version, store.KnownSchemaVersion())
	case "help", "-h", "--help", "-help", "-?":
		usage(stdout)
	default:
		fmt.Fprintf(stderr, "avscout-collector: unknown command %q\n\n", cmd)
		usage(stderr)
		return exitUsage
	}
	var ue usageError
	var ce *collector.ConfigError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return exitOK
	case errors.Is(err, errReported):
		return exitUsage
	case errors.As(err, &ue), errors.As(err, &ce):
		fmt.Fprintf(stderr, "avscout-collector: %v\n", err)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "avscout-collector: %v\n", err)
		return exitError
	}
}

var helpArgs = []string{"-h", "--help", "-help", "-?"}

// errReported marks an error already printed (by the flag package).
var errReported = errors.New("reported")

// usageError is a mistake in the command line or the configuration.
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

func usage(w io.Writer) {
	fmt.Fprint(w, `avscout-collector receives avscout agents' reports and serves the fleet's state.

Usage:
  avscout-collector [serve] [--listen ADDR] [--db PATH|postgres://…] [--admin-token-file FILE]
                    [--tls-cert FILE --tls-key FILE [--client-ca FILE]]
                    [--max-body BYTES] [--rate N] [--burst N] [--retention 400d] [--stale-after 48h]
                    [--max-inflight N] [--max-inflight-bytes BYTES] [--body-timeout 30s] [--max-future 5m]
                    [--allow-unsigned] [--signing-key FILE] [--alerts FILE] [--log-level debug|info|warn|error]
  avscout-collector token create --name NAME [--db …]   (prints the secret once)
  avscout-collector token list [--db …] [--json]
  avscout-collector token revoke [--db …] ID
  avscout-collector host show [--db …] [--json] HOST_ID   (its pinned key, the last refused key, the audit log)
  avscout-collector host rekey [--db …] HOST_ID --key ed25519:BASE64 | --clear
  avscout-collector audit export [--db …] [--signing-key FILE] --since T [--until T] --out FILE
  avscout-collector audit key [--db …] [--signing-key FILE]
  avscout-collector migrate [--db …]
  avscout-collector version

Agents POST reports to /v1/reports with an enrollment token, signed with
their own Ed25519 key: a host's first verified report pins its key, and
later reports of the host must carry it (403 key_mismatch otherwise) until
an administrator runs "host rekey" (audited). Unsigned reports are refused
unless --allow-unsigned, and then only for hosts with no pinned key.

Every stored report is chained (each entry's hash covers the one before,
the report's digest and its receipt time). "audit export" (or GET
/v1/audit/export?since=&until=) writes a tar bundle of a window's reports
as received, their agents' signatures, the access log and a manifest
signed with the collector's key (collector.key beside a SQLite database,
else --signing-key); "avscout verify BUNDLE" checks it offline.

The read API (/v1/hosts, /v1/hosts/{id}, /v1/summary, /v1/export),
POST /v1/hosts/{id}/rekey, /metrics and the dashboard need an admin
credential, as a bearer token or as the password of HTTP Basic
authentication. --admin-token-file holds one per line, NAME:SECRET; remove
a line to revoke it (re-read within seconds). After 5 failures a client
address waits, 1 s and doubling up to 5 min (429 with Retry-After).

--alerts names a YAML file of webhooks told when a host becomes restricted,
incomplete or unprotected, or recovers; alerts wait in the database until
delivered (see README "Alerts").

Exit codes: 0 success (and clean shutdown on SIGINT/SIGTERM); 1 failure;
2 usage or configuration error.
`)
}
