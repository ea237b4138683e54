package config

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFile writes data to dir/name and sets mode exactly (umask aside).
func writeFile(t testing.TB, dir, name, data string, mode fs.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// fixture copies testdata/name into dir as config.yaml (mode 0600, so
// that the checkout's modes do not matter), with TESTDIR replaced by dir.
func fixture(t testing.TB, name, dir string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, "config.yaml", strings.ReplaceAll(string(data), "TESTDIR", dir), 0o600)
}

// env is a LookupEnv over a map.
func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// windowsDrive maps the Windows paths C:\… and D:\… to folders under dir,
// so that a Windows target's files are real files here.
type windowsDrive struct{ dir string }

func (w windowsDrive) path(p string) string {
	if len(p) < 3 || p[1] != ':' {
		return filepath.Join(w.dir, "relative", p)
	}
	return filepath.Join(w.dir, strings.ToUpper(p[:1]), filepath.FromSlash(strings.ReplaceAll(p[3:], `\`, "/")))
}

func (w windowsDrive) ReadFile(p string) ([]byte, error) { return os.ReadFile(w.path(p)) }

func (w windowsDrive) Stat(p string) (fs.FileInfo, error) { return os.Stat(w.path(p)) }

// write creates the file at Windows path p.
func (w windowsDrive) write(t testing.TB, p, data string) {
	t.Helper()
	local := w.path(p)
	writeFile(t, filepath.Dir(local), filepath.Base(local), data, 0o600)
}

// errText returns err's message, or "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
