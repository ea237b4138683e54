package apk

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/internal/recfile/recfiletest"
	"github.com/avscout/avscout/internal/host"
)

func run(ctx context.Context, h *host.Host) ([]detect.Observation, error) {
	var got []detect.Observation
	err := Source{}.Collect(ctx, h, func(o detect.Observation) { got = append(got, o) })
	return got, err
}

func fsHost(fsys fs.FS) *host.Host { return &host.Host{OS: host.Linux, FS: fsys} }

func TestName(t *testing.T) {
	if got := (Source{}).Name(); got != "apk" {
		t.Errorf("Name() = %q", got)
	}
}

func TestCollect(t *testing.T) {
	data := recfiletest.ReadFixture(t, "installed")
	var want []detect.Observation
	for _, p := range wantInstalled() {
		want = append(want, detect.Observation{
			Kind: detect.KindPackage, Status: detect.Installed, Name: p.Name, Version: p.Version,
			Vendor: p.Maintainer, Location: InstalledPath, Detail: p.Name + " " + p.Version,
		})
	}
	atUsr := func(obs []detect.Observation) []detect.Observation {
		out := make([]detect.Observation, len(obs))
		for i, o := range obs {
			o.Location = UsrInstalledPath
			out[i] = o
		}
		return out
	}
	tests := []struct {
		name string
		fsys fs.FS
		want []detect.Observation
	}{
		{"alpine", fstest.MapFS{InstalledPath: {Data: data}}, want},
		{"usr_merged_wolfi", fstest.MapFS{UsrInstalledPath: {Data: data}}, atUsr(want)},
		{
			// apk-tools 3 uses lib/apk/db when it exists; so do we.
			name: "both_prefers_lib",
			fsys: fstest.MapFS{InstalledPath: {Data: data}, UsrInstalledPath: {Data: []byte("P:other\n")}},
			want: want,
		},
		{"empty_database", fstest.MapFS{InstalledPath: {Data: nil}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := run(context.Background(), fsHost(tt.fsys))
			if err != nil {
				t.Fatalf("Collect: %v", err)
			}
			recfiletest.AssertObservations(t, got, tt.want)
		})
	}
}

func TestCollectSymlinkedLib(t *testing.T) {
	// A usr-merged root on disk: lib -> usr/lib, read through os.Root as
	// a scan of --root does.
	root := t.TempDir()
	db := filepath.Join(root, "usr", "lib", "apk", "db")
	if err := os.MkdirAll(db, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(db, "installed"), []byte(kesl), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("usr/lib", filepath.Join(root, "lib")); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
	h, err := host.OpenRoot(root, host.Linux)
	if err != nil {
		t.Fatal(err)
	}
	got, err := run(context.Background(), h)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "kesl" || got[0].Location != InstalledPath {
		t.Errorf("got %+v", got)
	}
}

func TestCollectUnavailable(t *testing.T) {
	tests := []struct {
		name string
		h    *host.Host
	}{
		{"no_database", fsHost(fstest.MapFS{"var/lib/dpkg/status": {Data: []byte("Package: kesl\n")}})},
		{"empty_db_dir", fsHost(fstest.MapFS{"lib/apk/db": {Mode: fs.ModeDir | 0o755}})},
		{"missing_root", fsHost(os.DirFS(filepath.Join(t.TempDir(), "does-not-exist")))},
		{"nil_fs", &host.Host{}},
		{"nil_host", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := run(context.Background(), tt.h)
			if !errors.Is(err, detect.ErrUnavailable) || len(got) != 0 {
				t.Fatalf("got %v and %d observations, want ErrUnavailable", err, len(got))
			}
		})
	}
}

func TestCollectBadInput(t *testing.T) {
	dirRoot := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dirRoot, InstalledPath), 0o755); err != nil {
		t.Fatal(err)
	}
	dirHost, err := host.OpenRoot(dirRoot, host.Linux)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		h        *host.Host
		want     []string
		wantErrs []string
	}{
		{
			name:     "installed_is_a_directory",
			h:        dirHost,
			wantErrs: []string{InstalledPath + ": not a regular file (a directory)"},
		},
		{
			name:     "corrupt_record",
			h:        fsHost(fstest.MapFS{InstalledPath: {Data: []byte(kesl + "\nP:bad name\nV:1\n\nP:busybox\nV:1.36.1-r15\n")}}),
			want:     []string{"kesl", "busybox"},
			wantErrs: []string{InstalledPath + `: line 13: bad package name "bad name"`},
		},
		{
			name:     "truncated",
			h:        fsHost(fstest.MapFS{InstalledPath: {Data: []byte(kesl + "\nP:busybox\nV")}}),
			want:     []string{"kesl", "busybox"},
			wantErrs: []string{InstalledPath + `: line 14: not a key:value line: "V"`},
		},
		{
			name:     "binary_garbage",
			h:        fsHost(fstest.MapFS{InstalledPath: {Data: []byte(strings.Repeat("\x7fELF\x02\x01\x01\x00\n", 500))}}),
			wantErrs: []string{InstalledPath + ": not an apk installed database (gave up at line 100)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := run(context.Background(), tt.h)
			var names []string
			for _, o := range got {
				names = append(names, o.Name)
			}
			if strings.Join(names, ",") != strings.Join(tt.want, ",") {
				t.Errorf("observed %v, want %v", names, tt.want)
			}
			if err == nil || errors.Is(err, detect.ErrUnavailable) {
				t.Fatalf("got %v, want an error", err)
			}
			for _, want := range tt.wantErrs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
}

func TestCollectCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	data := []byte(strings.Repeat(kesl+"\n", 10))
	got, err := run(ctx, fsHost(fstest.MapFS{InstalledPath: {Data: data}}))
	if !errors.Is(err, context.Canceled) || len(got) != 0 {
		t.Fatalf("got %v and %d observations, want context.Canceled", err, len(got))
	}
}
