package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/avscout/avscout/internal/collector/admin"
)

// parseInterspersed parses fs from args, allowing flags after the
// positional arguments ("host rekey HOST --clear"), and returns the
// positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parse(fs, args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// hostSynopsis is the usage line of each host subcommand.
var hostSynopsis = map[string]string{
	"show":  "  avscout-collector host show [--db PATH|postgres://…] [--json] HOST_ID   (its pinned key, the last refused key, the audit log)",
	"rekey": "  avscout-collector host rekey [--db PATH|postgres://…] HOST_ID --key ed25519:BASE64 | --clear",
}

func runHost(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("host: want show or rekey")
	}
	sub, args := args[0], args[1:]
	if isHelp(sub) {
		subUsage(stdout, hostSynopsis["show"], hostSynopsis["rekey"])
		return nil
	}
	fs := newFlags("host "+sub, hostSynopsis[sub], args, stdout, stderr)
	db := dbFlag(fs)
	switch sub {
	case "show":
		asJSON := fs.Bool("json", false, "print JSON")
		pos, err := parseInterspersed(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usagef("usage: host show [--db …] [--json] HOST_ID")
		}
		st, err := admin.Open(ctx, *db, warnLog(stderr))
		if err != nil {
			return err
		}
		defer st.Close()
		v, err := admin.ShowHost(ctx, st, pos[0])
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(v)
		}
		v.WriteText(stdout)
		return nil
	case "rekey":
		key := fs.String("key", "", "pin this agent key to the host: `ed25519:BASE64` (the agent's public key)")
		clear := fs.Bool("clear", false, "clear the host's pin: its next verified report pins its key")
		pos, err := parseInterspersed(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 || (*key == "") == !*clear {
			return usagef("usage: host rekey [--db …] HOST_ID --key ed25519:BASE64 | --clear")
		}
		rk, err := admin.NewRekey(pos[0], *key, admin.CLICredential())
		if err != nil {
			return usageError{err}
		}
		st, err := admin.Open(ctx, *db, warnLog(stderr))
		if err != nil {
			return err
		}
		defer st.Close()
		r, err := admin.Rekey(ctx, st, rk, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, r)
		return nil
	default:
		return usagef("host: unknown subcommand %q (want show or rekey)", sub)
	}
}
