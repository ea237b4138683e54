// Package store keeps what the collector learns from its agents: every
// report as received, each host's current state derived from its latest
// report, the history of changes between reports, and the enrollment
// tokens agents authenticate with.
//
// One set of SQL serves two databases: embedded SQLite (pure Go, no cgo),
// so that a collector runs with zero setup, and PostgreSQL, so that
// several stateless collector replicas can share one database. The schema
// is versioned; [Open] applies pending migrations, serialised across
// replicas, and refuses a database newer than this code.
//
// Everything in a report is written by an agent and treated as hostile:
// it reaches SQL only as a bound parameter, and the store checks the
// lengths of the fields it indexes. The store does not validate reports
// against the JSON Schema nor authenticate HTTP requests; package collector
// does that before calling [Store.Ingest].
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Errors the store returns; test for them with [errors.Is].
var (
	// ErrNotFound: no such host (or token).
	ErrNotFound = errors.New("not found")
	// ErrConflict: a report with this id is stored with different content.
	ErrConflict = errors.New("report id already stored with different content")
	// ErrInvalid wraps a report or argument the store cannot accept; the
	// message names the field.
	ErrInvalid = errors.New("invalid")
	// ErrUnauthorized: the token secret is unknown or revoked.
	ErrUnauthorized = errors.New("unknown or revoked token")
	// ErrSchemaTooNew: the database was migrated by a newer collector.
	ErrSchemaTooNew = errors.New("database schema is newer than this collector")
)

// Options tune a [Store]. The zero value is usable.
type Options struct {
	Logger *slog.Logger // nil: discard
	// Now is the clock for stale hosts, retention and token times; nil
	// means time.Now.
	Now func() time.Time
	// MaxConns bounds PostgreSQL connections (default 10) and SQLite
	// reader connections (default 4). SQLite always has one writer.
	MaxConns int
	// TokenCacheTTL is how long valid token hashes are cached in memory
	// (default 2s). A revocation takes effect on every replica within it.
	TokenCacheTTL time.Duration
	// AlertRoutes say which webhooks get an alert of which host state
	// changes (see [AlertRoute]); none queues no alerts.
	AlertRoutes []AlertRoute
}

// Store is the collector's database. It is safe for concurrent use.
type Store struct {
	dialect dialect
	w       *sql.DB // writes; for SQLite, a single connection
	r       *sql.DB // reads; the same as w for PostgreSQL
	log     *slog.Logger
	now     func() time.Time
	// dbClock: the chains' times come from the database server's clock
	// (PostgreSQL, shared by every replica and by `audit export` run from
	// another machine) rather than from this process's. Options.Now, a
	// test's clock, turns it off.
	dbClock bool

	tokenTTL time.Duration
	tokMu    sync.Mutex
	tokens   []tokenHash // valid tokens, loaded at tokLoaded
	tokAt    time.Time

	// Reports waiting for a writer (see [Store.Ingest]); closed, under
	// qmu, by Close.
	queue   chan *pending
	qmu     sync.RWMutex
	qclosed bool
	writers sync.WaitGroup
	// When this replica last wrote each token's last_used_at.
	tokUseMu sync.Mutex
	tokUsed  map[string]int64
	// The webhooks subscribed to each alert event (outbox.go).
	alertRoutes map[string][]string
}

// dialect holds the little that differs between the two databases.
type dialect struct {
	name      string // "sqlite" or "postgres"
	bytesType string // column type for byte strings
	forUpdate string // row-lock clause for SELECT in a transaction
	bytewise  string // collation clause that sorts text by bytes
}

var (
	sqliteDialect   = dialect{name: "sqlite", bytesType: "BLOB"}
	postgresDialect = dialect{name: "postgres", bytesType: "BYTEA", forUpdate: " FOR UPDATE", bytewise: `COLLATE "C"`}
)

const (
	closeTimeout    = 5 * time.Second
	sqliteBusyMS    = 10000
	defaultPGConns  = 10
	defaultReaders  = 4
	defaultTokenTTL = 2 * time.Second
)

// IsPostgres reports whether dsn names a PostgreSQL database rather than
// a SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens the database dsn and brings its schema up to date. A dsn
// starting with postgres:// or postgresql:// is a PostgreSQL connection
// URL; anything else is a SQLite file path, a "file:" URI, or ":memory:".
// A new SQLite file is created readable by its owner only.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	s := &Store{log: opts.Logger, now: opts.Now, tokenTTL: opts.TokenCacheTTL}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
		s.dbClock = IsPostgres(dsn)
	}
	if s.tokenTTL <= 0 {
		s.tokenTTL = defaultTokenTTL
	}
	var err error
	if s.alertRoutes, err = alertRoutes(opts.AlertRoutes); err != nil {
		return nil, err
	}
	if IsPostgres(dsn) {
		err = s.openPostgres(dsn, opts.MaxConns)
	} else {
		err = s.openSQLite(dsn, opts.MaxConns)
	}
	if err != nil {
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	writers := sqliteWriters
	if s.dialect.name == "postgres" {
		writers = postgresWriters
	}
	s.startWriters(writers)
	return s, nil
}

