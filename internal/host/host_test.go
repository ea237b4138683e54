package host

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func TestDetectOS(t *testing.T) {
	for _, tt := range []struct {
		name  string
		files []string
		want  OS
	}{
		{"debian", []string{"etc/os-release", "var/lib/dpkg/status"}, Linux},
		{"os-release only under usr", []string{"usr/lib/os-release"}, Linux},
		{"alpine without os-release", []string{"lib/apk/db/installed"}, Linux},
		{"macos", []string{"System/Library/CoreServices/SystemVersion.plist", "etc/hosts"}, Darwin},
		{"windows", []string{"Windows/System32/ntoskrnl.exe", "Program Files/x"}, Windows},
		{"windows upper case", []string{"WINDOWS/system32/config/SOFTWARE"}, Windows},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for _, f := range tt.files {
				fsys[f] = &fstest.MapFile{}
			}
			got, err := DetectOS(fsys)
			if err != nil || got != tt.want {
				t.Errorf("DetectOS = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if _, err := DetectOS(fstest.MapFS{"home/user/notes.txt": {}}); !errors.Is(err, ErrUnknownOS) {
		t.Errorf("empty root: err %v, want ErrUnknownOS", err)
	}
}

func TestParseOSRelease(t *testing.T) {
	// From a Rocky Linux 9.4 image (docker.io/rockylinux:9), trimmed.
	in := `NAME="Rocky Linux"
VERSION="9.4 (Blue Onyx)"
ID="rocky"
# a comment
VERSION_ID="9.4"
PRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"
BROKEN LINE
HOME_URL='https://rockylinux.org/'
`
	rel, err := ParseOSRelease(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := OSRelease{ID: "rocky", Name: "Rocky Linux", PrettyName: "Rocky Linux 9.4 (Blue Onyx)", VersionID: "9.4"}
	if rel != want {
		t.Errorf("got %+v, want %+v", rel, want)
	}
	if rel, _ := ParseOSRelease(strings.NewReader(`PRETTY_NAME="say \"hi\""`)); rel.PrettyName != `say "hi"` {
		t.Errorf("escaped quotes: %q", rel.PrettyName)
	}
}

func TestOpenRoot(t *testing.T) {
	root := t.TempDir()
	write := func(name, data string) {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("usr/lib/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n")
	if err := os.Symlink("../usr/lib/os-release", filepath.Join(root, "etc-os-release-link")); err != nil {
		t.Fatal(err)
	}
	write("etc/hostname", "image-host\n")
	write("etc/machine-id", "0123456789abcdef0123456789abcdef\n")

	h, err := OpenRoot(root, "")
	if err != nil {
		t.Fatal(err)
	}
	if h.OS != Linux || h.Live || h.Processes != nil {
		t.Errorf("host %+v: want a non-live linux root", h)
	}
	info := h.Describe()
	if info.Hostname != "image-host" || info.OSVersion != "Debian GNU/Linux 12 (bookworm)" || info.Root != root {
		t.Errorf("Describe = %+v", info)
	}
	if info.ID != StableID("0123456789abcdef0123456789abcdef", "") || len(info.ID) != 36 {
		t.Errorf("ID = %q", info.ID)
	}
	if strings.Contains(info.ID, "0123456789abcdef") {
		t.Error("the raw machine id leaks into the host id")
	}

	// A root that does not exist, a file, and an unknown OS fail clearly.
	if _, err := OpenRoot(filepath.Join(root, "missing"), ""); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing root: %v", err)
	}
	if _, err := OpenRoot(filepath.Join(root, "etc/hostname"), ""); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("file as root: %v", err)
	}
	empty := t.TempDir()
	if _, err := OpenRoot(empty, ""); !errors.Is(err, ErrUnknownOS) {
		t.Errorf("empty root: %v", err)
	}
	if h, err := OpenRoot(empty, Darwin); err != nil || h.OS != Darwin {
		t.Errorf("--os overrides detection: %v %v", h, err)
	}
}

func TestParseOS(t *testing.T) {
	for _, s := range []string{"linux", "windows", "darwin"} {
		if o, err := ParseOS(s); err != nil || string(o) != s {
			t.Errorf("ParseOS(%q) = %q, %v", s, o, err)
		}
	}
	if _, err := ParseOS("macos"); err == nil {
		t.Error("ParseOS accepted macos")
	}
}

func TestStableID(t *testing.T) {
	a, b := StableID("m1", "h"), StableID("m2", "h")
	if a == b || a != StableID("m1", "other") {
		t.Errorf("ids %s %s: want stable per machine id, distinct across machines", a, b)
	}
	if StableID("", "h1") == StableID("", "h2") {
		t.Error("without a machine id the hostname must distinguish hosts")
	}
}

// Sub reads a folder of a root as a filesystem of its own: names in it
// resolve as in FS, a missing name is missing in both, and a link leaving
// the folder is refused (so callers look it up in FS) rather than
// followed out of it.
func TestSub(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"usr/lib/systemd/system/kesl.service": "[Service]\n",
		"usr/sbin/sshd":                       "x",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"usr/lib/systemd/system/alias.service": "kesl.service",
		"usr/lib/systemd/system/up.service":    "../../../sbin/sshd",
		"usr/lib/systemd/system/abs.service":   "/usr/sbin/sshd",
	} {
		if err := os.Symlink(target, filepath.Join(dir, filepath.FromSlash(link))); err != nil {
			t.Skipf("cannot make symbolic links here: %v", err)
		}
	}
	h, err := OpenRoot(dir, Linux)
	if err != nil {
		t.Fatal(err)
	}
	sub, release, err := h.Sub("usr/lib/systemd/system")
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if b, err := fs.ReadFile(sub, "alias.service"); err != nil || string(b) != "[Service]\n" {
		t.Errorf("a link inside the folder: %q, %v", b, err)
	}
	if _, err := fs.Stat(sub, "gone.service"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing name: %v, want fs.ErrNotExist", err)
	}
	for _, leaving := range []string{"up.service", "abs.service"} {
		if _, err := fs.Stat(sub, leaving); err == nil || errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s leaves the folder: %v, want an error other than not-exist", leaving, err)
		}
	}
	if _, _, err := h.Sub("usr/nowhere"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing folder: %v", err)
	}
	if _, _, err := (&Host{FS: os.DirFS(dir)}).Sub("usr"); !errors.Is(err, ErrNoSub) {
		t.Errorf("a host built in a test: %v, want ErrNoSub", err)
	}
}
