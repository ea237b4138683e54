package spool

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/report/reporttest"
)

// TestMain lets the tests re-run this binary as a child process (for
// cross-process locking, crash and resource-limit tests): the child's
// role is in SPOOL_TEST_CHILD.
func TestMain(m *testing.M) {
	if role := os.Getenv("SPOOL_TEST_CHILD"); role != "" {
		runChild(role, os.Getenv("SPOOL_TEST_DIR"))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runChild(role, dir string) {
	switch role {
	case "lock":
		s, err := Open(dir, Limits{}, nil)
		if err != nil {
			fmt.Println("error", err)
			os.Exit(3)
		}
		fmt.Println("locked")
		_, _ = io.Copy(io.Discard, os.Stdin) // hold the lock until the parent closes stdin
		s.Close()
	case "crash":
		crashChild(dir)
	default:
		if !osChild(role, dir) {
			fmt.Println("error unknown child role", role)
			os.Exit(3)
		}
	}
}

func open(t testing.TB, dir string, lim Limits) *Spool {
	t.Helper()
	s, err := Open(dir, lim, nil)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func put(t testing.TB, s *Spool, id string, gz []byte) []string {
	t.Helper()
	dropped, err := s.Put(id, gz)
	if err != nil {
		t.Fatalf("Put(%s): %v", id, err)
	}
	return dropped
}

func pendingIDs(t testing.TB, s *Spool) []string {
	t.Helper()
	es, err := s.Pending()
	if err != nil {
		t.Fatalf("Pending: %v", err)
	}
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.ID
	}
	return ids
}

// tempFiles lists the temporary files in dir and its dead-letter folder.
func tempFiles(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	for _, d := range []string{dir, filepath.Join(dir, deadDir)} {
		des, err := os.ReadDir(d)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		for _, de := range des {
			if strings.HasPrefix(de.Name(), tmpPrefix) {
				out = append(out, filepath.Join(d, de.Name()))
			}
		}
	}
	return out
}

func TestPutPendingReadDelete(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	s := open(t, dir, Limits{})
	ids := []string{report.NewID(), report.NewID(), report.NewID()}
	data := map[string][]byte{}
	for _, id := range ids {
		data[id] = reporttest.Gzip(t, id, 100)
		if d := put(t, s, id, data[id]); len(d) != 0 {
			t.Fatalf("Put dropped %v from an empty spool", d)
		}
	}
	es, err := s.Pending()
	if err != nil {
		t.Fatal(err)
	}
	if got := pendingIDs(t, s); !slices.Equal(got, ids) {
		t.Fatalf("Pending = %v, want put order %v", got, ids)
	}
	for i, e := range es {
		if e.Size != int64(len(data[e.ID])) {
			t.Errorf("%s: Size = %d, want %d", e.ID, e.Size, len(data[e.ID]))
		}
		if i > 0 && !e.Queued.After(es[i-1].Queued) {
			t.Errorf("%s: Queued %v not after the previous entry's %v", e.ID, e.Queued, es[i-1].Queued)
		}
	}
	for _, id := range ids {
		got, err := s.Read(id)
		if err != nil {
			t.Fatalf("Read(%s): %v", id, err)
		}
		if !bytes.Equal(got, data[id]) {
			t.Fatalf("Read(%s) returned other bytes than were put", id)
		}
	}

	// Files private, nothing temporary left.
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("spool dir mode = %v (%v), want 0700", fi.Mode().Perm(), err)
	}
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		if _, _, ok := parseName(de.Name()); !ok {
			continue
		}
		fi, _ := de.Info()
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", de.Name(), fi.Mode().Perm())
		}
	}
	if tf := tempFiles(t, dir); len(tf) > 0 {
		t.Errorf("temporary files left: %v", tf)
	}

	if err := s.Delete(ids[1]); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := s.Delete(ids[1]); err != nil {
		t.Fatalf("second Delete of the same id: %v, want nil", err)
	}
	if _, err := s.Read(ids[1]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Read of a deleted report: %v, want ErrNotFound", err)
	}
	if got, want := pendingIDs(t, s), []string{ids[0], ids[2]}; !slices.Equal(got, want) {
		t.Fatalf("after Delete, Pending = %v, want %v", got, want)
	}
	if _, err := s.Put(ids[0], data[ids[0]]); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("Put of a queued id: %v, want ErrDuplicate", err)
	}
}

func TestOrderSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Limits{})
	var ids []string
	for range 20 {
		id := report.NewID()
		ids = append(ids, id)
		put(t, s, id, reporttest.Gzip(t, id, 10))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, Limits{})
	last := report.NewID()
	put(t, s, last, reporttest.Gzip(t, last, 10))
	if got, want := pendingIDs(t, s), append(ids, last); !slices.Equal(got, want) {
		t.Fatalf("after reopen Pending = %v, want %v", got, want)
	}
}

func TestLimitsDropOldest(t *testing.T) {
	const size = 2000 // bytes of padding per report: about 1100 bytes of gzip
	// Reports of this padding differ in size by a few bytes at most.
	per := int64(len(reporttest.Gzip(t, report.NewID(), size)))
	tests := []struct {
		name        string
		lim         Limits
		puts        int
		wantKept    int // the newest wantKept reports remain
		wantDropped int64
	}{
		{"by_count", Limits{MaxReports: 3}, 7, 3, 4},
		{"by_bytes", Limits{MaxBytes: 3*per + per/2}, 7, 3, 4},
		{"by_bytes_exact", Limits{MaxBytes: 2*per + per/2}, 3, 2, 1},
		{"under_limits", Limits{MaxReports: 10, MaxBytes: 1 << 20}, 7, 7, 0},
		{"one_report", Limits{MaxReports: 1}, 4, 1, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir, tc.lim)
			var ids, dropped []string
			for range tc.puts {
				id := report.NewID()
				ids = append(ids, id)
				dropped = append(dropped, put(t, s, id, reporttest.Gzip(t, id, size))...)
			}
			kept := ids[len(ids)-tc.wantKept:]
			if got := pendingIDs(t, s); !slices.Equal(got, kept) {
				t.Fatalf("Pending = %v, want the newest %d: %v", got, tc.wantKept, kept)
			}
			if want := ids[:len(ids)-tc.wantKept]; !slices.Equal(dropped, want) {
				t.Fatalf("Put returned dropped %v, want the oldest %v", dropped, want)
			}
			st, err := s.Stats()
			if err != nil {
				t.Fatal(err)
			}
			if st.Dropped != tc.wantDropped || st.Queued != tc.wantKept {
				t.Fatalf("Stats = %+v, want Dropped %d, Queued %d", st, tc.wantDropped, tc.wantKept)
			}
			if tc.lim.MaxBytes > 0 && st.Bytes > tc.lim.MaxBytes {
				t.Fatalf("Stats.Bytes %d over MaxBytes %d", st.Bytes, tc.lim.MaxBytes)
			}

			// The count survives a restart and is what Inspect sees.
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if st, err := Inspect(dir); err != nil || st.Dropped != tc.wantDropped {
				t.Fatalf("Inspect after close = %+v, %v; want Dropped %d", st, err, tc.wantDropped)
			}
			s = open(t, dir, tc.lim)
			id := report.NewID()
			extra := int64(len(put(t, s, id, reporttest.Gzip(t, id, size))))
			st, err = s.Stats()
			if err != nil || st.Dropped != tc.wantDropped+extra {
				t.Fatalf("after reopen and one more Put, Stats = %+v, %v; want Dropped %d", st, err, tc.wantDropped+extra)
			}
		})
	}
}

