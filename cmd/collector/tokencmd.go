package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/avscout/avscout/internal/collector/admin"
	"github.com/avscout/avscout/internal/collector/store"
)

// warnLog is the logger of a one-off command: warnings and errors only.
func warnLog(stderr io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// tokenSynopsis is the usage line of each token subcommand.
var tokenSynopsis = map[string]string{
	"create": "  avscout-collector token create --name NAME [--db PATH|postgres://…]   (prints the secret once)",
	"list":   "  avscout-collector token list [--db PATH|postgres://…] [--json]",
	"revoke": "  avscout-collector token revoke [--db PATH|postgres://…] ID",
}

func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("token: want create, list or revoke")
	}
	sub, args := args[0], args[1:]
	if isHelp(sub) {
		subUsage(stdout, tokenSynopsis["create"], tokenSynopsis["list"], tokenSynopsis["revoke"])
		return nil
	}
	fs := newFlags("token "+sub, tokenSynopsis[sub], args, stdout, stderr)
	db := dbFlag(fs)
	switch sub {
	case "create":
		name := fs.String("name", "", "`NAME`: what the token is for, e.g. a site or an MDM (required)")
		if err := parse(fs, args); err != nil {
			return err
		}
		if *name == "" || fs.NArg() > 0 {
			return usagef("usage: token create --name NAME [--db …]")
		}
		st, err := admin.Open(ctx, *db, warnLog(stderr))
		if err != nil {
			return err
		}
		defer st.Close()
		id, secret, err := st.CreateToken(ctx, *name)
		if errors.Is(err, store.ErrInvalid) {
			return usageError{err}
		} else if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "id:     %s\nname:   %s\nsecret: %s\n", id, *name, secret)
		fmt.Fprintln(stderr, "Give the secret to the agents' configuration now: it is not stored and cannot be shown again.")
		return nil
	case "list":
		asJSON := fs.Bool("json", false, "print JSON")
		if err := parse(fs, args); err != nil {
			return err
		}
		if fs.NArg() > 0 {
			return usagef("usage: token list [--db …] [--json]")
		}
		st, err := admin.Open(ctx, *db, warnLog(stderr))
		if err != nil {
			return err
		}
		defer st.Close()
		tokens, err := st.ListTokens(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(tokens)
		}
		return admin.WriteTokens(stdout, tokens)
	case "revoke":
		if err := parse(fs, args); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return usagef("usage: token revoke [--db …] ID")
		}
		st, err := admin.Open(ctx, *db, warnLog(stderr))
		if err != nil {
			return err
		}
		defer st.Close()
		if err := st.RevokeToken(ctx, fs.Arg(0)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked %s (every collector refuses it within seconds)\n", fs.Arg(0))
		return nil
	default:
		return usagef("token: unknown subcommand %q (want create, list or revoke)", sub)
	}
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", "  avscout-collector migrate [--db PATH|postgres://…]\n\nApplies the database's pending schema migrations.", args, stdout, stderr)
	db := dbFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("migrate: unexpected argument %q", fs.Arg(0))
	}
	s, err := admin.Migrate(ctx, *db, warnLog(stderr))
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, s)
	return nil
}
