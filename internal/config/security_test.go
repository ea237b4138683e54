package config

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// notRootUID is who owns files "not owned by root" in these tests.
const notRootUID = 65534 // nobody

// ownedByOther makes p owned by someone other than root: chown when the
// test runs as root, else it already is (the test's own user).
func ownedByOther(t *testing.T, p string) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	if err := os.Chown(p, notRootUID, -1); err != nil {
		t.Fatalf("chown %s: %v", p, err)
	}
}

// File modes and owners on Unix targets: a config file others can change
// is refused, as is a secret others can read; the errors say how to fix.
func TestFilePermissions(t *testing.T) {
	tests := []struct {
		name     string
		mode     fs.FileMode // of the config file
		content  string
		tokMode  fs.FileMode // of the token file, when content names it
		other    bool        // config file owned by someone else
		euid     int
		os       OS
		want     string // error fragment; "" for success
		wantHint string
	}{
		{name: "private", mode: 0o600, euid: 0, os: Linux},
		{name: "world_readable", mode: 0o644, euid: 0, os: Linux},
		{name: "world_writable", mode: 0o666, euid: 0, os: Linux,
			want: "is writable by group or others (mode 0666)", wantHint: "chmod 600 "},
		{name: "group_writable", mode: 0o620, euid: -1, os: Darwin,
			want: "is writable by group or others (mode 0620)", wantHint: "chmod 600 "},
		{name: "world_writable_windows", mode: 0o666, euid: 0, os: Windows},
		{name: "not_root_owned", mode: 0o600, other: true, euid: 0, os: Linux,
			want: "not root, who runs the agent", wantHint: "chown root "},
		{name: "not_root_owned_not_root", mode: 0o600, other: true, euid: -1, os: Linux},
		{name: "token_in_readable_file", mode: 0o644, content: "collector:\n  token: sekrit-4711\n", euid: 0, os: Linux,
			want: "a secret is in", wantHint: "which group or others can read (mode 0644): chmod 600"},
		{name: "empty_token_in_readable_file", mode: 0o644, content: "collector:\n  token: \"\"\n", euid: 0, os: Linux},
		{name: "proxy_password_in_readable_file", mode: 0o640, content: "collector:\n  proxy: http://u:sekrit-4711@proxy:3128\n", euid: 0, os: Linux,
			want: "config: collector.proxy (from ", wantHint: "a secret is in"},
		{name: "proxy_user_in_readable_file", mode: 0o640, content: "collector:\n  proxy: http://u@proxy:3128\n", euid: 0, os: Linux},
		{name: "token_in_private_file", mode: 0o600, content: "collector:\n  token: sekrit-4711\n", euid: 0, os: Linux},
		{name: "token_file_private", mode: 0o644, content: "collector:\n  token_file: TOKEN\n", tokMode: 0o600, euid: 0, os: Linux},
		{name: "token_file_group_readable", mode: 0o644, content: "collector:\n  token_file: TOKEN\n", tokMode: 0o640, euid: 0, os: Linux,
			want: "holds a secret but group or others can access it (mode 0640)", wantHint: "chmod 600 "},
		{name: "token_file_world_readable", mode: 0o644, content: "collector:\n  token_file: TOKEN\n", tokMode: 0o604, euid: -1, os: Darwin,
			want: "(mode 0604)", wantHint: "chmod 600 "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tok := filepath.Join(dir, "token")
			content := strings.ReplaceAll(tt.content, "TOKEN", tok)
			if tt.tokMode != 0 {
				writeFile(t, dir, "token", "sekrit-4711\n", tt.tokMode)
			}
			path := writeFile(t, dir, "config.yaml", content, tt.mode)
			if tt.other {
				ownedByOther(t, path)
			}
			o := LoadOptions{OS: tt.os, Path: path, Euid: tt.euid}
			if tt.os == Windows {
				o.Euid = 0
			}
			_, err := Load(o)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !strings.Contains(errText(err), tt.want) || !strings.Contains(errText(err), tt.wantHint) {
				t.Errorf("error %q\nwant %q and %q", err, tt.want, tt.wantHint)
			}
			if strings.Contains(errText(err), "sekrit-4711") {
				t.Errorf("error shows the token: %q", err)
			}
		})
	}
}

// A token file owned by another user is refused when the agent runs as
// root: that user could read or replace the token.
func TestTokenFileOwner(t *testing.T) {
	dir := t.TempDir()
	tok := writeFile(t, dir, "token", "sekrit-4711\n", 0o600)
	ownedByOther(t, tok)
	path := writeFile(t, dir, "config.yaml", yamlFor("collector.token_file", tok), 0o600)
	if os.Geteuid() != 0 {
		ownedByOther(t, path) // already true; the config file passes with Euid -1 only
	}
	_, err := Load(LoadOptions{OS: Linux, Path: path, Euid: 0})
	if !strings.Contains(errText(err), tok+" is owned by uid") || !strings.Contains(errText(err), "chown root "+tok) {
		t.Errorf("error %q", err)
	}
}

