package rpm

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/rpm/internal/rpmdb"
	"github.com/avscout/avscout/internal/hostile"
)

// Hostile records in an rpm database are each the source's error;
// KESL's record beside them is still read. A header of 65,535 entries
// claiming 2^32-1 strings in 16 MiB without a NUL costs short scans, not a
// terabyte of reading; a slot claiming a 1 GiB blob in a 1 GiB sparse file
// is refused before anything is allocated for it. (A 2 GiB database is
// over the cap of an rpm database: the source's error.)
func TestCollectHostileRecords(t *testing.T) {
	const at = "var/lib/rpm/Packages.db"
	tests := []struct {
		name  string
		write func(p string) error
		says  string
	}{
		{"huge_counts", func(p string) error {
			return os.WriteFile(p, hostile.NDB(hostile.KESLHeader(), hostile.RPMHeaderHugeCounts()), 0o644)
		}, "ndb slot 1 (package 2): header tag 1000: string at offset 0 longer than 4096 bytes"},
		{"sparse_1g_blob", func(p string) error {
			db := hostile.NDB(hostile.KESLHeader())
			hostile.NDBHugeSlot(db, 1, 2, 1<<16, (1<<30-2<<20)/16)
			if err := os.WriteFile(p, db, 0o644); err != nil {
				return err
			}
			return hostile.Sparse(p, 1<<30-1<<20)
		}, "ndb slot 1 (package 2): blob of 1071644672 bytes: over the 64 MiB limit of an rpm header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			p := filepath.Join(root, filepath.FromSlash(at))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := tt.write(p); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			obs, err := collect(t, root)
			t.Logf("%s: %v in %s", tt.name, err, time.Since(start))
			// The source's error, not a warning: the record it could not
			// read may be the restricted product.
			if err == nil || detect.IsWarning(err) || !strings.Contains(err.Error(), "rpm database "+at+": "+tt.says) {
				t.Errorf("err = %v, want an error (no warning) saying %q", err, tt.says)
			}
			if len(obs) != 1 || obs[0].Name != "kesl" {
				t.Errorf("observed %+v, want KESL", obs)
			}
		})
	}
}

// A database cut short stays the source's error, not a warning: what
// lies past its end was not seen.
func TestCollectTruncatedIsNoWarning(t *testing.T) {
	db := hostile.NDB(hostile.KESLHeader(), hostile.KESLHeader())
	root := t.TempDir()
	p := filepath.Join(root, "var/lib/rpm/Packages.db")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, db[:len(db)-20], 0o644); err != nil {
		t.Fatal(err)
	}
	obs, err := collect(t, root)
	if err == nil || detect.IsWarning(err) || !errors.Is(err, rpmdb.ErrTruncated) {
		t.Errorf("err = %v, want the database's error", err)
	}
	if len(obs) != 1 {
		t.Errorf("observed %d packages, want the first", len(obs))
	}
}

func TestCollectDatabaseOverCap(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "var/lib/rpm/Packages.db")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, hostile.NDB(hostile.KESLHeader()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := hostile.Sparse(p, 2<<30); err != nil {
		t.Fatal(err)
	}
	_, err := collect(t, root)
	if err == nil || detect.IsWarning(err) || !strings.Contains(err.Error(), "over the 1 GiB limit of an rpm database") {
		t.Errorf("err = %v, want the database's error naming the limit", err)
	}
}
