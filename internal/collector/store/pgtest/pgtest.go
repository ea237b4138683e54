// Package pgtest gives tests a real PostgreSQL database: it starts a
// throwaway server from the installed PostgreSQL binaries (Debian package
// postgresql: /usr/lib/postgresql/*/bin) in a temporary directory, on a
// unix socket there and on 127.0.0.1, and hands each test a fresh empty
// database. With AVSCOUT_TEST_POSTGRES set to a connection URL it uses
// that server instead (the user must be allowed to CREATE DATABASE).
//
// It never skips: when no server can be had, the test fails and says
// what to install. The throwaway server runs with fsync off; it is for
// tests only.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN names the environment variable that points the tests at an
// existing server instead of starting one.
const EnvDSN = "AVSCOUT_TEST_POSTGRES"

const startTimeout = 60 * time.Second

// Server is a PostgreSQL server for one test binary, started on first use.
// Declare one in the test package and stop it in TestMain:
//
//	var pg = pgtest.New()
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		pg.Stop()
//		os.Exit(code)
//	}
type Server struct {
	once     sync.Once
	adminDSN string // connects to the "postgres" database
	err      error
	cmd      *exec.Cmd
	exited   chan struct{}
	dir      string
	log      string
	n        atomic.Int64
}

// New returns a server that starts when [Server.DSN] is first called.
func New() *Server { return &Server{} }

// DSN creates an empty database for t and returns its postgres:// URL.
// The database is dropped when t ends. It fails t when no server can be
// started.
func (s *Server) DSN(t testing.TB) string {
	t.Helper()
	s.once.Do(func() { s.err = s.start() })
	if s.err != nil {
		t.Fatalf("PostgreSQL for tests: %v\n"+
			"Install the Debian package postgresql (initdb and postgres under /usr/lib/postgresql/*/bin), "+
			"or set %s to the URL of a server where the user may CREATE DATABASE.", s.err, EnvDSN)
	}
	name := fmt.Sprintf("avscout_test_%d_%d_%s", os.Getpid(), s.n.Add(1), randomHex(3))
	if err := s.admin(fmt.Sprintf(`CREATE DATABASE %q`, name)); err != nil {
		t.Fatalf("PostgreSQL for tests: creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := s.admin(fmt.Sprintf(`DROP DATABASE IF EXISTS %q WITH (FORCE)`, name)); err != nil {
			t.Errorf("PostgreSQL for tests: dropping database %s: %v", name, err)
		}
	})
	u, err := url.Parse(s.adminDSN)
	if err != nil {
		t.Fatalf("PostgreSQL for tests: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// admin runs one statement in the "postgres" database.
func (s *Server) admin(stmt string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.adminDSN)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, stmt)
	return err
}

// Stop stops the server if this package started it and removes its files.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil { // "fast" shutdown
		_ = s.cmd.Process.Kill()
	}
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	_ = os.RemoveAll(s.dir)
	s.cmd = nil
}

func (s *Server) start() error {
	if dsn := os.Getenv(EnvDSN); dsn != "" {
		if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
			return fmt.Errorf("%s must be a postgres:// URL", EnvDSN)
		}
		s.adminDSN = dsn
		if err := s.admin("SELECT 1"); err != nil {
			return fmt.Errorf("connecting to %s: %w", EnvDSN, err)
		}
		return nil
	}
	bin, err := findBinaries()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "avscout-pgtest-")
	if err != nil {
		return err
	}
	s.dir = dir
	if err := s.startIn(dir, bin); err != nil {
		s.Stop()
		_ = os.RemoveAll(dir)
		return err
	}
	return nil
}

func (s *Server) startIn(dir, bin string) error {
	attr, err := procAttr(dir)
	if err != nil {
		return err
	}
	password := randomHex(16)
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(password+"\n"), 0o600); err != nil {
		return err
	}
	if err := chown(pwfile, attr); err != nil {
		return err
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C", "TZ=UTC"}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "avscout", "--pwfile", pwfile,
		"--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync")
	initdb.Dir, initdb.Env, initdb.SysProcAttr = dir, env, attr
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	s.log = filepath.Join(dir, "postgres.log")
	logf, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	s.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-k", dir, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=200", "-c", "shared_buffers=64MB")
	s.cmd.Dir, s.cmd.Env, s.cmd.SysProcAttr = dir, env, attr
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		s.cmd = nil
		return fmt.Errorf("starting postgres: %w", err)
	}
	s.exited = make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	s.adminDSN = fmt.Sprintf("postgres://avscout:%s@127.0.0.1:%d/postgres?sslmode=disable", password, port)

	deadline := time.Now().Add(startTimeout)
	for {
		err := s.admin("SELECT 1")
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			s.cmd = nil
			return fmt.Errorf("postgres exited while starting:\n%s", s.logTail())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready after %v: %w\n%s", startTimeout, err, s.logTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(s.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// findBinaries returns the directory holding initdb and postgres: the
// newest /usr/lib/postgresql/*/bin, else the one on PATH.
func findBinaries() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	for _, d := range dirs {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		d := filepath.Dir(p)
		if isExecutable(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", errors.New("initdb and postgres not found under /usr/lib/postgresql/*/bin nor on PATH")
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