func (s *Store) openPostgres(dsn string, maxConns int) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's message may quote the DSN, password included: do not wrap it.
		return fmt.Errorf("parsing PostgreSQL URL %s: invalid connection string", RedactDSN(dsn))
	}
	if maxConns <= 0 {
		maxConns = defaultPGConns
	}
	// The collector's reads are short and paged: a parallel plan's worker
	// start-up costs more than it saves (a host list filtered by tag took
	// 400 ms with two workers, 10 ms without, at 100,000 hosts), and
	// workers would crowd out the other replicas' queries. The URL's own
	// max_parallel_workers_per_gather parameter, if given, still wins.
	if _, set := cfg.RuntimeParams["max_parallel_workers_per_gather"]; !set {
		cfg.RuntimeParams["max_parallel_workers_per_gather"] = "0"
	}
	db := sql.OpenDB(&pgConnector{cfg: cfg})
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s.dialect, s.w, s.r = postgresDialect, db, db
	return nil
}

func (s *Store) openSQLite(dsn string, readers int) error {
	if dsn == "" {
		return fmt.Errorf("opening SQLite database: %w: empty path", ErrInvalid)
	}
	if readers <= 0 {
		readers = defaultReaders
	}
	s.dialect = sqliteDialect
	pragmas := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)", sqliteBusyMS)
	if dsn == ":memory:" {
		// Every connection to :memory: is a new database: use just one.
		db, err := sql.Open("sqlite", "file::memory:?"+pragmas)
		if err != nil {
			return fmt.Errorf("opening SQLite in-memory database: %w", err)
		}
		db.SetMaxOpenConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
		s.w, s.r = db, db
		return nil
	}
	base, sep := dsn, "?"
	if strings.HasPrefix(dsn, "file:") {
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
	} else {
		if strings.ContainsAny(dsn, "?#") {
			return fmt.Errorf("opening SQLite database %q: %w: a path with ? or # must be given as a file: URI", dsn, ErrInvalid)
		}
		if err := createPrivate(dsn); err != nil {
			return err
		}
	}
	w, err := sql.Open("sqlite", base+sep+pragmas+"&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return fmt.Errorf("opening SQLite database %s: %w", dsn, err)
	}
	w.SetMaxOpenConns(1) // SQLite has one writer; queue here, not on busy_timeout
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	// The writer's first connection sets WAL mode, which readers need.
	// Replicas opening a new file at once race to switch its journal
	// mode, and SQLite answers that switch "busy" without waiting out
	// busy_timeout: retry it for as long.
	err = w.Ping()
	for deadline := time.Now().Add(sqliteBusyMS * time.Millisecond); err != nil && isBusy(err) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		err = w.Ping()
	}
	if err != nil {
		w.Close()
		return fmt.Errorf("opening SQLite database %s: %w", dsn, err)
	}
	r, err := sql.Open("sqlite", base+sep+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return fmt.Errorf("opening SQLite database %s: %w", dsn, err)
	}
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	s.w, s.r = w, r
	return nil
}

// isBusy reports whether err is SQLite's SQLITE_BUSY ("database is
// locked").
func isBusy(err error) bool {
	return strings.Contains(err.Error(), "SQLITE_BUSY")
}

// createPrivate creates the SQLite file path with mode 0600 unless it
// exists; SQLite gives its -wal and -shm files the same mode.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		return f.Close()
	case errors.Is(err, fs.ErrExist):
		return nil
	default:
		return fmt.Errorf("creating SQLite database %s: %w", path, err)
	}
}

// Close stores the reports already handed to [Store.Ingest] and closes
// the database.
func (s *Store) Close() error {
	if s.queue != nil {
		s.stopWriters()
	}
	err := s.w.Close()
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("pinging %s database: %w", s.dialect.name, err)
	}
	return nil
}

// Dialect names the database behind the store: "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect.name }

// RedactDSN returns dsn with any password replaced by "xxxxx", for logs.
func RedactDSN(dsn string) string {
	if !IsPostgres(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://(unparsable)"
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// micros converts t to the stored form: Unix microseconds.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros converts a stored time back, in UTC.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// rollback ends tx after a failure or an outcome that stores nothing.
func rollback(tx *sql.Tx) { _ = tx.Rollback() }
