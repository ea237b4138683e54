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
			wantErr:   "collector.url",
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
			if !m.dirs[`C:\ProgramData\avscout`] {
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
			if len(tc.existing) > 0 && tc.wantRes == "kept" {
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
