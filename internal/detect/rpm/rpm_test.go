package rpm

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/rpm/rpmtest"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/hostile"
)

const sqlitePath = "var/lib/rpm/rpmdb.sqlite"

// wantSpecs are the observations of the packages in testdata/*.spec,
// sorted by name.
var wantSpecs = []detect.Observation{
	{
		Kind: detect.KindPackage, Status: detect.Installed,
		Name: "falcon-sensor", Version: "7.10.0-16303",
		Vendor: "CrowdStrike, Inc.", Packager: "",
		Location: sqlitePath, Detail: "falcon-sensor 7.10.0-16303 (vendor CrowdStrike, Inc., x86_64)",
	},
	{
		Kind: detect.KindPackage, Status: detect.Installed,
		Name: "kasumi", Version: "2.5-39.fc39",
		Vendor: "Fedora Project", Packager: "Fedora Project",
		Location: sqlitePath, Detail: "kasumi 2.5-39.fc39 (vendor Fedora Project, x86_64)",
	},
	{
		Kind: detect.KindPackage, Status: detect.Installed,
		Name: "kesl", Version: "12.1.0-2968",
		Vendor: "AO Kaspersky Lab", Packager: "AO Kaspersky Lab <support@kaspersky.com>",
		Location: sqlitePath, Detail: "kesl 12.1.0-2968 (vendor AO Kaspersky Lab, x86_64)",
	},
	{
		Kind: detect.KindPackage, Status: detect.Installed,
		Name: "klnagent64", Version: "15.1.0-20748",
		Vendor: "AO Kaspersky Lab", Packager: "AO Kaspersky Lab <support@kaspersky.com>",
		Location: sqlitePath, Detail: "klnagent64 15.1.0-20748 (vendor AO Kaspersky Lab, x86_64)",
	},
	{
		Kind: detect.KindPackage, Status: detect.Installed,
		Name: "openssl-libs", Version: "1:3.0.7-27.el9",
		Vendor: "Rocky Enterprise Software Foundation", Packager: "Rocky Linux Build System (Peridot) <releng@rockylinux.org>",
		Location: sqlitePath, Detail: "openssl-libs 1:3.0.7-27.el9 (vendor Rocky Enterprise Software Foundation, x86_64)",
	},
}