func TestPutTooLarge(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Limits{MaxBytes: 4000})
	small := report.NewID()
	put(t, s, small, reporttest.Gzip(t, small, 100))
	big := report.NewID()
	dropped, err := s.Put(big, reporttest.Gzip(t, big, 10000))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Put of an oversize report: %v, want ErrTooLarge", err)
	}
	if !strings.Contains(err.Error(), big) || !strings.Contains(err.Error(), "4000") {
		t.Errorf("error %q should name the report and the limit", err)
	}
	if len(dropped) != 0 {
		t.Errorf("an oversize report dropped %v", dropped)
	}
	if got := pendingIDs(t, s); !slices.Equal(got, []string{small}) {
		t.Fatalf("Pending = %v, want only %s", got, small)
	}
	if tf := tempFiles(t, dir); len(tf) > 0 {
		t.Errorf("temporary files left: %v", tf)
	}
}

func TestIDValidation(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "spool")
	s := open(t, dir, Limits{})
	bad := []struct {
		name string
		id   string
	}{
		{"empty", ""},
		{"traversal", "../../../../etc/passwd"},
		{"traversal_uuid_length", "../3f2c1a9e-7b4d-4e8a-9c61-0d5e2f7a"},
		{"slash_in_uuid", "3f2c1a9e/7b4d-4e8a-9c61-0d5e2f7a8b90"},
		{"backslash_in_uuid", `3f2c1a9e\7b4d-4e8a-9c61-0d5e2f7a8b90`},
		{"dot_dot", ".."},
		{"short", "3f2c1a9e-7b4d-4e8a-9c61-0d5e2f7a8b9"},
		{"long", "3f2c1a9e-7b4d-4e8a-9c61-0d5e2f7a8b900"},
		{"no_hyphens", "3f2c1a9e07b4d04e8a09c6100d5e2f7a8b90"},
		{"non_hex", "3f2c1a9e-7b4d-4e8a-9c61-0d5e2f7a8bzz"},
		{"nul", "3f2c1a9e-7b4d-4e8a-9c61-0d5e2f7a8b\x0000"},
		{"windows_drive", `C:\Windows\System32\config\SAM00000`},
		{"unicode", "3f2c1a9e-7b4d-4e8a-9c61-0d5e2f7a8bé"},
	}
	gz := reporttest.Gzip(t, report.NewID(), 10)
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.Put(tc.id, gz); !errors.Is(err, ErrInvalidID) {
				t.Errorf("Put: %v, want ErrInvalidID", err)
			}
			if _, err := s.Read(tc.id); !errors.Is(err, ErrInvalidID) {
				t.Errorf("Read: %v, want ErrInvalidID", err)
			}
			if err := s.Delete(tc.id); !errors.Is(err, ErrInvalidID) {
				t.Errorf("Delete: %v, want ErrInvalidID", err)
			}
			if err := s.DeadLetter(tc.id, "x"); !errors.Is(err, ErrInvalidID) {
				t.Errorf("DeadLetter: %v, want ErrInvalidID", err)
			}
		})
	}
	// Nothing was written anywhere.
	if ids := pendingIDs(t, s); len(ids) != 0 {
		t.Fatalf("Pending = %v after only invalid puts", ids)
	}
	des, _ := os.ReadDir(parent)
	if len(des) != 1 {
		t.Fatalf("files appeared beside the spool: %v", des)
	}
	// Upper-case hex is still a UUID.
	up := strings.ToUpper(report.NewID())
	put(t, s, up, reporttest.Gzip(t, up, 10))
}

func TestPutRejectsNonGzip(t *testing.T) {
	s := open(t, t.TempDir(), Limits{})
	for _, data := range [][]byte{nil, {}, {0x1f}, []byte(`{"report_id":"x"}`)} {
		if _, err := s.Put(report.NewID(), data); err == nil || !strings.Contains(err.Error(), "not gzip") {
			t.Errorf("Put(%q): %v, want a not-gzip error", data, err)
		}
	}
}

func TestOpenLockedInProcess(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Limits{})
	_, err := Open(dir, Limits{}, nil)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("second Open: %v, want ErrLocked naming %s", err, dir)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	open(t, dir, Limits{}) // free again
}

