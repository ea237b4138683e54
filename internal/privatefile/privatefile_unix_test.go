//go:build !windows

package privatefile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ok := write("ok", "secret\n", 0o600)
	if b, st, err := Read(ok, 64); err != nil || string(b) != "secret\n" || st.Size() != 7 {
		t.Errorf("Read(private) = %q, %v", b, err)
	}
	if _, _, err := Read(write("group", "s", 0o640), 64); err != nil {
		t.Errorf("a file its group may read: %v", err)
	}
	if _, _, err := Read(write("public", "s", 0o644), 64); !errors.Is(err, ErrPublic) {
		t.Errorf("a world-readable file: %v", err)
	}
	if _, _, err := Read(write("big", strings.Repeat("x", 65), 0o600), 64); err == nil || !strings.Contains(err.Error(), "larger than 64 bytes") {
		t.Errorf("a file over the limit: %v", err)
	}
	if _, _, err := Read(dir, 64); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a folder: %v", err)
	}
	if _, _, err := Read(filepath.Join(dir, "missing"), 64); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}
}
