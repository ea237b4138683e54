package pacman

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/host"
)

func run(ctx context.Context, h *host.Host) ([]detect.Observation, error) {
	var got []detect.Observation
	err := Source{}.Collect(ctx, h, func(o detect.Observation) { got = append(got, o) })
	return got, err
}

func linux(fsys fs.FS) *host.Host { return &host.Host{OS: host.Linux, FS: fsys} }

func desc(name, version, packager string) *fstest.MapFile {
	return &fstest.MapFile{Data: fmt.Appendf(nil, "%%NAME%%\n%s\n\n%%VERSION%%\n%s\n\n%%PACKAGER%%\n%s\n\n", name, version, packager)}
}

func TestName(t *testing.T) {
	if got := (Source{}).Name(); got != "pacman" {
		t.Errorf("Name() = %q", got)
	}
}

func TestCollect(t *testing.T) {
	fsys := fstest.MapFS{
		"var/lib/pacman/local/ALPM_DB_VERSION":             {Data: []byte("9\n")},
		"var/lib/pacman/local/clamav-1.4.1-1/desc":         {Data: []byte(readFixture(t, "clamav.desc"))},
		"var/lib/pacman/local/clamav-1.4.1-1/files":        {Data: []byte("%FILES%\nusr/bin/clamscan\n")},
		"var/lib/pacman/local/kesl-12.1.0.2968-1/desc":     desc("kesl", "12.1.0.2968-1", "Unknown Packager"),
		"var/lib/pacman/local/klavaro-3.14-1/desc":         desc("klavaro", "3.14-1", "Manjaro Build Server <build@manjaro.org>"),
		"var/lib/pacman/local/broken-1-1/desc":             {Data: []byte("%VERSION%\n1-1\n")},
		"var/lib/pacman/local/nodesc-1-1/files":            {Data: []byte("%FILES%\n")},
		"var/lib/pacman/local/dir-as-desc-1-1/desc/x":      {},
		"var/lib/pacman/local/zz-klnagent64-15.1.0-1/desc": desc("klnagent64", "15.1.0.20748-1", "AO Kaspersky Lab <support@kaspersky.com>"),
	}
	got, err := run(context.Background(), linux(fsys))
	want := []detect.Observation{
		{Kind: detect.KindPackage, Status: detect.Installed, Name: "clamav", Version: "1.4.1-1", Vendor: "Manjaro Build Server <build@manjaro.org>",
			Location: "var/lib/pacman/local/clamav-1.4.1-1/desc", Detail: "clamav 1.4.1-1"},
		{Kind: detect.KindPackage, Status: detect.Installed, Name: "kesl", Version: "12.1.0.2968-1", Vendor: "Unknown Packager",
			Location: "var/lib/pacman/local/kesl-12.1.0.2968-1/desc", Detail: "kesl 12.1.0.2968-1"},
		{Kind: detect.KindPackage, Status: detect.Installed, Name: "klavaro", Version: "3.14-1", Vendor: "Manjaro Build Server <build@manjaro.org>",
			Location: "var/lib/pacman/local/klavaro-3.14-1/desc", Detail: "klavaro 3.14-1"},
		{Kind: detect.KindPackage, Status: detect.Installed, Name: "klnagent64", Version: "15.1.0.20748-1", Vendor: "AO Kaspersky Lab <support@kaspersky.com>",
			Location: "var/lib/pacman/local/zz-klnagent64-15.1.0-1/desc", Detail: "klnagent64 15.1.0.20748-1"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got:\n%v\nwant:\n%v", got, want)
	}
	// The three bad folders are warnings, each naming its desc.
	warnings := leaves(err)
	if len(warnings) != 3 {
		t.Fatalf("%d warnings, want 3: %v", len(warnings), err)
	}
	for _, w := range warnings {
		var item *detect.ItemError
		if !errors.As(w, &item) {
			t.Errorf("%v is not a per-item warning", w)
		}
	}
	for _, s := range []string{"broken-1-1/desc: not a pacman desc file", "nodesc-1-1/desc", "dir-as-desc-1-1/desc: not a regular file"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %v does not say %q", err, s)
		}
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing desc does not unwrap to fs.ErrNotExist: %v", err)
	}
}