func TestOpenLockedByOtherProcess(t *testing.T) {
	dir := t.TempDir()
	cmd := child(t, "lock", dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 64)
	n, _ := io.ReadAtLeast(out, line, len("locked\n"))
	if got := string(line[:n]); got != "locked\n" {
		t.Fatalf("child said %q, want locked", got)
	}
	if _, err := Open(dir, Limits{}, nil); !errors.Is(err, ErrLocked) {
		t.Fatalf("Open while another process holds the spool: %v, want ErrLocked", err)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	open(t, dir, Limits{})
}

func TestOpenCleansLeftovers(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Limits{})
	id := report.NewID()
	put(t, s, id, reporttest.Gzip(t, id, 10))
	s.Close()

	// What a crash mid-write leaves, and files the spool does not own.
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(".tmp-0011223344556677", "half a rep")
	write(filepath.Join(deadDir, ".tmp-8899aabbccddeeff"), "reason: half")
	write("README.txt", "an admin's note")
	write("00000000000000000001-not-a-uuid.json.gz", "x")
	if err := os.Mkdir(filepath.Join(dir, entryName(5, report.NewID())), 0o700); err != nil {
		t.Fatal(err)
	}

	s = open(t, dir, Limits{})
	if tf := tempFiles(t, dir); len(tf) > 0 {
		t.Fatalf("Open left temporary files: %v", tf)
	}
	if _, err := os.Stat(filepath.Join(dir, "README.txt")); err != nil {
		t.Fatalf("Open removed an unknown file: %v", err)
	}
	if got := pendingIDs(t, s); !slices.Equal(got, []string{id}) {
		t.Fatalf("Pending = %v, want only %s (unknown files ignored)", got, id)
	}
}

func TestCorruptEntryDeadLettered(t *testing.T) {
	valid := reporttest.Gzip(t, report.NewID(), 1000)
	tests := []struct {
		name string
		data []byte
	}{
		{"not_gzip", []byte("this is not gzip")},
		{"truncated", valid[:len(valid)/2]},
		{"bad_checksum", append(slices.Clone(valid[:len(valid)-8]), 0, 0, 0, 0, 0, 0, 0, 0)},
		{"empty", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir, Limits{})
			good := report.NewID()
			put(t, s, good, reporttest.Gzip(t, good, 10))
			bad := report.NewID()
			name := entryName(1, bad) // oldest
			if err := os.WriteFile(filepath.Join(dir, name), tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			if got := pendingIDs(t, s); !slices.Equal(got, []string{bad, good}) {
				t.Fatalf("Pending = %v, want [%s %s]", got, bad, good)
			}
			if _, err := s.Read(bad); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Read of a corrupt entry: %v, want ErrCorrupt", err)
			}
			if got := pendingIDs(t, s); !slices.Equal(got, []string{good}) {
				t.Fatalf("after Read, Pending = %v, want only %s", got, good)
			}
			moved, err := os.ReadFile(filepath.Join(dir, deadDir, name))
			if err != nil || !bytes.Equal(moved, tc.data) {
				t.Fatalf("dead-lettered file: %v (same bytes: %v)", err, bytes.Equal(moved, tc.data))
			}
			reason, err := os.ReadFile(filepath.Join(dir, deadDir, name+reasonExt))
			if err != nil || !strings.Contains(string(reason), "reason: corrupt") {
				t.Fatalf("reason file = %q, %v; want reason: corrupt", reason, err)
			}
			if st, _ := s.Stats(); st.DeadLetters != 1 || st.Queued != 1 {
				t.Fatalf("Stats = %+v, want 1 queued, 1 dead letter", st)
			}
			if _, err := s.Read(good); err != nil {
				t.Fatalf("Read of the good entry: %v", err)
			}
		})
	}
}

