package dpkg

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/dpkg/internal/synth"
	"github.com/avscout/avscout/internal/detect/internal/recfile/recfiletest"
	"github.com/avscout/avscout/internal/host"
)

const (
	kaspersky = "AO Kaspersky Lab <support@kaspersky.com>"
	clamTeam  = "ClamAV Team <pkg-clamav-devel@lists.alioth.debian.org>"
)

func pkgObs(loc string, st detect.Status, name, version, vendor, status string) detect.Observation {
	detail := name + " " + version
	if status != "" {
		detail += " (" + status + ")"
	}
	return detect.Observation{
		Kind: detect.KindPackage, Status: st, Name: name, Version: version,
		Vendor: vendor, Location: loc, Detail: detail,
	}
}

// run collects from fsys and returns the observations and the error.
func run(ctx context.Context, fsys fs.FS) ([]detect.Observation, error) {
	var got []detect.Observation
	err := Source{}.Collect(ctx, &host.Host{OS: host.Linux, FS: fsys}, func(o detect.Observation) {
		got = append(got, o)
	})
	return got, err
}

// statusFS is a root holding data as its dpkg status file.
func statusFS(data []byte) fstest.MapFS {
	return fstest.MapFS{StatusPath: &fstest.MapFile{Data: data}}
}

func TestName(t *testing.T) {
	if got := (Source{}).Name(); got != "dpkg" {
		t.Errorf("Name() = %q", got)
	}
}

func TestCollect(t *testing.T) {
	const updates = UpdatesDir + "/"
	tests := []struct {
		name string
		fsys fs.FS
		want []detect.Observation
	}{
		{
			name: "states",
			fsys: statusFS(recfiletest.ReadFixture(t, "status-states")),
			want: []detect.Observation{
				pkgObs(StatusPath, detect.Installed, "clamav", "1.4.3+dfsg-1~deb12u2", clamTeam, "hold ok installed"),
				pkgObs(StatusPath, detect.Installed, "clamav-daemon", "1.4.3+dfsg-1~deb12u2", clamTeam, "deinstall ok installed"),
				pkgObs(StatusPath, detect.Installed, "falcon-sensor", "7.18.0-17106", "CrowdStrike Inc. <support@crowdstrike.com>", "install ok triggers-awaited"),
				// kav4fs: purge ok not-installed, skipped.
				pkgObs(StatusPath, detect.Installed, "kesl", "12.1.0-2968", kaspersky, "install ok installed"),
				pkgObs(StatusPath, detect.Residual, "kesl-astra", "12.1.0-2968", kaspersky, "install reinstreq half-installed"),
				pkgObs(StatusPath, detect.Residual, "kesl-gui", "12.1.0-2968", kaspersky, "deinstall ok config-files"),
				pkgObs(StatusPath, detect.Residual, "klnagent64", "15.1.0-20748", kaspersky, "install ok half-configured"),
				pkgObs(StatusPath, detect.Installed, "mdatp", "101.24082.0004", "Microsoft <mdatpsupport@microsoft.com>", "install ok triggers-pending"),
				pkgObs(StatusPath, detect.Residual, "sophos-spl", "2024.2.1.2", "Sophos Limited <support@sophos.com>", "install ok unpacked"),
			},
		},
		{
			name: "debian12",
			fsys: statusFS(recfiletest.ReadFixture(t, "status-debian12")),
			want: []detect.Observation{
				pkgObs(StatusPath, detect.Installed, "base-files", "12.4+deb12u11", "Santiago Vila <sanvila@debian.org>", "install ok installed"),
				pkgObs(StatusPath, detect.Installed, "ca-certificates", "20230311+deb12u1", "Julien Cristau <jcristau@debian.org>", "install ok installed"),
				pkgObs(StatusPath, detect.Installed, "dpkg", "1.21.22", "Dpkg Developers <debian-dpkg@lists.debian.org>", "install ok installed"),
				pkgObs(StatusPath, detect.Installed, "libc6", "2.36-9+deb12u14", "GNU Libc Maintainers <debian-glibc@lists.debian.org>", "install ok installed"),
				pkgObs(StatusPath, detect.Installed, "libssl3", "3.0.19-1~deb12u2", "Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>", "install ok installed"),
				pkgObs(StatusPath, detect.Installed, "tzdata", "2025b-0+deb12u2", "GNU Libc Maintainers <debian-glibc@lists.debian.org>", "install ok installed"),
			},
		},
		{
			// Interrupted dpkg: the journal's records win over the status
			// file's; tmp.i is ignored.
			name: "updates_journal",
			fsys: os.DirFS("testdata/updates"),
			want: []detect.Observation{
				pkgObs(StatusPath, detect.Installed, "clamav", "1.4.3+dfsg-1~deb12u2", clamTeam, "install ok installed"),
				pkgObs(updates+"0001", detect.Residual, "kesl", "12.1.0-2968", kaspersky, "deinstall reinstreq half-installed"),
				pkgObs(updates+"0002", detect.Residual, "klnagent64", "15.1.0-20748", kaspersky, "install ok unpacked"),
			},
		},
		{
			// No status file, one record per file, md5sums skipped.
			name: "distroless_status_d",
			fsys: os.DirFS("testdata/distroless"),
			want: []detect.Observation{
				pkgObs(StatusDDir+"/clamav", detect.Installed, "clamav", "1.4.3+dfsg-1~deb12u2", clamTeam, ""),
				pkgObs(StatusDDir+"/clamav-daemon", detect.Installed, "clamav-daemon", "1.4.3+dfsg-1~deb12u2", clamTeam, ""),
				pkgObs(StatusDDir+"/clamav-freshclam", detect.Installed, "clamav-freshclam", "1.4.3+dfsg-1~deb12u2", clamTeam, ""),
				pkgObs(StatusDDir+"/clamdscan", detect.Installed, "clamdscan", "1.4.3+dfsg-1~deb12u2", clamTeam, ""),
				pkgObs(StatusDDir+"/kesl", detect.Installed, "kesl", "12.1.0-2968", kaspersky, ""),
			},
		},
		{
			name: "empty_status_file",
			fsys: statusFS(nil),
		},
		{
			name: "empty_status_d",
			fsys: fstest.MapFS{StatusDDir: &fstest.MapFile{Mode: fs.ModeDir | 0o755}},
		},
		{
			name: "status_d_hidden_files_and_subdirs_skipped",
			fsys: fstest.MapFS{
				StatusDDir + "/.wh.kesl":      &fstest.MapFile{Data: []byte("junk")},
				StatusDDir + "/sub/kesl":      &fstest.MapFile{Data: []byte(kesl)},
				StatusDDir + "/kesl.md5sums":  &fstest.MapFile{Data: []byte("d41d8cd98f00b204e9800998ecf8427e  opt/kaspersky/kesl/bin/kesl\n")},
				StatusDDir + "/klnagent64":    &fstest.MapFile{Data: []byte("Package: klnagent64\nVersion: 15.1.0-20748\nMaintainer: " + kaspersky + "\n")},
				UpdatesDir + "/not-a-journal": &fstest.MapFile{Data: []byte(kesl)},
			},
			want: []detect.Observation{
				pkgObs(StatusDDir+"/klnagent64", detect.Installed, "klnagent64", "15.1.0-20748", kaspersky, ""),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := run(context.Background(), tt.fsys)
			if err != nil {
				t.Fatalf("Collect: %v", err)
			}
			recfiletest.AssertObservations(t, got, tt.want)
		})
	}
}