func checkObs(t *testing.T, got, want []detect.Observation) {
	t.Helper()
	got = byName(got)
	if len(got) != len(want) {
		t.Errorf("got %d observations, want %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("observation %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestName(t *testing.T) {
	if got := (Source{}).Name(); got != "rpm" {
		t.Errorf("Name() = %q, want rpm", got)
	}
}

// TestSpecDatabase reads a database that rpm built from testdata/*.spec.
func TestSpecDatabase(t *testing.T) {
	root := newRoot(t, map[string]string{sqlitePath: specDB(t)})
	obs, err := collect(t, root)
	if err != nil {
		t.Fatal(err)
	}
	checkObs(t, obs, wantSpecs)

	// rpm itself agrees on what is in the database.
	lines := rpmtest.Query(t, root, "/var/lib/rpm", `%{NAME}|%{EPOCHNUM}:%{VERSION}-%{RELEASE}|%{VENDOR}|%{PACKAGER}\n`)
	if len(lines) != len(wantSpecs) {
		t.Fatalf("rpm -qa lists %d packages: %q", len(lines), lines)
	}
	for _, l := range lines {
		f := strings.Split(l, "|")
		o, ok := findObs(obs, f[0])
		if !ok {
			t.Errorf("rpm lists %s, the source does not", f[0])
			continue
		}
		if v := strings.TrimPrefix(f[1], "0:"); o.Version != v || o.Vendor != f[2] || o.Packager != strings.ReplaceAll(f[3], "(none)", "") {
			t.Errorf("rpm says %q, the source %+v", l, o)
		}
	}
}

// TestBuildHelper checks rpmtest.Build's generated specs, in the Fedora ≥ 36
// layout where var/lib/rpm is a symlink to usr/lib/sysimage/rpm.
func TestBuildHelper(t *testing.T) {
	root := t.TempDir()
	pkgs := []rpmtest.Pkg{
		{
			Name: "kesl", Version: "11.4.0", Release: "7239", Vendor: "AO Kaspersky Lab",
			Packager: "Kaspersky <support@kaspersky.com>",
			Files:    map[string]string{"/opt/kaspersky/kesl/bin/kesl": "#!/bin/sh\n", "/etc/opt/kaspersky/kesl.conf": "x=1\n"},
		},
		{Name: "kav4fs", Version: "8.0.4", Release: "312", Epoch: 3, Arch: "noarch", Vendor: "Kaspersky Lab"},
		{Name: "plain", Version: "1", Release: "1"},
	}
	rpmtest.BuildWith(t, root, pkgs, rpmtest.Options{DBPath: "/usr/lib/sysimage/rpm"})
	if err := os.MkdirAll(filepath.Join(root, "var", "lib"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../usr/lib/sysimage/rpm", filepath.Join(root, "var", "lib", "rpm")); err != nil {
		t.Fatal(err)
	}
	obs, err := collect(t, root)
	if err != nil {
		t.Fatal(err)
	}
	const loc = "usr/lib/sysimage/rpm/rpmdb.sqlite"
	checkObs(t, obs, []detect.Observation{
		{
			Kind: detect.KindPackage, Status: detect.Installed,
			Name: "kav4fs", Version: "3:8.0.4-312", Vendor: "Kaspersky Lab",
			Location: loc, Detail: "kav4fs 3:8.0.4-312 (vendor Kaspersky Lab, noarch)",
		},
		{
			Kind: detect.KindPackage, Status: detect.Installed,
			Name: "kesl", Version: "11.4.0-7239", Vendor: "AO Kaspersky Lab", Packager: "Kaspersky <support@kaspersky.com>",
			Location: loc, Detail: "kesl 11.4.0-7239 (vendor AO Kaspersky Lab, x86_64)",
		},
		{
			Kind: detect.KindPackage, Status: detect.Installed,
			Name: "plain", Version: "1-1",
			Location: loc, Detail: "plain 1-1 (x86_64)",
		},
	})
	files := rpmtest.Query(t, root, "/usr/lib/sysimage/rpm", `[%{FILENAMES}\n]`)
	if want := []string{"/etc/opt/kaspersky/kesl.conf", "/opt/kaspersky/kesl/bin/kesl"}; !reflect.DeepEqual(files, want) {
		t.Errorf("files recorded: %q, want %q", files, want)
	}
}

// TestBuildPayload checks that rpmtest unpacks files when asked. rpm chowns
// them to root, so this needs root privileges.
func TestBuildPayload(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("installing a payload needs root (rpm chowns files to root)")
	}
	root := t.TempDir()
	rpmtest.BuildWith(t, root, []rpmtest.Pkg{{
		Name: "kesl", Version: "12.1.0", Release: "2968", Vendor: "AO Kaspersky Lab",
		Files: map[string]string{"/opt/kaspersky/kesl/bin/kesl-control": "fake\n"},
	}}, rpmtest.Options{Payload: true})
	b, err := os.ReadFile(filepath.Join(root, "opt/kaspersky/kesl/bin/kesl-control"))
	if err != nil || string(b) != "fake\n" {
		t.Errorf("payload file: %q, %v", b, err)
	}
	if obs, err := collect(t, root); err != nil || len(obs) != 1 {
		t.Errorf("collect: %d observations, %v", len(obs), err)
	}
}

func TestNoDatabase(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "var", "lib", "rpm"), 0o755); err != nil {
		t.Fatal(err)
	}
	obs, err := collect(t, root)
	if !errors.Is(err, detect.ErrUnavailable) {
		t.Errorf("err = %v, want ErrUnavailable", err)
	}
	if len(obs) != 0 {
		t.Errorf("got %d observations", len(obs))
	}
	// Without a filesystem at all, too.
	if _, err := collectHost(context.Background(), &host.Host{}); !errors.Is(err, detect.ErrUnavailable) {
		t.Errorf("no FS: err = %v, want ErrUnavailable", err)
	}
}

func TestMissingRoot(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "gone")
	h := &host.Host{OS: host.Linux, Root: missing, FS: os.DirFS(missing)}
	_, err := collectHost(context.Background(), h)
	if err == nil || errors.Is(err, detect.ErrUnavailable) {
		t.Fatalf("err = %v, want an error other than unavailable", err)
	}
	if !strings.Contains(err.Error(), "root") {
		t.Errorf("error %q does not say the root is the problem", err)
	}
}