func TestDeadLetter(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Limits{MaxDeadLetters: 3})
	var ids []string
	for range 5 {
		id := report.NewID()
		ids = append(ids, id)
		put(t, s, id, reporttest.Gzip(t, id, 10))
	}
	long := "HTTP 400 Bad Request:\nline two\r\x00" + strings.Repeat("x", 5000)
	for _, id := range ids {
		if err := s.DeadLetter(id, long); err != nil {
			t.Fatalf("DeadLetter(%s): %v", id, err)
		}
	}
	if err := s.DeadLetter(ids[0], "again"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("DeadLetter of a report no longer queued: %v, want ErrNotFound", err)
	}
	if got := pendingIDs(t, s); len(got) != 0 {
		t.Fatalf("Pending = %v after dead-lettering all", got)
	}
	des, err := os.ReadDir(filepath.Join(dir, deadDir))
	if err != nil {
		t.Fatal(err)
	}
	entries, reasons := parseDir(des)
	var kept []string
	for _, e := range entries {
		kept = append(kept, e.ID)
	}
	if !slices.Equal(kept, ids[2:]) || len(reasons) != 3 || len(des) != 6 {
		t.Fatalf("dead-letter folder holds %v and %d reasons (%d files), want the newest 3 %v with theirs", kept, len(reasons), len(des), ids[2:])
	}
	text, err := os.ReadFile(filepath.Join(dir, deadDir, entries[0].name+reasonExt))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(text), "\n"), "\n")
	if len(lines) != 3 || lines[0] != "report_id: "+ids[2] ||
		!strings.HasPrefix(lines[1], "reason: HTTP 400 Bad Request: line two") ||
		len(lines[1]) > maxReason+len("reason: ")+len("…") || !strings.HasPrefix(lines[2], "time: ") {
		t.Fatalf("reason file:\n%s", text)
	}
	if st, _ := s.Stats(); st.DeadLetters != 3 {
		t.Fatalf("Stats.DeadLetters = %d, want 3", st.DeadLetters)
	}
}

func TestOpenRefuses(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string) string // returns the dir to open
		wantErr string
	}{
		{"symlink", func(t *testing.T, base string) string {
			real := filepath.Join(base, "real")
			if err := os.Mkdir(real, 0o700); err != nil {
				t.Fatal(err)
			}
			link := filepath.Join(base, "link")
			if err := os.Symlink(real, link); err != nil {
				t.Fatal(err)
			}
			return link
		}, "symbolic link"},
		{"world_writable", func(t *testing.T, base string) string {
			dir := filepath.Join(base, "ww")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, 0o777); err != nil {
				t.Fatal(err)
			}
			return dir
		}, "writable by every user"},
		{"file_not_dir", func(t *testing.T, base string) string {
			f := filepath.Join(base, "file")
			if err := os.WriteFile(f, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return f
		}, "not a directory"},
		{"parent_is_file", func(t *testing.T, base string) string {
			f := filepath.Join(base, "file")
			if err := os.WriteFile(f, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(f, "spool")
		}, "not a directory"},
		{"deadletter_is_file", func(t *testing.T, base string) string {
			if err := os.WriteFile(filepath.Join(base, deadDir), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return base
		}, "deadletter is not a directory"},
		{"empty_path", func(*testing.T, string) string { return "" }, "no directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.setup(t, t.TempDir())
			s, err := Open(dir, Limits{}, nil)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%s) succeeded, want an error containing %q", dir, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("Open(%s): %v; want an error naming the dir and containing %q", dir, err, tc.wantErr)
			}
		})
	}
	t.Run("negative_limits", func(t *testing.T) {
		if _, err := Open(t.TempDir(), Limits{MaxReports: -1}, nil); err == nil {
			t.Fatal("Open with a negative limit succeeded")
		}
	})
	t.Run("group_readable_made_private", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o750); err != nil {
			t.Fatal(err)
		}
		open(t, dir, Limits{})
		if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
			t.Fatalf("mode after Open = %v, want 0700", fi.Mode().Perm())
		}
	})
}

