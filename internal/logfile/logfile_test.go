package logfile

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func TestRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "logs", "avscout.log")
	w, err := Open(path, 100, 3)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Repeat("x", 39) + "\n" // 40 bytes: two per file
	for i := 0; i < 10; i++ {
		if _, err := w.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{path, path + ".1", path + ".2"} {
		st, err := os.Stat(name)
		if err != nil {
			t.Fatalf("rotation %s missing: %v", name, err)
		}
		if st.Size() != 80 {
			t.Errorf("%s is %d bytes, want 80", name, st.Size())
		}
		if perm := st.Mode().Perm(); perm != 0o600 && runtime.GOOS != "windows" {
			t.Errorf("%s mode %v, want 0600", name, perm)
		}
	}
	if _, err := os.Stat(path + ".3"); !os.IsNotExist(err) {
		t.Errorf("a fourth file exists beyond MaxFiles=3: %v", err)
	}
	if st, _ := os.Stat(filepath.Dir(path)); st.Mode().Perm() != 0o700 && runtime.GOOS != "windows" {
		t.Errorf("log folder mode %v, want 0700", st.Mode().Perm())
	}
}

func TestAppendsAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.log")
	for _, s := range []string{"one\n", "two\n"} {
		w, err := Open(path, 1<<20, 2)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
		w.Close()
	}
	b, _ := os.ReadFile(path)
	if string(b) != "one\ntwo\n" {
		t.Errorf("file = %q, want both lines", b)
	}
}

func TestConcurrentWritesStayWhole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.log")
	w, err := Open(path, 4096, 50)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if _, err := w.Write([]byte("0123456789abcdef\n")); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	w.Close()
	matches, _ := filepath.Glob(path + "*")
	lines := 0
	for _, m := range matches {
		b, _ := os.ReadFile(m)
		for _, l := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
			if len(l) == 0 {
				continue
			}
			if string(l) != "0123456789abcdef" {
				t.Fatalf("torn line %q in %s", l, m)
			}
			lines++
		}
	}
	if lines != 1600 {
		t.Errorf("%d lines survived, want 1600", lines)
	}
}

func TestOpenFailsOnAFileWhereTheFolderShouldBe(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "logs")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(filepath.Join(blocker, "a.log"), 0, 0); err == nil || !strings.Contains(err.Error(), "a.log") {
		t.Errorf("Open under a file: err = %v, want an error naming the log file", err)
	}
}

func TestWriteAfterClose(t *testing.T) {
	w, err := Open(filepath.Join(t.TempDir(), "x.log"), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	if _, err := w.Write([]byte("late\n")); err == nil {
		t.Error("Write after Close succeeded")
	}
}
