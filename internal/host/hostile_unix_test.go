//go:build unix

package host

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/hostile"
)

// Describe reads the identity files of a root a user may have planted
// things in: a named pipe as os-release or hostname (which a plain open
// would wait on forever), a plist bomb as SystemVersion.plist. It returns
// at once, without those facts.
func TestDescribeHostileRoot(t *testing.T) {
	for _, target := range []OS{Linux, Darwin} {
		t.Run(string(target), func(t *testing.T) {
			dir := t.TempDir()
			for _, name := range []string{"etc/os-release", "etc/hostname", "etc/machine-id"} {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := syscall.Mkfifo(p, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			sv := filepath.Join(dir, "System/Library/CoreServices/SystemVersion.plist")
			if err := os.MkdirAll(filepath.Dir(sv), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(sv, hostile.PlistBomb(60), 0o644); err != nil {
				t.Fatal(err)
			}
			h, err := OpenRoot(dir, target)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan Info, 1)
			go func() { done <- h.Describe() }()
			select {
			case info := <-done:
				if info.Hostname != "" || info.OSVersion != "" || info.ID == "" {
					t.Errorf("info = %+v, want no hostname or version, and an ID still", info)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Describe blocked on a named pipe")
			}
		})
	}
}
