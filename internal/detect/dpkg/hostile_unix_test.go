//go:build unix

package dpkg

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/hostile"
	"github.com/avscout/avscout/internal/safefs"
)

// Planted files in the database: a named pipe or a 2 GiB sparse file as
// the status file is the source's error, given at once; one among the
// status.d entries is that entry's warning, and KESL's entry beside it is
// still seen.
func TestCollectHostileFiles(t *testing.T) {
	const kesl = "Package: kesl\nStatus: install ok installed\nVersion: 12.1.0-2968\nMaintainer: AO Kaspersky Lab <support@kaspersky.com>\n"
	tests := []struct {
		name    string
		plant   func(root string) error
		says    string
		is      error
		warning bool
	}{
		{"status_fifo", func(root string) error { return hostile.Fifo(filepath.Join(root, StatusPath)) },
			StatusPath + ": not a regular file (a named pipe)", safefs.ErrNotRegular, false},
		{"status_sparse_2g", func(root string) error { return hostile.Sparse(filepath.Join(root, StatusPath), 2<<30) },
			StatusPath + ": too large: 2147483648 bytes, over the 512 MiB limit of a package database", safefs.ErrTooLarge, false},
		{"status_d_fifo", func(root string) error { return hostile.Fifo(filepath.Join(root, StatusDDir, "evil")) },
			StatusDDir + "/evil: not a regular file (a named pipe)", safefs.ErrNotRegular, true},
		{"updates_fifo", func(root string) error {
			if err := os.WriteFile(filepath.Join(root, StatusPath), []byte(kesl), 0o644); err != nil {
				return err
			}
			return hostile.Fifo(filepath.Join(root, UpdatesDir, "0001"))
		}, UpdatesDir + "/0001: not a regular file (a named pipe)", safefs.ErrNotRegular, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if err := os.MkdirAll(filepath.Join(root, StatusDDir), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, StatusDDir, "kesl"), []byte(kesl), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := tt.plant(root); err != nil {
				t.Fatal(err)
			}
			h, err := host.OpenRoot(root, host.Linux)
			if err != nil {
				t.Fatal(err)
			}
			type result struct {
				obs []detect.Observation
				err error
			}
			done := make(chan result, 1)
			go func() {
				var obs []detect.Observation
				err := Source{}.Collect(context.Background(), h, func(o detect.Observation) { obs = append(obs, o) })
				done <- result{obs, err}
			}()
			var r result
			select {
			case r = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("Collect blocked on the planted file")
			}
			if !errors.Is(r.err, tt.is) || !strings.Contains(r.err.Error(), tt.says) {
				t.Errorf("err = %v, want %v saying %q", r.err, tt.is, tt.says)
			}
			if w := detect.IsWarning(r.err); w != tt.warning {
				t.Errorf("a warning: %v, want %v (%v)", w, tt.warning, r.err)
			}
			found := false
			for _, o := range r.obs {
				found = found || o.Name == "kesl" && o.Status == detect.Installed
			}
			if !found {
				t.Errorf("kesl not observed beside the planted file: %+v", r.obs)
			}
		})
	}
}