func TestInspect(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Limits{MaxReports: 2})
	sizes := map[string]int64{}
	for range 4 {
		id := report.NewID()
		gz := reporttest.Gzip(t, id, 10)
		sizes[id] = int64(len(gz))
		put(t, s, id, gz) // the third and fourth drop the first two
	}
	es, _ := s.Pending()
	if err := s.DeadLetter(es[0].ID, "HTTP 413"); err != nil {
		t.Fatal(err)
	}
	want := Stats{Queued: 1, Bytes: sizes[es[1].ID], DeadLetters: 1, Dropped: 2}
	got, err := Inspect(dir) // while s holds the lock
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("Inspect = %+v, want %+v", got, want)
	}
	if st, _ := s.Stats(); st != want {
		t.Fatalf("Stats = %+v, want %+v", st, want)
	}
	if _, err := Inspect(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Inspect of a missing dir: %v, want ErrNotExist", err)
	}
	if err := os.WriteFile(filepath.Join(dir, droppedName), []byte("lots"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Inspect(dir); err == nil || !strings.Contains(err.Error(), droppedName) {
		t.Fatalf("Inspect with a damaged counter: %v, want an error naming %s", err, droppedName)
	}
}

func TestClosed(t *testing.T) {
	s := open(t, t.TempDir(), Limits{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	id := report.NewID()
	if _, err := s.Put(id, reporttest.Gzip(t, id, 1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Put after Close: %v", err)
	}
	if _, err := s.Pending(); !errors.Is(err, ErrClosed) {
		t.Errorf("Pending after Close: %v", err)
	}
	if _, err := s.Read(id); !errors.Is(err, ErrClosed) {
		t.Errorf("Read after Close: %v", err)
	}
	if err := s.Delete(id); !errors.Is(err, ErrClosed) {
		t.Errorf("Delete after Close: %v", err)
	}
	if err := s.DeadLetter(id, "x"); !errors.Is(err, ErrClosed) {
		t.Errorf("DeadLetter after Close: %v", err)
	}
	if _, err := s.Stats(); !errors.Is(err, ErrClosed) {
		t.Errorf("Stats after Close: %v", err)
	}
}

// TestConcurrentUse runs a producer and a consumer on one spool, as the
// agent's scan loop and sender do; -race checks the locking.
func TestConcurrentUse(t *testing.T) {
	s := open(t, t.TempDir(), Limits{})
	const n = 40
	ids := make(chan string, n)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(ids)
		for range n {
			id := report.NewID()
			if _, err := s.Put(id, reporttest.Gzip(t, id, 100)); err != nil {
				t.Error(err)
				return
			}
			ids <- id
		}
	})
	got := 0
	for range ids {
		es, err := s.Pending()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			gz, err := s.Read(e.ID)
			if err != nil {
				t.Fatal(err)
			}
			if id, err := reporttest.ID(gz); err != nil || id != e.ID {
				t.Fatalf("entry %s holds report %q (%v)", e.ID, id, err)
			}
			if err := s.Delete(e.ID); err != nil {
				t.Fatal(err)
			}
			got++
		}
	}
	wg.Wait()
	for _, e := range must(s.Pending()) {
		if err := s.Delete(e.ID); err != nil {
			t.Fatal(err)
		}
		got++
	}
	if got != n {
		t.Fatalf("consumed %d reports, want %d", got, n)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func BenchmarkPut(b *testing.B) {
	s := open(b, b.TempDir(), Limits{MaxReports: 1 << 30, MaxBytes: 1 << 40})
	// 40 KiB of hex padding gzips to about 20 KiB, the size of a large report.
	gz := reporttest.Gzip(b, report.NewID(), 40<<10)
	b.SetBytes(int64(len(gz)))
	b.ReportMetric(float64(len(gz)), "report-bytes")
	ids := make([]string, 0, 1024)
	for b.Loop() {
		if len(ids) == 0 {
			b.StopTimer()
			for range cap(ids) {
				ids = append(ids, report.NewID())
			}
			b.StartTimer()
		}
		id := ids[len(ids)-1]
		ids = ids[:len(ids)-1]
		if _, err := s.Put(id, gz); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPending500(b *testing.B) {
	s := open(b, b.TempDir(), Limits{})
	gz := reporttest.Gzip(b, report.NewID(), 100)
	for range 500 {
		put(b, s, report.NewID(), gz)
	}
	for b.Loop() {
		es, err := s.Pending()
		if err != nil || len(es) != 500 {
			b.Fatalf("Pending: %d entries, %v", len(es), err)
		}
	}
}
