package paths

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/rootpath"
	"github.com/avscout/avscout/internal/rootpath/roottest"
)

// fixture builds a root in a temporary directory (see roottest.Tree).
func fixture(t *testing.T, tree map[string]string) string {
	t.Helper()
	return roottest.Tree(t, tree)
}

func openRoot(t *testing.T, dir string, o host.OS) *host.Host {
	t.Helper()
	h, err := host.OpenRoot(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func collect(t *testing.T, src detect.Source, h *host.Host) (map[string]detect.Observation, error) {
	t.Helper()
	got := make(map[string]detect.Observation)
	err := src.Collect(context.Background(), h, func(o detect.Observation) {
		if _, dup := got[o.Path]; dup {
			t.Errorf("path %s emitted twice", o.Path)
		}
		got[o.Path] = o
	})
	return got, err
}

// linuxTree is a Linux root with a KESL install, its leftovers, and the
// link shapes a real system has.
var linuxTree = map[string]string{
	"etc/os-release":                         "file:ID=debian\n",
	"opt/kaspersky/kesl/libexec/kesl":        "file:\x7fELF\x02",
	"opt/kaspersky/kesl/bin/kesl-control":    "file:#!/bin/sh\n",
	"opt/kaspersky/klnagent64":               "dir",
	"var/opt/kaspersky/kesl/common/kesl.ini": "file:[General]\n",
	// /etc/opt/kaspersky -> /var/opt/kaspersky: absolute, which os.Root alone refuses.
	"etc/opt/kaspersky": "link:/var/opt/kaspersky",
	// a leftover link whose target was removed
	"usr/bin/kesl-setup": "link:/opt/kaspersky/kesl/bin/kesl-setup.pl",
	// Debian's /var/run -> /run
	"run/kesl.pid": "file:4242\n",
	"var/run":      "link:/run",
	// relative link, one level up
	"opt/ScanEngine": "link:../opt/kaspersky/kesl",
	// a loop
	"opt/loop-a": "link:loop-b",
	"opt/loop-b": "link:/opt/loop-a",
	// a file where a directory is expected
	"opt/sentinelone": "file:not a directory\n",
	"opt/empty":       "dir",
}

func TestCollectLinux(t *testing.T) {
	h := openRoot(t, fixture(t, linuxTree), host.Linux)
	list := []string{
		"/opt/kaspersky",
		"/opt/kaspersky/kesl/libexec/kesl",
		"/var/opt/kaspersky/",
		"/etc/opt/kaspersky",
		"/usr/bin/kesl-setup",
		"/var/run/kesl.pid",
		"/opt/ScanEngine/bin",
		"/opt/loop-a",
		"/opt/loop-a/bin",                  // error: loop on the way
		"/opt/sentinelone/bin/sentinelctl", // error: file used as directory
		"/opt/bitdefender-security-tools",  // missing: silent
		"/OPT/KASPERSKY",                   // Linux is case-sensitive: missing
		"/opt/empty",
		"opt/relative",                // error: not absolute
		"/opt/kaspersky/../kaspersky", // same place as the first: reported once
	}
	src := New(map[host.OS][]string{host.Linux: list, host.Windows: {`C:\Windows`}})
	got, err := collect(t, src, h)

	tests := []struct {
		path, name, location, detail string
	}{
		{"/opt/kaspersky", "kaspersky", "opt/kaspersky", "/opt/kaspersky (directory, 2 entries)"},
		{"/opt/kaspersky/kesl/libexec/kesl", "kesl", "opt/kaspersky/kesl/libexec/kesl", "/opt/kaspersky/kesl/libexec/kesl (file, 5 bytes)"},
		{"/var/opt/kaspersky/", "kaspersky", "var/opt/kaspersky", "/var/opt/kaspersky/ (directory, 1 entry)"},
		{"/etc/opt/kaspersky", "kaspersky", "etc/opt/kaspersky", "/etc/opt/kaspersky (symlink to /var/opt/kaspersky; directory, 1 entry)"},
		{"/usr/bin/kesl-setup", "kesl-setup", "usr/bin/kesl-setup", "/usr/bin/kesl-setup (symlink to /opt/kaspersky/kesl/bin/kesl-setup.pl, broken)"},
		{"/var/run/kesl.pid", "kesl.pid", "run/kesl.pid", "/var/run/kesl.pid (file, 5 bytes)"},
		{"/opt/ScanEngine/bin", "bin", "opt/kaspersky/kesl/bin", "/opt/ScanEngine/bin (directory, 1 entry)"},
		{"/opt/loop-a", "loop-a", "opt/loop-a", "/opt/loop-a (symlink to loop-b, unresolvable: too many levels of symbolic links)"},
		{"/opt/empty", "empty", "opt/empty", "/opt/empty (directory, 0 entries)"},
	}
	for _, tt := range tests {
		o, ok := got[tt.path]
		if !ok {
			t.Errorf("%s: not reported", tt.path)
			continue
		}
		delete(got, tt.path)
		if o.Kind != detect.KindPath || o.Status != detect.Present {
			t.Errorf("%s: kind %s status %s, want path present", tt.path, o.Kind, o.Status)
		}
		if o.Name != tt.name || o.Location != tt.location || o.Detail != tt.detail {
			t.Errorf("%s:\n got name %q location %q detail %q\nwant name %q location %q detail %q",
				tt.path, o.Name, o.Location, o.Detail, tt.name, tt.location, tt.detail)
		}
	}
	for p, o := range got {
		t.Errorf("unexpected observation for %s: %+v", p, o)
	}

	if err == nil {
		t.Fatal("no error for the unreadable paths")
	}
	if !errors.Is(err, rootpath.ErrTooManyLinks) || !errors.Is(err, rootpath.ErrNotDir) {
		t.Errorf("error %v: want both a link loop and a not-a-directory", err)
	}
	for _, want := range []string{"/opt/loop-a/bin", "/opt/sentinelone/bin/sentinelctl", "opt/relative"} {
		if !strings.Contains(err.Error(), "path "+want+":") {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
	for _, silent := range []string{"bitdefender", "KASPERSKY"} {
		if strings.Contains(err.Error(), silent) {
			t.Errorf("missing path %s reported as an error: %v", silent, err)
		}
	}
}

var windowsTree = map[string]string{
	"Windows/System32/kernel32.dll":                               "file:MZ",
	"Program Files (x86)/Kaspersky Lab/KES.12.1.0/avp.exe":        "file:MZ\x90\x00",
	"Program Files (x86)/Kaspersky Lab/KES.12.1.0/avpui.exe":      "file:MZ",
	"Program Files (x86)/Kaspersky Lab/NetworkAgent/klnagent.exe": "file:MZ",
	"ProgramData/Kaspersky Lab/AVP21.3/Bases":                     "dir",
	"Program Files/Common Files":                                  "dir",
}

func TestCollectWindows(t *testing.T) {
	h := openRoot(t, fixture(t, windowsTree), host.Windows)
	list := []string{
		`C:\Program Files (x86)\Kaspersky Lab`,
		`C:\PROGRAM FILES (X86)\kaspersky lab\KES.12.1.0\AVP.EXE`, // other case: found
		`c:\programdata\kaspersky lab\`,
		`C:\Program Files (x86)\Kaspersky Lab\`, // same directory: once
		`D:\Program Files\CrowdStrike`,          // missing (looked up on the system drive)
		`C:\Program Files\Common Files\Kaspersky Lab`,
		`\Program Files (x86)\Kaspersky Lab\NetworkAgent\klnagent.exe`, // drive-less: system drive
		`%ProgramData%\Kaspersky Lab`,                                  // error
		`\\server\share\Kaspersky Lab`,                                 // error
		`C:Kaspersky`,                                                  // error: drive-relative
	}
	src := New(map[host.OS][]string{host.Windows: list, host.Linux: {"/opt/kaspersky"}})
	got, err := collect(t, src, h)

	tests := []struct {
		path, name, location, detail string
	}{
		{`C:\Program Files (x86)\Kaspersky Lab`, "Kaspersky Lab", "Program Files (x86)/Kaspersky Lab",
			`C:\Program Files (x86)\Kaspersky Lab (directory, 2 entries)`},
		{`C:\PROGRAM FILES (X86)\kaspersky lab\KES.12.1.0\AVP.EXE`, "AVP.EXE", "Program Files (x86)/Kaspersky Lab/KES.12.1.0/avp.exe",
			`C:\PROGRAM FILES (X86)\kaspersky lab\KES.12.1.0\AVP.EXE (file, 4 bytes)`},
		{`c:\programdata\kaspersky lab\`, "kaspersky lab", "ProgramData/Kaspersky Lab",
			`c:\programdata\kaspersky lab\ (directory, 1 entry)`},
		{`\Program Files (x86)\Kaspersky Lab\NetworkAgent\klnagent.exe`, "klnagent.exe", "Program Files (x86)/Kaspersky Lab/NetworkAgent/klnagent.exe",
			`\Program Files (x86)\Kaspersky Lab\NetworkAgent\klnagent.exe (file, 2 bytes)`},
	}
	for _, tt := range tests {
		o, ok := got[tt.path]
		if !ok {
			t.Errorf("%s: not reported", tt.path)
			continue
		}
		delete(got, tt.path)
		if o.Name != tt.name || o.Location != tt.location || o.Detail != tt.detail {
			t.Errorf("%s:\n got name %q location %q detail %q\nwant name %q location %q detail %q",
				tt.path, o.Name, o.Location, o.Detail, tt.name, tt.location, tt.detail)
		}
	}
	for p, o := range got {
		t.Errorf("unexpected observation for %s: %+v", p, o)
	}
	if err == nil {
		t.Fatal("no error for the invalid entries")
	}
	for _, want := range []string{"%ProgramData%", `\\server`, "C:Kaspersky"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "CrowdStrike") || strings.Contains(err.Error(), "Common Files") {
		t.Errorf("missing paths reported as errors: %v", err)
	}
}

func TestCollectNothingToDo(t *testing.T) {
	src := New(map[host.OS][]string{host.Linux: {"/opt/kaspersky"}})
	tests := []struct {
		name    string
		h       *host.Host
		wantErr error // nil: no error
		errText string
	}{
		{"no filesystem", &host.Host{OS: host.Linux}, detect.ErrUnavailable, ""},
		{"missing root", &host.Host{OS: host.Linux, Root: "/nonexistent/avscout-root",
			FS: os.DirFS("/nonexistent/avscout-root")}, fs.ErrNotExist, "root /nonexistent/avscout-root"},
		{"no paths for this OS", &host.Host{OS: host.Darwin, FS: os.DirFS(t.TempDir())}, nil, ""},
		{"nothing there", &host.Host{OS: host.Linux, FS: os.DirFS(t.TempDir())}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := 0
			err := src.Collect(context.Background(), tt.h, func(detect.Observation) { n++ })
			if n != 0 {
				t.Errorf("%d observations, want none", n)
			}
			switch {
			case tt.wantErr == nil && err != nil:
				t.Errorf("error %v, want none", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("error %v, want %v", err, tt.wantErr)
			case tt.errText != "" && !strings.Contains(err.Error(), tt.errText):
				t.Errorf("error %v does not say %q", err, tt.errText)
			}
		})
	}
}

func TestCollectPermissionDenied(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("permission bits do not deny reading on Windows")
	}
	if os.Geteuid() == 0 {
		t.Skip("root reads every directory; TestCollectLinux covers real errors with a file used as a directory")
	}
	dir := fixture(t, map[string]string{
		"opt/kaspersky/kesl": "dir",
		"var/opt/kaspersky":  "dir",
	})
	locked := filepath.Join(dir, "opt")
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.Chmod(locked, 0o755); err != nil {
			t.Error(err)
		}
	})
	h := openRoot(t, dir, host.Linux)
	got, err := collect(t, New(map[host.OS][]string{host.Linux: {"/opt/kaspersky/kesl", "/var/opt/kaspersky"}}), h)
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "/opt/kaspersky/kesl") {
		t.Errorf("error %v, want permission denied naming /opt/kaspersky/kesl", err)
	}
	if _, ok := got["/var/opt/kaspersky"]; !ok || len(got) != 1 {
		t.Errorf("got %v, want only /var/opt/kaspersky", got)
	}
}

func TestCollectCanceled(t *testing.T) {
	h := openRoot(t, fixture(t, linuxTree), host.Linux)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n := 0
	err := New(map[host.OS][]string{host.Linux: {"/opt/kaspersky", "/var/opt/kaspersky"}}).
		Collect(ctx, h, func(detect.Observation) { n++ })
	if !errors.Is(err, context.Canceled) || n != 0 {
		t.Errorf("got %d observations and error %v, want none and context.Canceled", n, err)
	}
}

func TestNewCopiesList(t *testing.T) {
	list := map[host.OS][]string{host.Linux: {"/opt/kaspersky"}}
	src := New(list)
	list[host.Linux][0] = "/nowhere"
	h := openRoot(t, fixture(t, linuxTree), host.Linux)
	got, err := collect(t, src, h)
	if err != nil || len(got) != 1 {
		t.Errorf("got %v, %v; want /opt/kaspersky only", got, err)
	}
}

// TestCollectLive checks paths on this machine through the live host, whose
// absolute links (Debian's /var/run -> /run) os.Root alone would refuse.
func TestCollectLive(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the list is of Linux paths")
	}
	h, err := host.Live(host.Linux)
	if err != nil {
		t.Fatal(err)
	}
	list := []string{"/etc", "/etc/os-release", "/var/run", "/run", "/lib", "/bin/sh", "/nonexistent-avscout"}
	got, err := collect(t, New(map[host.OS][]string{host.Linux: list}), h)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list {
		_, lerr := os.Lstat(p)
		if o, ok := got[p]; ok != (lerr == nil) {
			t.Errorf("%s: reported %v (%q), lstat error %v", p, ok, o.Detail, lerr)
		} else if ok {
			t.Logf("%s: %s", o.Location, o.Detail)
		}
	}
}

func TestCollectPatterns(t *testing.T) {
	h := openRoot(t, fixture(t, windowsTree), host.Windows)
	src := New(map[host.OS][]string{host.Windows: {
		`C:\Program Files (x86)\Kaspersky Lab\KES.*`,                     // the versioned folder
		`C:\program files (x86)\kaspersky lab\kes.1[0-9].*\avp.exe`,      // case folded, pattern mid-path
		`C:\Program Files (x86)\Kaspersky Lab\Kaspersky Total Security*`, // matches nothing
		`C:\Program Files (x86)\Kaspersky Lab\[`,                         // bad pattern
	}})
	got, err := collect(t, src, h)
	for _, want := range []string{
		`C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0`,
		`C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0\avp.exe`,
	} {
		if _, ok := got[want]; !ok {
			t.Errorf("%s not reported; got %v", want, keys(got))
		}
		delete(got, want)
	}
	if len(got) != 0 {
		t.Errorf("unexpected: %v", keys(got))
	}
	if err == nil || !strings.Contains(err.Error(), "bad pattern") {
		t.Errorf("err = %v, want the bad pattern reported", err)
	}

	lh := openRoot(t, fixture(t, map[string]string{
		"home/alice/kaspersky/Kaspersky 24.0/x": "file:x",
		"home/bob/notes":                        "file:x",
		"etc/os-release":                        "file:ID=debian\n",
	}), host.Linux)
	got, err = collect(t, New(map[host.OS][]string{host.Linux: {"/home/*/kaspersky/Kaspersky [0-9]*"}}), lh)
	if _, ok := got["/home/alice/kaspersky/Kaspersky 24.0"]; !ok || len(got) != 1 || err != nil {
		t.Errorf("per-user pattern: %v, %v", keys(got), err)
	}
}

func keys(m map[string]detect.Observation) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