// TestNotAFile: a directory (or another non-file) where the database should
// be is an error naming it, not a missing database.
func TestNotAFile(t *testing.T) {
	for _, name := range dbPaths {
		t.Run(strings.ReplaceAll(name, "/", "_"), func(t *testing.T) {
			root := t.TempDir()
			if err := os.MkdirAll(filepath.Join(root, filepath.FromSlash(name)), 0o755); err != nil {
				t.Fatal(err)
			}
			_, err := collect(t, root)
			if err == nil || errors.Is(err, detect.ErrUnavailable) {
				t.Fatalf("err = %v, want an error", err)
			}
			if !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("error %q does not name %s as not a regular file", err, name)
			}
		})
	}
	// A real database elsewhere wins over the odd directory.
	root := newRoot(t, map[string]string{"var/lib/rpm/Packages": sample(t, "centos7-plain/Packages")})
	if err := os.MkdirAll(filepath.Join(root, "var/lib/rpm/rpmdb.sqlite"), 0o755); err != nil {
		t.Fatal(err)
	}
	if obs, err := collect(t, root); err != nil || len(obs) != 144 {
		t.Errorf("got %d observations, %v; want the 144 of Packages", len(obs), err)
	}
}

// TestPreference: only the newest format is read.
func TestPreference(t *testing.T) {
	root := newRoot(t, map[string]string{
		"var/lib/rpm/Packages":              sample(t, "centos7-plain/Packages"),
		"usr/lib/sysimage/rpm/Packages.db":  sample(t, "sle15-bci/Packages.db"),
		"usr/lib/sysimage/rpm/rpmdb.sqlite": specDB(t),
	})
	obs, err := collect(t, root)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range obs {
		if o.Location != "usr/lib/sysimage/rpm/rpmdb.sqlite" {
			t.Fatalf("read %s", o.Location)
		}
	}
	if len(obs) != len(wantSpecs) {
		t.Errorf("got %d observations, want %d", len(obs), len(wantSpecs))
	}
	os.Remove(filepath.Join(root, "usr/lib/sysimage/rpm/rpmdb.sqlite"))
	if obs, err = collect(t, root); err != nil || len(obs) != 35 || obs[0].Location != "usr/lib/sysimage/rpm/Packages.db" {
		t.Errorf("without sqlite: %d observations, %v; want the 35 of Packages.db", len(obs), err)
	}
}

// TestSymlinkEscape: a database symlinked from outside the root is not read.
func TestSymlinkEscape(t *testing.T) {
	outside := newRoot(t, map[string]string{"rpmdb.sqlite": specDB(t)})
	for _, tc := range []struct{ name, target string }{
		{"absolute", filepath.Join(outside, "rpmdb.sqlite")},
		{"relative", "../../../../../../../../../../../../" + filepath.Join(outside, "rpmdb.sqlite")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "var", "lib", "rpm")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(tc.target, filepath.Join(dir, "rpmdb.sqlite")); err != nil {
				t.Fatal(err)
			}
			obs, err := collect(t, root)
			if len(obs) != 0 {
				t.Errorf("read %d packages from outside the root", len(obs))
			}
			if err == nil || errors.Is(err, detect.ErrUnavailable) || !strings.Contains(err.Error(), sqlitePath) {
				t.Errorf("err = %v, want an error naming %s", err, sqlitePath)
			}
		})
	}
}

