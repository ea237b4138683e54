package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// migrationFiles are the schema's versions, numbered from 1 in their names
// (0001_init.sql, 0002_….sql); they are written for both dialects, with
// {{bytes}} standing for the byte-string column type and {{bytewise}}
// for the collation that sorts by bytes. A released file is
// never edited: change the schema by adding the next one.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLock is the PostgreSQL advisory lock key that serialises
// migrations across replicas starting at once.
const migrationLock int64 = 0x61767363_6f757401 // "avscout" + 1

type migration struct {
	version int
	name    string
	sql     string
	// after runs in the migration's transaction right after its SQL: for
	// what SQL cannot do, such as reading the compressed reports.
	after func(ctx context.Context, tx *sql.Tx) error
}

// afterMigration holds the Go steps of migrations, by version.
var afterMigration = map[int]func(ctx context.Context, tx *sql.Tx) error{
	2:              backfillVerdicts,
	chainMigration: backfillChain,
}

// migrations returns the embedded migrations in version order, checking
// that versions run 1, 2, 3… without gaps.
func migrations(d dialect) ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("reading embedded migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and _", e.Name())
		}
		b, err := migrationFiles.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("reading migration %s: %w", e.Name(), err)
		}
		text := strings.NewReplacer("{{bytes}}", d.bytesType, "{{bytewise}}", d.bytewise).Replace(string(b))
		ms = append(ms, migration{version: v, name: e.Name(), sql: text, after: afterMigration[v]})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: expected version %d", m.name, i+1)
		}
	}
	return ms, nil
}

// migrate applies the pending migrations in one transaction. On
// PostgreSQL a transaction-scoped advisory lock makes concurrent replicas
// wait for each other; on SQLite the writer's BEGIN IMMEDIATE does.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations(s.dialect)
	if err != nil {
		return err
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrating %s database: %w", s.dialect.name, err)
	}
	defer rollback(tx)
	if s.dialect.name == "postgres" {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLock); err != nil {
			return fmt.Errorf("migrating: taking the migration lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("migrating: creating schema_migrations: %w", err)
	}
	current, err := schemaVersion(ctx, tx)
	if err != nil {
		return err
	}
	if current > len(ms) {
		return fmt.Errorf("%w: database at version %d, this collector knows up to %d", ErrSchemaTooNew, current, len(ms))
	}
	for _, m := range ms[current:] {
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("applying migration %s: %w", m.name, err)
		}
		if m.after != nil {
			if err := m.after(ctx, tx); err != nil {
				return fmt.Errorf("applying migration %s: %w", m.name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
			m.version, m.name, micros(s.now())); err != nil {
			return fmt.Errorf("recording migration %s: %w", m.name, err)
		}
		s.log.Info("applied migration", "version", m.version, "name", m.name, "db", s.dialect.name)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrating: committing: %w", err)
	}
	return nil
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func schemaVersion(ctx context.Context, q queryer) (int, error) {
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("reading schema version: %w", err)
	}
	return int(v.Int64), nil
}

// SchemaVersion returns the version of the database's schema.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	return schemaVersion(ctx, s.r)
}

// KnownSchemaVersion returns the newest schema version this code knows.
func KnownSchemaVersion() int {
	ms, err := migrations(sqliteDialect)
	if err != nil {
		return 0
	}
	return len(ms)
}
