package rpm

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// collectWithin runs collect and fails the test if it does not finish in
// time, as a scan waiting for a lock would not.
func collectWithin(t *testing.T, root string, want int) {
	t.Helper()
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		obs, err := collect(t, root)
		done <- result{len(obs), err}
	}()
	select {
	case r := <-done:
		if r.err != nil || r.n != want {
			t.Errorf("%d observations, %v; want %d", r.n, r.err, want)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the scan waits for the lock rpm holds")
	}
}

// TestIgnoresFlock: while rpm holds its exclusive flock on an ndb or
// Berkeley DB file (a transaction in progress), a scan still reads it,
// neither waiting for the lock nor needing one. go-rpmdb's ndb reader
// would block here, in flock(LOCK_SH).
func TestIgnoresFlock(t *testing.T) {
	for name, tc := range map[string]struct {
		at, src string
		want    int
	}{
		"ndb": {"usr/lib/sysimage/rpm/Packages.db", sample(t, "sle15-bci/Packages.db"), 35},
		"bdb": {"var/lib/rpm/Packages", sample(t, "centos7-plain/Packages"), 144},
	} {
		t.Run(name, func(t *testing.T) {
			root := newRoot(t, map[string]string{tc.at: tc.src})
			path := filepath.Join(root, filepath.FromSlash(tc.at))
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
				t.Fatal(err)
			}
			// The lock is real: a shared lock cannot be had now.
			g, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			if err := syscall.Flock(int(g.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != syscall.EWOULDBLOCK {
				t.Fatalf("flock(LOCK_SH) = %v, want EWOULDBLOCK", err)
			}
			collectWithin(t, root, tc.want)
		})
	}
}

// lockHelperEnv makes the test binary a helper process that holds a POSIX
// write lock on a file, as SQLite does while it writes, until its stdin
// closes. POSIX locks do not conflict within one process, so the lock
// must come from another.
const lockHelperEnv = "AVSCOUT_RPM_TEST_LOCK"

func init() {
	path := os.Getenv(lockHelperEnv)
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err == nil {
		err = syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &syscall.Flock_t{Type: syscall.F_WRLCK})
	}
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	// Hold the lock until the test closes stdin (or writes a line).
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil && !errors.Is(err, io.EOF) {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// TestIgnoresSQLiteLocks: while another process holds a write lock over
// the whole sqlite database, a normal SQLite reader fails ("database is
// locked"), and the scan, reading it as immutable, still succeeds.
func TestIgnoresSQLiteLocks(t *testing.T) {
	rpmBuilt := filepath.Dir(specDB(t))
	root := newRoot(t, map[string]string{
		sqlitePath:          filepath.Join(rpmBuilt, "rpmdb.sqlite"),
		sqlitePath + "-shm": filepath.Join(rpmBuilt, "rpmdb.sqlite-shm"),
		sqlitePath + "-wal": filepath.Join(rpmBuilt, "rpmdb.sqlite-wal"),
	})
	path := filepath.Join(root, filepath.FromSlash(sqlitePath))

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), lockHelperEnv+"="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "locked\n" {
		t.Fatalf("lock helper: %q, %v", line, err)
	}

	// Sanity: the lock stops a reader that honours locks.
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var n int
	err = db.QueryRowContext(ctx, "SELECT count(*) FROM Packages").Scan(&n)
	if err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("a locking reader got %d packages, %v; want database is locked", n, err)
	}
	db.Close()

	collectWithin(t, root, len(wantSpecs))
}