func TestCollectUnavailable(t *testing.T) {
	tests := []struct {
		name string
		h    *host.Host
	}{
		{"no_database", &host.Host{FS: fstest.MapFS{"etc/os-release": &fstest.MapFile{Data: []byte("ID=alpine\n")}}}},
		{"missing_root", &host.Host{FS: os.DirFS(filepath.Join(t.TempDir(), "does-not-exist"))}},
		{"only_updates_dir", &host.Host{FS: fstest.MapFS{UpdatesDir + "/0001": &fstest.MapFile{Data: []byte(kesl)}}}},
		{"nil_fs", &host.Host{}},
		{"nil_host", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Source{}.Collect(context.Background(), tt.h, func(o detect.Observation) {
				t.Errorf("emitted %+v", o)
			})
			if !errors.Is(err, detect.ErrUnavailable) {
				t.Fatalf("got %v, want ErrUnavailable", err)
			}
		})
	}
}

func TestCollectBadInput(t *testing.T) {
	// A directory where the status file should be gives a real read error.
	dirRoot := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dirRoot, StatusPath), 0o755); err != nil {
		t.Fatal(err)
	}
	dirHost, err := host.OpenRoot(dirRoot, host.Linux)
	if err != nil {
		t.Fatal(err)
	}

	corrupt := []byte(kesl + "\nPackage: bad name\nVersion: 1\n\n\x00\x01\x02 binary\n\n" +
		"Package: klnagent64\nStatus: install ok weird\nVersion: 15.1.0-20748\n")

	tests := []struct {
		name      string
		fsys      fs.FS
		want      []string // Name of each observation
		wantErrs  []string // substrings of the error
		wantIsErr error
		// warning: the error is one item's (a status.d file), not the
		// database's
		warning bool
	}{
		{
			name:     "status_is_a_directory",
			fsys:     dirHost.FS,
			wantErrs: []string{StatusPath + ": not a regular file (a directory)"},
		},
		{
			name: "corrupt_records",
			fsys: statusFS(corrupt),
			want: []string{"kesl", "klnagent64"},
			wantErrs: []string{
				StatusPath + `: 2 problems: line 11: bad package name "bad name"; line 14: binary data`,
				StatusPath + `: line 16: package klnagent64: unknown Status "install ok weird"`,
			},
		},
		{
			name:     "truncated_mid_record",
			fsys:     statusFS([]byte(kesl + "\nPackage: klnagent64\nStat")),
			want:     []string{"kesl", "klnagent64"},
			wantErrs: []string{StatusPath + `: line 12: not a field: "Stat"`},
		},
		{
			name:      "read_error_mid_file",
			fsys:      failingFS{MapFS: statusFS([]byte(kesl + "\n" + kesl)), after: len(kesl) + 1},
			want:      []string{"kesl"},
			wantErrs:  []string{StatusPath + ": reading after line 10: injected read failure"},
			wantIsErr: errInjected,
		},
		{
			name:     "status_d_unreadable_entry",
			fsys:     fstest.MapFS{StatusDDir + "/kesl": &fstest.MapFile{Data: []byte("\x00\x00\x00")}, StatusPath: &fstest.MapFile{Data: []byte(kesl)}},
			want:     []string{"kesl"},
			wantErrs: []string{StatusDDir + "/kesl: line 1: binary data"},
			warning:  false, // the record it held may be the restricted product
		},
		{
			name:     "binary_garbage",
			fsys:     statusFS([]byte(strings.Repeat("\x7fELF\x02\x01\x01\x00\n", 500))),
			wantErrs: []string{StatusPath + ": not a dpkg status file (gave up at line 100)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := run(context.Background(), tt.fsys)
			var names []string
			for _, o := range got {
				names = append(names, o.Name)
			}
			if strings.Join(names, ",") != strings.Join(tt.want, ",") {
				t.Errorf("observed %v, want %v", names, tt.want)
			}
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, detect.ErrUnavailable) {
				t.Errorf("bad input reported as unavailable: %v", err)
			}
			for _, want := range tt.wantErrs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if tt.wantIsErr != nil && !errors.Is(err, tt.wantIsErr) {
				t.Errorf("error %v is not %v", err, tt.wantIsErr)
			}
			if w := detect.IsWarning(err); w != tt.warning {
				t.Errorf("error %v is a warning: %v, want %v", err, w, tt.warning)
			}
		})
	}
}

