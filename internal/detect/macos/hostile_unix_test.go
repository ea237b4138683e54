//go:build unix

package macos_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/detect/macos"
	"github.com/avscout/avscout/internal/detect/macos/mactest"
	"github.com/avscout/avscout/internal/safefs"
)

// A named pipe planted as an Info.plist, or a link to one, fails at once:
// reading it would wait for a writer forever.
func TestReadPlistNamedPipe(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "Applications/Pipe.app/Contents")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "Info.plist"), 0o644); err != nil {
		t.Fatal(err)
	}
	mactest.Symlink(t, root, "Applications/Link.app/Contents/Info.plist", "/Applications/Pipe.app/Contents/Info.plist")
	r, err := os.OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, name := range []string{"Applications/Pipe.app/Contents/Info.plist", "Applications/Link.app/Contents/Info.plist"} {
		done := make(chan error, 1)
		go func() { _, _, err := macos.ReadPlist(safefs.Root(r), name); done <- err }()
		select {
		case err := <-done:
			if !errors.Is(err, macos.ErrNotRegular) || !strings.Contains(err.Error(), "Applications/Pipe.app/Contents/Info.plist: not a regular file (a named pipe)") {
				t.Errorf("%s: %v", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: reading a named pipe blocked", name)
		}
	}
}