func TestCollectUnavailable(t *testing.T) {
	for _, tt := range []struct {
		name string
		h    *host.Host
	}{
		{"no filesystem", &host.Host{OS: host.Linux}},
		{"no database", linux(fstest.MapFS{"etc/os-release": {Data: []byte("ID=debian\n")}})},
		// Debian's pacman-package-manager makes var/lib/pacman but no local database.
		{"pacman installed on Debian", linux(fstest.MapFS{"var/lib/pacman": {Mode: fs.ModeDir}})},
		{"a file where the database should be", linux(fstest.MapFS{"var/lib/pacman": {Data: []byte("x")}})},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := run(context.Background(), tt.h)
			if !errors.Is(err, detect.ErrUnavailable) || len(got) != 0 {
				t.Errorf("got %v, %v; want unavailable", got, err)
			}
		})
	}
	// An empty database is no error: pacman is there, nothing installed.
	got, err := run(context.Background(), linux(fstest.MapFS{"var/lib/pacman/local/ALPM_DB_VERSION": {Data: []byte("9\n")}}))
	if err != nil || len(got) != 0 {
		t.Errorf("empty database: %v, %v", got, err)
	}
}

func TestCollectTooMany(t *testing.T) {
	fsys := fstest.MapFS{}
	for i := range MaxPackages + 10 {
		// Files, not folders: counted, but nothing to read.
		fsys[fmt.Sprintf("var/lib/pacman/local/p%06d", i)] = &fstest.MapFile{}
	}
	_, err := run(context.Background(), linux(fsys))
	var item *detect.ItemError
	if !errors.Is(err, ErrTooManyPackages) || errors.As(err, &item) {
		t.Errorf("error %v: want ErrTooManyPackages, and not as a mere warning: the rest was not seen", err)
	}
}

// Links inside the root are followed as pacman's own root would: a
// database folder moved elsewhere and linked back, a package folder
// linked. A named pipe where a desc should be is refused unopened.
func TestCollectLinksAndPipes(t *testing.T) {
	root := t.TempDir()
	write := func(name, content string) {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("srv/pacman/local/kesl-1-1/desc", "%NAME%\nkesl\n\n%VERSION%\n1-1\n")
	write("srv/elsewhere/kesl-gui-1-1/desc", "%NAME%\nkesl-gui\n\n%VERSION%\n1-1\n")
	if err := os.MkdirAll(filepath.Join(root, "var/lib"), 0o755); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{
		"var/lib/pacman":                "/srv/pacman",
		"srv/pacman/local/kesl-gui-1-1": "../../elsewhere/kesl-gui-1-1",
		"srv/pacman/local/dangling-1-1": "/nowhere",
	} {
		if err := os.Symlink(target, filepath.Join(root, filepath.FromSlash(link))); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "srv/pacman/local/pipe-1-1"), 0o755); err != nil {
		t.Fatal(err)
	}
	mkfifo(t, filepath.Join(root, "srv/pacman/local/pipe-1-1/desc"))
	h, err := host.OpenRoot(root, host.Linux)
	if err != nil {
		t.Fatal(err)
	}
	got, err := run(context.Background(), h)
	var names []string
	for _, o := range got {
		names = append(names, o.Name+" "+o.Location)
	}
	if want := []string{"kesl var/lib/pacman/local/kesl-1-1/desc", "kesl-gui var/lib/pacman/local/kesl-gui-1-1/desc"}; !reflect.DeepEqual(names, want) {
		t.Errorf("got %q, want %q", names, want)
	}
	if err == nil || !strings.Contains(err.Error(), "pipe-1-1/desc: not a regular file") || !strings.Contains(err.Error(), "dangling-1-1") {
		t.Errorf("error %v: want the pipe and the dangling link named", err)
	}
}

func TestCollectCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got, err := run(ctx, linux(fstest.MapFS{"var/lib/pacman/local/kesl-1-1/desc": desc("kesl", "1-1", "")}))
	if !errors.Is(err, context.Canceled) || len(got) != 0 {
		t.Errorf("got %v, %v", got, err)
	}
}

// leaves flattens joined errors down to the ones that join nothing.
func leaves(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leaves(e)...)
		}
		return out
	}
	if err == nil {
		return nil
	}
	return []error{err}
}
