package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// This file adapts a pgx connection to database/sql, so that one set of
// queries serves SQLite and PostgreSQL and database/sql does the pooling.
// (pgx's own adapter, pgx/v5/stdlib, pulls in a pool module this repository
// does not carry.) Only what the store uses is supported: ordinal
// arguments of the database/sql basic types, and transactions at the
// default isolation level or read-only.

// pgConnector opens pgx connections for a [database/sql.DB].
type pgConnector struct {
	cfg *pgx.ConnConfig
}

var (
	_ driver.Connector                      = (*pgConnector)(nil)
	_ driver.Conn                           = (*pgConn)(nil)
	_ driver.ConnBeginTx                    = (*pgConn)(nil)
	_ driver.ExecerContext                  = (*pgConn)(nil)
	_ driver.QueryerContext                 = (*pgConn)(nil)
	_ driver.Pinger                         = (*pgConn)(nil)
	_ driver.SessionResetter                = (*pgConn)(nil)
	_ driver.Validator                      = (*pgConn)(nil)
	_ driver.Rows                           = (*pgRows)(nil)
	_ driver.StmtExecContext                = (*pgStmt)(nil)
	_ driver.StmtQueryContext               = (*pgStmt)(nil)
	_ driver.Tx                             = pgTx{}
	_ driver.Driver                         = pgDriver{}
	_ driver.RowsColumnTypeDatabaseTypeName = (*pgRows)(nil)
)

func (c *pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, c.cfg.Copy())
	if err != nil {
		return nil, err
	}
	return &pgConn{conn: conn}, nil
}

func (c *pgConnector) Driver() driver.Driver { return pgDriver{} }

// pgDriver exists because a Connector must name a Driver; the store never
// opens connections by name.
type pgDriver struct{}

func (pgDriver) Open(string) (driver.Conn, error) {
	return nil, errors.New("postgres: open through the store's connector")
}

// pgConn is one PostgreSQL session. database/sql uses it from one
// goroutine at a time.
type pgConn struct {
	conn *pgx.Conn
}

func (c *pgConn) Prepare(query string) (driver.Stmt, error) {
	return &pgStmt{c: c, query: query}, nil
}

func (c *pgConn) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	return c.conn.Close(ctx)
}

func (c *pgConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *pgConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	var o pgx.TxOptions
	if opts.ReadOnly {
		o.AccessMode = pgx.ReadOnly
	}
	switch opts.Isolation {
	case driver.IsolationLevel(0): // default
	case driver.IsolationLevel(6): // sql.LevelSerializable
		o.IsoLevel = pgx.Serializable
	default:
		return nil, fmt.Errorf("postgres: unsupported isolation level %d", opts.Isolation)
	}
	tx, err := c.conn.BeginTx(ctx, o)
	if err != nil {
		return nil, badConn(err)
	}
	return pgTx{tx}, nil
}

func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	tag, err := c.conn.Exec(ctx, query, values(args)...)
	if err != nil {
		return nil, badConn(err)
	}
	return pgResult(tag.RowsAffected()), nil
}

func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := c.conn.Query(ctx, query, values(args)...)
	if err != nil {
		return nil, badConn(err)
	}
	return &pgRows{rows: rows}, nil
}

func (c *pgConn) Ping(ctx context.Context) error {
	return badConn(c.conn.Ping(ctx))
}

func (c *pgConn) ResetSession(context.Context) error {
	if c.conn.IsClosed() {
		return driver.ErrBadConn
	}
	return nil
}

func (c *pgConn) IsValid() bool { return !c.conn.IsClosed() }

// badConn turns an error that happened before anything reached the server
// into driver.ErrBadConn, so database/sql retries on another connection.
func badConn(err error) error {
	if err != nil && pgconn.SafeToRetry(err) {
		return driver.ErrBadConn
	}
	return err
}

func values(args []driver.NamedValue) []any {
	v := make([]any, len(args))
	for i, a := range args {
		v[i] = a.Value
	}
	return v
}

type pgResult int64

func (r pgResult) LastInsertId() (int64, error) {
	return 0, errors.New("postgres: LastInsertId is not supported; use RETURNING")
}

func (r pgResult) RowsAffected() (int64, error) { return int64(r), nil }

type pgTx struct{ tx pgx.Tx }

func (t pgTx) Commit() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	return t.tx.Commit(ctx)
}

func (t pgTx) Rollback() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	return t.tx.Rollback(ctx)
}

// pgStmt is a query waiting for its arguments; pgx prepares and caches
// statements per connection itself.
type pgStmt struct {
	c     *pgConn
	query string
}

func (s *pgStmt) Close() error  { return nil }
func (s *pgStmt) NumInput() int { return -1 }

func (s *pgStmt) Exec([]driver.Value) (driver.Result, error) {
	return nil, errors.New("postgres: use ExecContext")
}

func (s *pgStmt) Query([]driver.Value) (driver.Rows, error) {
	return nil, errors.New("postgres: use QueryContext")
}

func (s *pgStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.c.ExecContext(ctx, s.query, args)
}

func (s *pgStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.c.QueryContext(ctx, s.query, args)
}

type pgRows struct {
	rows pgx.Rows
	cols []string
}

func (r *pgRows) Columns() []string {
	if r.cols == nil {
		fds := r.rows.FieldDescriptions()
		r.cols = make([]string, len(fds))
		for i, fd := range fds {
			r.cols[i] = fd.Name
		}
	}
	return r.cols
}

func (r *pgRows) ColumnTypeDatabaseTypeName(i int) string {
	fds := r.rows.FieldDescriptions()
	if i < 0 || i >= len(fds) {
		return ""
	}
	if t, ok := r.rows.Conn().TypeMap().TypeForOID(fds[i].DataTypeOID); ok {
		return t.Name
	}
	return ""
}

func (r *pgRows) Close() error {
	r.rows.Close()
	return r.rows.Err()
}

func (r *pgRows) Next(dest []driver.Value) error {
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return io.EOF
	}
	vals, err := r.rows.Values()
	if err != nil {
		return err
	}
	for i, v := range vals {
		if i >= len(dest) {
			break
		}
		dest[i], err = driverValue(v)
		if err != nil {
			return fmt.Errorf("postgres: column %s: %w", r.Columns()[i], err)
		}
	}
	return nil
}

// driverValue turns what pgx decodes into one of database/sql's basic
// types.
func driverValue(v any) (driver.Value, error) {
	switch x := v.(type) {
	case nil, int64, float64, bool, []byte, string:
		return x, nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case float32:
		return float64(x), nil
	case pgtype.Numeric:
		if !x.Valid {
			return nil, nil
		}
		f, err := x.Float64Value()
		if err != nil {
			return nil, err
		}
		if f.Float64 == math.Trunc(f.Float64) && math.Abs(f.Float64) < 1<<53 {
			return int64(f.Float64), nil
		}
		return f.Float64, nil
	default:
		if driver.IsValue(v) {
			return v, nil
		}
		return nil, fmt.Errorf("unsupported type %T", v)
	}
}