// Problems with the token file name it and never show the token.
func TestTokenFileProblems(t *testing.T) {
	const secret = "sekrit with space-4711"
	tests := []struct {
		name, content string
		mode          fs.FileMode
		missing       bool
		want          string
	}{
		{name: "trimmed", content: "\n  sekrit-4711 \r\n", mode: 0o600},
		{name: "missing", missing: true, want: "no such file or directory"},
		{name: "empty", content: " \n", mode: 0o600, want: "is empty"},
		{name: "bad_token", content: secret + "\n", mode: 0o600, want: "holds a character other than visible ASCII"},
		{name: "huge", content: strings.Repeat("x", MaxSecretSize+1), mode: 0o600, want: "larger than the limit of 16KiB"},
		{name: "directory", want: "is not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tok := filepath.Join(dir, "token")
			switch {
			case tt.missing:
			case tt.name == "directory":
				if err := os.Mkdir(tok, 0o700); err != nil {
					t.Fatal(err)
				}
			default:
				writeFile(t, dir, "token", tt.content, tt.mode)
			}
			path := writeFile(t, dir, "config.yaml", "collector:\n  url: https://c.example\n  token_file: "+tok+"\n", 0o600)
			e, err := Load(LoadOptions{OS: Linux, Path: path, Euid: -1})
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if e.Config.Collector.Token != "sekrit-4711" {
					t.Errorf("token %q", e.Config.Collector.Token)
				}
				return
			}
			want := "config: collector.token_file (from " + path + ":3): "
			if !strings.Contains(errText(err), want) || !strings.Contains(errText(err), tt.want) || !strings.Contains(errText(err), tok) {
				t.Errorf("error %q\nwant %q, %q and the path", err, want, tt.want)
			}
			if strings.Contains(errText(err), "sekrit") {
				t.Errorf("error shows the token: %q", err)
			}
		})
	}
}

// The token never appears in errors, whichever layer gives it.
func TestTokenNotInErrors(t *testing.T) {
	const secret = "s3cret token\x01"
	for _, o := range []LoadOptions{
		{LookupEnv: env(map[string]string{"AVSCOUT_COLLECTOR_TOKEN": secret})},
		{Managed: ManagedMap{"CollectorToken": secret}},
	} {
		o.OS, o.Euid, o.Path = Linux, -1, filepath.Join(t.TempDir(), "none.yaml")
		_, err := Load(o)
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error %q", err)
		}
	}
	path := writeFile(t, t.TempDir(), "config.yaml", "collector:\n  token: [s3cret]\n", 0o600)
	if _, err := Load(LoadOptions{OS: Linux, Path: path, Euid: -1}); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %q", err)
	}
}

// A private client key is required, as for the token file.
func TestClientKeyPermissions(t *testing.T) {
	dir := t.TempDir()
	cert := writeFile(t, dir, "client.pem", "pem", 0o644)
	key := writeFile(t, dir, "client-key.pem", "pem", 0o644)
	path := writeFile(t, dir, "config.yaml", yamlOf(map[string]string{"collector.client_cert": cert, "collector.client_key": key}), 0o600)
	_, err := Load(LoadOptions{OS: Linux, Path: path, Euid: -1})
	if want := "config: collector.client_key (from " + path + ":3): " + key + " holds a secret"; !strings.Contains(errText(err), want) {
		t.Errorf("error %q\nwant %q", err, want)
	}
	if err := os.Chmod(key, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(LoadOptions{OS: Linux, Path: path, Euid: -1}); err != nil {
		t.Error(err)
	}
}

// Huge or odd config files are refused before they are read.
func TestConfigFileLimits(t *testing.T) {
	dir := t.TempDir()
	huge := writeFile(t, dir, "huge.yaml", "# "+strings.Repeat("x", MaxConfigSize), 0o600)
	if _, err := Load(LoadOptions{OS: Linux, Path: huge, Euid: -1}); !strings.Contains(errText(err), "larger than the limit of 1MiB") {
		t.Errorf("huge file: %v", err)
	}
	if _, err := Load(LoadOptions{OS: Linux, Path: dir, Explicit: true, Euid: -1}); !strings.Contains(errText(err), "is not a regular file") {
		t.Errorf("directory: %v", err)
	}
	if _, err := Load(LoadOptions{OS: Linux, Path: "/dev/zero", Explicit: true, Euid: -1}); !strings.Contains(errText(err), "/dev/zero is not a regular file") {
		t.Errorf("/dev/zero: %v", err)
	}
	// A file that grows after Stat is cut at the limit by the default
	// reader and refused.
	grow := writeFile(t, dir, "grow.yaml", "", 0o600)
	_, err := Load(LoadOptions{OS: Linux, Path: grow, Euid: -1, Stat: func(p string) (fs.FileInfo, error) {
		fi, err := os.Stat(p)
		if err == nil && p == grow {
			writeFile(t, dir, "grow.yaml", "# "+strings.Repeat("x", 2*MaxConfigSize), 0o600)
		}
		return fi, err
	}})
	if !strings.Contains(errText(err), "is larger than 1MiB") {
		t.Errorf("growing file: %v", err)
	}
}
