package macos

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/packaging/macos/macpkg"
)

// Cross-checks of packaging/macos/macpkg against an independent implementation,
// libarchive's bsdtar: its xar writer's archives (zlib-compressed and
// stored) read back through macpkg.OpenXar, and macpkg's cpio odc read by
// bsdtar with the owners and modes Installer will apply.

func TestXarWrittenByBsdtar(t *testing.T) {
	needTools(t, "bsdtar")
	src := t.TempDir()
	want := map[string][]byte{"d/a.txt": []byte("hello\n"), "d/b.bin": bytes.Repeat([]byte{0, 1, 2, 250}, 3000)}
	for p, b := range want {
		if err := os.MkdirAll(filepath.Join(src, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, p), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, compression := range []string{"gzip", "none"} {
		t.Run(compression, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "t.xar")
			cmd := exec.Command("bsdtar", "--format", "xar", "--options", "xar:compression="+compression, "-cf", f, "d")
			cmd.Dir = src
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("bsdtar: %v\n%s", err, out)
			}
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			x, err := macpkg.OpenXar(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			for p, w := range want {
				got, err := x.ReadFile(p)
				if err != nil || !bytes.Equal(got, w) {
					t.Errorf("%s: %d bytes, %v; want %d bytes", p, len(got), err, len(w))
				}
			}
			if e, ok := x.Entry("d"); !ok || !e.Dir {
				t.Errorf("directory d: %+v", e)
			}
		})
	}
}

func TestCPIOReadByBsdtar(t *testing.T) {
	needTools(t, "bsdtar")
	mt := time.Unix(1700000000, 0)
	files := []macpkg.File{
		{Path: ".", Mode: fs.ModeDir | 0o755, ModTime: mt},
		{Path: "opt", Mode: fs.ModeDir | 0o755, ModTime: mt},
		{Path: "opt/tool", Mode: 0o755, ModTime: mt, Data: []byte("#!/bin/sh\n")},
		{Path: "opt/conf", Mode: 0o600, GID: 80, ModTime: mt, Data: []byte("k: v\n")},
		{Path: "opt/link", Mode: fs.ModeSymlink | 0o755, ModTime: mt, Target: "tool"},
	}
	var buf bytes.Buffer
	if err := macpkg.WriteCPIO(&buf, files); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bsdtar", "--numeric-owner", "-tvf", "-")
	cmd.Stdin = &buf
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bsdtar -tvf: %v\n%s", err, out)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) < 9 {
			t.Fatalf("bsdtar line %q", line)
		}
		// mode, links, uid, gid, size, month day time, name [-> target]
		got = append(got, strings.Join(append([]string{f[0], f[2], f[3], f[4]}, f[8:]...), " "))
	}
	want := []string{
		"drwxr-xr-x 0 0 0 .",
		"drwxr-xr-x 0 0 0 ./opt",
		"-rwxr-xr-x 0 0 10 ./opt/tool",
		"-rw------- 0 80 5 ./opt/conf",
		"lrwxr-xr-x 0 0 4 ./opt/link -> tool",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("bsdtar lists\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