func TestCollectUnknownStatusIsPresent(t *testing.T) {
	got, err := run(context.Background(), statusFS([]byte("Package: kesl\nStatus: installed\nVersion: 1\n")))
	if err == nil || !strings.Contains(err.Error(), `unknown Status "installed"`) {
		t.Errorf("error %v", err)
	}
	want := []detect.Observation{pkgObs(StatusPath, detect.Present, "kesl", "1", "", "installed")}
	recfiletest.AssertObservations(t, got, want)
}

func TestCollectManyUnknownStatusesSummarised(t *testing.T) {
	var b strings.Builder
	for i := range 25 {
		fmt.Fprintf(&b, "Package: p%d\nStatus: a b c\n\n", i)
	}
	got, err := run(context.Background(), statusFS([]byte(b.String())))
	if len(got) != 25 {
		t.Errorf("got %d observations, want 25", len(got))
	}
	if err == nil || strings.Count(err.Error(), "unknown Status") != maxReported+1 ||
		!strings.Contains(err.Error(), "and 15 more records with an unknown Status") {
		t.Errorf("error %v", err)
	}
}

func TestCollectCancelled(t *testing.T) {
	var buf strings.Builder
	if err := synth.WriteStatus(&buf, 2000); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err := Source{}.Collect(ctx, &host.Host{FS: statusFS([]byte(buf.String()))}, func(detect.Observation) {
		n++
		if n == 10 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if n >= 2000 {
		t.Errorf("read all %d records after cancel", n)
	}
}

// failingFS fails every read of a file past its first after bytes.
type failingFS struct {
	fstest.MapFS
	after int
}

var errInjected = errors.New("injected read failure")

func (f failingFS) Open(name string) (fs.File, error) {
	file, err := f.MapFS.Open(name)
	if err != nil {
		return nil, err
	}
	return &failingFile{File: file, left: f.after}, nil
}

type failingFile struct {
	fs.File
	left int
}

func (f *failingFile) Read(p []byte) (int, error) {
	if f.left <= 0 {
		return 0, errInjected
	}
	if len(p) > f.left {
		p = p[:f.left]
	}
	n, err := f.File.Read(p)
	f.left -= n
	return n, err
}
