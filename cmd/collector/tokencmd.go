package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/avscout/avscout/internal/collector/store"
)

// openStore opens the database for a one-off command, logging at warn.
func openStore(ctx context.Context, dsn string, stderr io.Writer) (*store.Store, error) {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := store.Open(ctx, dsn, store.Options{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %w", store.RedactDSN(dsn), err)
	}
	return st, nil
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
		st, err := openStore(ctx, *db, stderr)
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
		st, err := openStore(ctx, *db, stderr)
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
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tCREATED\tLAST USED\tSTATUS")
		for _, t := range tokens {
			status := "valid"
			if t.Revoked() {
				status = "revoked " + t.RevokedAt.Format(time.RFC3339)
			}
			used := "never"
			if !t.LastUsed.IsZero() {
				used = t.LastUsed.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%q\t%s\t%s\t%s\n", t.ID, t.Name, t.CreatedAt.Format(time.RFC3339), used, status)
		}
		return tw.Flush()
	case "revoke":
		if err := parse(fs, args); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return usagef("usage: token revoke [--db …] ID")
		}
		st, err := openStore(ctx, *db, stderr)
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
	st, err := openStore(ctx, *db, stderr) // Open applies pending migrations
	if err != nil {
		return err
	}
	defer st.Close()
	v, err := st.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s database %s at schema version %d\n", st.Dialect(), store.RedactDSN(*db), v)
	return nil
}

func knownSchema() int { return store.KnownSchemaVersion() }
