package main

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// memFS is an in-memory files with Windows paths, recording writes.
type memFS struct {
	files map[string]string
	dirs  map[string]bool
	// failWrite makes WritePrivate of this path fail.
	failWrite string
	// untrusted are paths CheckOwned refuses (owned by a user).
	untrusted map[string]bool
}

func (m *memFS) CheckOwned(name string) error {
	if m.untrusted[name] {
		return errors.New(name + " is owned by a user")
	}
	return nil
}

func newMemFS() *memFS { return &memFS{files: map[string]string{}, dirs: map[string]bool{}} }

func (m *memFS) Stat(name string) (fs.FileInfo, error) {
	if data, ok := m.files[name]; ok {
		return fstest.MapFS{"f": {Data: []byte(data), Mode: 0o600, ModTime: time.Unix(0, 0)}}.Stat("f")
	}
	return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
}

func (m *memFS) ReadFile(name string) ([]byte, error) {
	if data, ok := m.files[name]; ok {
		return []byte(data), nil
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

func (m *memFS) MkdirPrivate(dir string) error { m.dirs[dir] = true; return nil }

func (m *memFS) WritePrivate(name string, data []byte) error {
	if name == m.failWrite {
		return errors.New("disk full")
	}
	if _, ok := m.files[name]; ok {
		return &fs.PathError{Op: "create", Path: name, Err: fs.ErrExist}
	}
	m.files[name] = string(data)
	return nil
}

func (m *memFS) Remove(name string) error {
	if _, ok := m.files[name]; !ok {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	delete(m.files, name)
	return nil
}

const (
	cfgPath = `C:\ProgramData\avscout\config.yaml`
	tokPath = `C:\ProgramData\avscout\collector.token`
)

func TestApply(t *testing.T) {
	for _, tc := range []struct {
		name      string
		seed      seed
		existing  map[string]string
		untrusted []string
		failWrite string
		wantErr   string // substring; "" = success
		wantRes   string // substring of the result
		wantFiles map[string]string
	}{
		{
			name:    "first install writes config and token file",
			seed:    seed{url: "https://collector.test:8443", token: "tok-123", tags: "site=berlin, dept=it"},
			wantRes: "wrote",
			wantFiles: map[string]string{
				tokPath: "tok-123\n",
				cfgPath: "collector:\n    url: \"https://collector.test:8443\"\n    token_file: \"C:\\\\ProgramData\\\\avscout\\\\collector.token\"\n" +
					"tags:\n    dept: \"it\"\n    site: \"berlin\"\n",
			},
		},
		{
			name:      "an existing config is kept",
			seed:      seed{url: "https://other.test", token: "tok-other"},
			existing:  map[string]string{cfgPath: "collector:\n  url: https://first.test\n", tokPath: "tok-first\n"},
			wantRes:   "kept",
			wantFiles: map[string]string{cfgPath: "collector:\n  url: https://first.test\n", tokPath: "tok-first\n"},
		},
		{
			name:      "a kept config owned by a user is refused",
			seed:      seed{url: "https://other.test"},
			existing:  map[string]string{cfgPath: "collector:\n  url: https://evil.test\n"},
			untrusted: []string{cfgPath},
			wantErr:   cfgPath,
			wantFiles: map[string]string{cfgPath: "collector:\n  url: https://evil.test\n"},
		},
		{
			name:      "a kept token file owned by a user is refused",
			seed:      seed{},
			existing:  map[string]string{cfgPath: "collector:\n  url: https://first.test\n", tokPath: "tok-planted\n"},
			untrusted: []string{tokPath},
			wantErr:   tokPath,
			wantFiles: map[string]string{cfgPath: "collector:\n  url: https://first.test\n", tokPath: "tok-planted\n"},
		},
		{
			name:      "a quote in a value is refused before anything is written",
			seed:      seed{url: "https://c.test", token: `tok"123`},
			wantErr:   "COLLECTOR_TOKEN contains a double quote",
			wantFiles: map[string]string{},
		},
		{
			name:      "a trailing backslash is refused",
			seed:      seed{url: "https://c.test", tags: `site=x\`},
			wantErr:   "TAGS ends in a backslash",
			wantFiles: map[string]string{},
		},
		{
			name:      "no properties write nothing",
			seed:      seed{},
			wantRes:   "not written",
			wantFiles: map[string]string{},
		},
		{
			name:      "url without a token",
			seed:      seed{url: "https://collector.test"},
			wantRes:   "wrote",
			wantFiles: map[string]string{cfgPath: "collector:\n    url: \"https://collector.test\"\n"},
		},
		{
			name:      "a stale token file is replaced",
			seed:      seed{url: "https://collector.test", token: "tok-new"},
			existing:  map[string]string{tokPath: "tok-stale\n"},
			wantRes:   "wrote",
			wantFiles: map[string]string{tokPath: "tok-new\n", cfgPath: "collector:\n    url: \"https://collector.test\"\n    token_file: \"C:\\\\ProgramData\\\\avscout\\\\collector.token\"\n"},
		},
		{
			name:      "plain http to a remote host is refused and nothing stays",
			seed:      seed{url: "http://collector.test", token: "tok-123"},
			wantErr:   "collector.url",
			wantFiles: map[string]string{},
		},
		{
			name:      "a token with a space is refused",
			seed:      seed{url: "https://collector.test", token: "tok 123"},
			wantErr:   "token",
			wantFiles: map[string]string{},
		},
		{
			name:      "a quote in the URL cannot smuggle YAML",
			seed:      seed{url: "https://c.test\"\nlog:\n  file: C:\\evil"},
			wantErr:   "COLLECTOR_URL contains a double quote",
			wantFiles: map[string]string{},
		},
		{
			name:      "bad tags",
			seed:      seed{url: "https://collector.test", tags: "site"},
			wantErr:   "TAGS",
			wantFiles: map[string]string{},
		},
		{
			name:      "a write failure removes the token file again",
			seed:      seed{url: "https://collector.test", token: "tok-123"},
			failWrite: cfgPath,
			wantErr:   "disk full",
			wantFiles: map[string]string{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMemFS()
			for k, v := range tc.existing {
				m.files[k] = v
			}
			m.failWrite = tc.failWrite
			m.untrusted = map[string]bool{}
			for _, p := range tc.untrusted {
				m.untrusted[p] = true
			}
			s := tc.seed
			s.configPath = cfgPath
			res, err := s.apply(m)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "tok-123") {
					t.Errorf("the error shows the token: %v", err)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if !strings.Contains(res, tc.wantRes) {
				t.Errorf("result %q, want %q", res, tc.wantRes)
			}
			if !m.dirs[`C:\ProgramData\avscout`] && tc.wantErr == "" {
				t.Error("the folder was not made private")
			}
			got := map[string]string{}
			for k, v := range m.files {
				if k == cfgPath {
					// The two comment lines are not the point.
					_, v, _ = strings.Cut(v, "restart the service.\n")
				}
				got[k] = v
			}
			if len(tc.existing) > 0 && (tc.wantRes == "kept" || len(tc.untrusted) > 0) {
				got = m.files
			}
			for k, want := range tc.wantFiles {
				if got[k] != want {
					t.Errorf("%s:\n got %q\nwant %q", k, got[k], want)
				}
			}
			if len(got) != len(tc.wantFiles) {
				t.Errorf("files %v, want only %v", keys(got), keys(tc.wantFiles))
			}
		})
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestQuote(t *testing.T) {
	const exe = `C:\Program Files\avscout\avscout.exe`
	for _, tc := range []struct{ in, want string }{
		{`C:\Program Files\avscout\avscout.exe service run --scm`, `"C:\Program Files\avscout\avscout.exe" service run --scm`},
		{`C:\Program Files\avscout\avscout.exe`, `"C:\Program Files\avscout\avscout.exe"`},
		{`c:\program files\AVSCOUT\avscout.EXE service run`, `"c:\program files\AVSCOUT\avscout.EXE" service run`},
		{`"C:\Program Files\avscout\avscout.exe" service run --scm`, `"C:\Program Files\avscout\avscout.exe" service run --scm`},
		{`C:\Program Files\avscout\avscout.exe.bak run`, `C:\Program Files\avscout\avscout.exe.bak run`},
		{`C:\Other\avscout.exe run`, `C:\Other\avscout.exe run`},
		{``, ``},
	} {
		if got, _ := quote(tc.in, exe); got != tc.want {
			t.Errorf("quote(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRunUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"extra"}, &out, &errOut); code != 2 {
		t.Errorf("exit %d, want 2 (%s)", code, errOut.String())
	}
	if code := run([]string{"--nope"}, &out, &errOut); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
}

func TestPurge(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "avscout")
	for _, p := range []string{"config.yaml", "collector.token", "logs/avscout.log", "spool/deadletter/x.json.gz"} {
		p = filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := purge(root); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s is left: %v", root, err)
	}
	if err := purge(root); err != nil {
		t.Errorf("purging a missing folder: %v", err)
	}
}

func TestCheckCommandLine(t *testing.T) {
	const exe = `"C:\Program Files\avscout\avscout-msi-setup.exe" `
	for _, tc := range []struct {
		cl string
		ok bool
	}{
		{exe + `--url "https://c.test:8443" --token "tok-1" --tags "site=berlin,dept=it" --service avscout`, true},
		{exe + `--url "" --token "" --tags "" --service avscout`, true},
		{`C:\Windows\Installer\MSI12.tmp --url "https://c.test" --token "" --tags ""`, true},
		{exe + `--config="C:\x\config.yaml" --url "https://c.test"`, true},
		{exe + `--purge`, true},
		// COLLECTOR_URL=https://c.test\ : the backslash escapes the quote.
		{exe + `--url "https://c.test\" --token "tok" --tags "" --service avscout`, false},
		// COLLECTOR_TOKEN=a"b
		{exe + `--url "https://c.test" --token "a"b" --tags "" --service avscout`, false},
		// TAGS=site=x" --url "https://evil.test
		{exe + `--url "https://c.test" --token "" --tags "site=x" --url "https://evil.test" --service avscout`, true /* indistinguishable here: the split values are checked, see TestApply */},
		// COLLECTOR_URL=x"" (two quotes)
		{exe + `--url "x""" --token ""`, false},
	} {
		if err := checkCommandLine(tc.cl); (err == nil) != tc.ok {
			t.Errorf("checkCommandLine(%s) = %v, want ok %v", tc.cl, err, tc.ok)
		}
	}
}

func TestMkdirPrivateRefusesALink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "avscout")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := mkdirPrivate(link); err == nil || !strings.Contains(err.Error(), "junction or symbolic link") {
		t.Errorf("mkdirPrivate through a link: %v", err)
	}
	if fi, _ := os.Stat(target); fi.Mode().Perm() != 0o755 {
		t.Errorf("the link's target changed mode: %v", fi.Mode())
	}
	if err := checkOwned(link); err == nil {
		t.Error("checkOwned accepted a link")
	}
	real := filepath.Join(dir, "real")
	if err := mkdirPrivate(real); err != nil {
		t.Fatal(err)
	}
	if err := mkdirPrivate(real); err != nil {
		t.Errorf("an existing folder of ours: %v", err)
	}
	if fi, _ := os.Stat(real); !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Errorf("%s: %v", real, fi.Mode())
	}
}

func TestPurgeDoesNotFollowLinks(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(dir, "outside")
	if err := os.MkdirAll(filepath.Join(outside, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(outside, "sub", "keep.txt")
	if err := os.WriteFile(keep, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "avscout")
	if err := os.MkdirAll(filepath.Join(root, "logs"), 0o700); err != nil {
		t.Fatal(err)
	}
	// A subfolder that is a link to a folder outside, and a link to a file.
	if err := os.Symlink(outside, filepath.Join(root, "spool")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(keep, filepath.Join(root, "logs", "avscout.log")); err != nil {
		t.Fatal(err)
	}
	if err := purge(root); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(root); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s is left: %v", root, err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("purge deleted through a link: %v", err)
	}
	// The config folder itself a link: only the link goes.
	if err := os.Symlink(outside, root); err != nil {
		t.Fatal(err)
	}
	if err := purge(root); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(root); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the link %s is left: %v", root, err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("purge deleted through the root link: %v", err)
	}
}
