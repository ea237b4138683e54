// Package admin holds the collector's one-off administrative commands on
// its database: enrollment tokens, host keys (show, rekey) and schema
// migration. It exists so that the avscout-collector command only parses
// flags and prints, and these operations can be tested on a real
// database without running the binary.
package admin

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/user"

	"github.com/avscout/avscout/internal/collector/store"
)

// Open opens the database at dsn (a SQLite path or a postgres:// URL)
// for a one-off command. Opening applies pending schema migrations.
func Open(ctx context.Context, dsn string, log *slog.Logger) (*store.Store, error) {
	st, err := store.Open(ctx, dsn, store.Options{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %w", store.RedactDSN(dsn), err)
	}
	return st, nil
}

// Schema is a database's dialect and schema version after [Migrate].
type Schema struct {
	Dialect string // "sqlite" or "postgres"
	DSN     string // redacted: no password
	Version int
}

func (s Schema) String() string {
	return fmt.Sprintf("%s database %s at schema version %d", s.Dialect, s.DSN, s.Version)
}

// Migrate applies the pending schema migrations of the database at dsn
// and returns its schema.
func Migrate(ctx context.Context, dsn string, log *slog.Logger) (Schema, error) {
	st, err := Open(ctx, dsn, log) // Open applies pending migrations
	if err != nil {
		return Schema{}, err
	}
	defer st.Close()
	v, err := st.SchemaVersion(ctx)
	if err != nil {
		return Schema{}, err
	}
	return Schema{Dialect: st.Dialect(), DSN: store.RedactDSN(dsn), Version: v}, nil
}

// CLICredential names the person at the command line in the audit log:
// "cli:" and the OS user ("cli" when it is unknown).
func CLICredential() string {
	name := ""
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if name == "" {
		name = os.Getenv("USER")
	}
	if name == "" {
		return "cli"
	}
	return "cli:" + name
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