// TestFSIsAuthoritative: the file read is the one found through Host.FS,
// even when the local path names another file (a symlink swapped in, or a
// filesystem that is not the OS's).
func TestFSIsAuthoritative(t *testing.T) {
	decoyRoot := t.TempDir()
	rpmtest.Build(t, decoyRoot, []rpmtest.Pkg{{Name: "decoy", Version: "1", Release: "1"}})
	realRoot := newRoot(t, map[string]string{sqlitePath: specDB(t)})

	h := &host.Host{OS: host.Linux, Root: decoyRoot, FS: os.DirFS(realRoot)}
	obs, err := collectHost(context.Background(), h)
	if err != nil {
		t.Fatal(err)
	}
	checkObs(t, obs, wantSpecs)

	// An in-memory filesystem, for every format.
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		data []byte
		want int
	}{
		{sqlitePath, read(specDB(t)), len(wantSpecs)},
		{"var/lib/rpm/Packages.db", read(sample(t, "sle15-bci/Packages.db")), 35},
		{"var/lib/rpm/Packages", read(sample(t, "centos7-plain/Packages")), 144},
	} {
		mfs := fstest.MapFS{tc.name: {Data: tc.data, Mode: 0o644}}
		obs, err := collectHost(context.Background(), &host.Host{OS: host.Linux, FS: mfs})
		if err != nil || len(obs) != tc.want {
			t.Errorf("MapFS %s: %d observations, %v; want %d", tc.name, len(obs), err, tc.want)
		}
	}
}

// TestHostUntouched: a scan leaves the database byte-identical, with the
// same modification times, and creates nothing beside it (no -wal, -shm,
// journal or lock file), for every format.
func TestHostUntouched(t *testing.T) {
	rpmBuilt := filepath.Dir(specDB(t))
	cases := []struct {
		name  string
		files map[string]string
		want  int
	}{
		{"sqlite as rpm left it", map[string]string{
			sqlitePath:                   filepath.Join(rpmBuilt, "rpmdb.sqlite"),
			sqlitePath + "-shm":          filepath.Join(rpmBuilt, "rpmdb.sqlite-shm"),
			sqlitePath + "-wal":          filepath.Join(rpmBuilt, "rpmdb.sqlite-wal"),
			"var/lib/rpm/.rpm.lock":      filepath.Join(rpmBuilt, ".rpm.lock"),
			"usr/lib/sysimage/rpm/dummy": filepath.Join(rpmBuilt, ".rpm.lock"),
		}, len(wantSpecs)},
		{"sqlite alone", map[string]string{sqlitePath: specDB(t)}, len(wantSpecs)},
		{"sqlite of fedora35", map[string]string{sqlitePath: sample(t, "fedora35/rpmdb.sqlite")}, 138},
		{"ndb", map[string]string{"usr/lib/sysimage/rpm/Packages.db": sample(t, "sle15-bci/Packages.db")}, 35},
		{"bdb", map[string]string{"var/lib/rpm/Packages": sample(t, "centos7-plain/Packages")}, 144},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := newRoot(t, tc.files)
			freeze(t, root)
			before := snapshot(t, root)
			for range 2 {
				obs, err := collect(t, root)
				if err != nil || len(obs) != tc.want {
					t.Fatalf("%d observations, %v; want %d", len(obs), err, tc.want)
				}
			}
			if diffs := diffSnapshots(before, snapshot(t, root)); len(diffs) > 0 {
				t.Errorf("the scan changed the root:\n%s", strings.Join(diffs, "\n"))
			}
		})
	}
}

// blobOf returns the header blob of the only package in the sqlite
// database at path.
func blobOf(t *testing.T, path string) []byte {
	t.Helper()
	var blobs [][]byte
	for rec, err := range sqliteBlobs(context.Background(), path, true) {
		if err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, append([]byte(nil), rec.Blob...))
	}
	if len(blobs) != 1 {
		t.Fatalf("%s holds %d packages, want 1", path, len(blobs))
	}
	return blobs[0]
}

