//go:build unix

package apk

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/hostile"
	"github.com/avscout/avscout/internal/safefs"
)

// A named pipe or a 2 GiB sparse file as the installed database fails at
// once with an error naming it.
func TestCollectHostileDatabase(t *testing.T) {
	for _, tt := range []struct {
		name  string
		plant func(string) error
		says  string
		is    error
	}{
		{"fifo", hostile.Fifo, InstalledPath + ": not a regular file (a named pipe)", safefs.ErrNotRegular},
		{"sparse_2g", func(p string) error { return hostile.Sparse(p, 2<<30) }, "over the 512 MiB limit of a package database", safefs.ErrTooLarge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if err := tt.plant(filepath.Join(root, InstalledPath)); err != nil {
				t.Fatal(err)
			}
			h, err := host.OpenRoot(root, host.Linux)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- Source{}.Collect(context.Background(), h, func(detect.Observation) {}) }()
			select {
			case err := <-done:
				if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.says) {
					t.Errorf("err = %v, want %v saying %q", err, tt.is, tt.says)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("Collect blocked on the planted database")
			}
		})
	}
}