// TestWAL: packages committed to the write-ahead log but not yet
// checkpointed into rpmdb.sqlite (a dnf transaction in progress, or a
// crash) are seen, and neither the database nor its WAL is touched.
func TestWAL(t *testing.T) {
	extraRoot := t.TempDir()
	rpmtest.Build(t, extraRoot, []rpmtest.Pkg{{Name: "kesl-wal", Version: "12.1.0", Release: "1", Vendor: "AO Kaspersky Lab"}})
	blob := blobOf(t, filepath.Join(extraRoot, filepath.FromSlash(sqlitePath)))

	// live is a root where a writer has committed a package and, with
	// automatic checkpoints off, holds it in the WAL.
	live := newRoot(t, map[string]string{sqlitePath: specDB(t)})
	livePath := filepath.Join(live, filepath.FromSlash(sqlitePath))
	dsn, err := sqliteDSN(livePath, false)
	if err != nil {
		t.Fatal(err)
	}
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.SetMaxOpenConns(1)
	var mode string
	if err := w.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal mode %q, %v; rpm's databases use wal", mode, err)
	}
	if _, err := w.Exec("PRAGMA wal_autocheckpoint=0"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Exec("INSERT INTO Packages (blob) VALUES (?)", blob); err != nil {
		t.Fatal(err)
	}

	// crashed is a copy taken now: the writer is gone, its WAL left behind.
	crashed := newRoot(t, map[string]string{
		sqlitePath:          livePath,
		sqlitePath + "-wal": livePath + "-wal",
	})
	crashedPath := filepath.Join(crashed, filepath.FromSlash(sqlitePath))

	// The main file alone (what an immutable read sees) lacks the package.
	n := 0
	for _, err := range sqliteBlobs(context.Background(), crashedPath, true) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != len(wantSpecs) {
		t.Fatalf("the main file holds %d packages, want %d: the fixture is wrong", n, len(wantSpecs))
	}

	for name, root := range map[string]string{"live writer": live, "crashed writer": crashed} {
		t.Run(name, func(t *testing.T) {
			freeze(t, root)
			before := snapshot(t, root)
			obs, err := collect(t, root)
			if err != nil {
				t.Fatal(err)
			}
			if len(obs) != len(wantSpecs)+1 {
				t.Errorf("got %d observations, want %d", len(obs), len(wantSpecs)+1)
			}
			if o, ok := findObs(obs, "kesl-wal"); !ok || o.Version != "12.1.0-1" {
				t.Errorf("the package in the WAL: %+v, %v", o, ok)
			}
			if diffs := diffSnapshots(before, snapshot(t, root)); len(diffs) > 0 {
				t.Errorf("the scan changed the root:\n%s", strings.Join(diffs, "\n"))
			}
		})
	}
}

func TestContextCanceled(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"sqlite": {sqlitePath: specDB(t)},
		"bdb":    {"var/lib/rpm/Packages": sample(t, "centos7-plain/Packages")},
		"ndb":    {"var/lib/rpm/Packages.db": sample(t, "sle15-bci/Packages.db")},
	} {
		t.Run(name, func(t *testing.T) {
			h, err := host.OpenRoot(newRoot(t, files), host.Linux)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			obs, err := collectHost(ctx, h)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", err)
			}
			if len(obs) != 0 {
				t.Errorf("got %d observations after cancel", len(obs))
			}
		})
	}
}

// A write-ahead log that is not a regular file (a FIFO, a directory) is
// not read, as SQLite would not use it: the packages of the file are
// seen, without a hang. One that cannot be read (a symlink out of the
// root) leaves the file's packages and an error saying the log was not
// read.
func TestWALNotARegularFile(t *testing.T) {
	for _, tc := range []struct {
		name    string
		plant   func(t *testing.T, wal string)
		wantErr bool
	}{
		{"fifo", func(t *testing.T, wal string) {
			if err := hostile.Fifo(wal); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"directory", func(t *testing.T, wal string) {
			if err := os.Mkdir(wal, 0o755); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"symlink out of the root", func(t *testing.T, wal string) {
			outside := filepath.Join(t.TempDir(), "wal")
			if err := os.WriteFile(outside, make([]byte, 4096), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(outside, wal); err != nil {
				t.Fatal(err)
			}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := newRoot(t, map[string]string{sqlitePath: specDB(t)})
			tc.plant(t, filepath.Join(root, filepath.FromSlash(sqlitePath))+"-wal")
			obs, err := collect(t, root)
			if len(obs) != len(wantSpecs) {
				t.Errorf("%d packages, want %d", len(obs), len(wantSpecs))
			}
			if tc.wantErr != (err != nil) || err != nil && (!strings.Contains(err.Error(), "write-ahead log was not read") || !strings.Contains(err.Error(), sqlitePath)) {
				t.Errorf("err = %v, want an error: %v", err, tc.wantErr)
			}
		})
	}
}
