package macos_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/macos"
	"github.com/avscout/avscout/internal/detect/macos/mactest"
	"github.com/avscout/avscout/internal/rootpath"
	"github.com/avscout/avscout/internal/safefs"
)

func TestDecodePlistForms(t *testing.T) {
	want := map[string]any{
		"CFBundleIdentifier": "com.kaspersky.kav",
		"CFBundleVersion":    int64(21),
		"Enabled":            true,
		"InstallDate":        time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC),
		"List":               []any{"a", "b"},
	}
	xml := mactest.EncodeXML(t, want)
	for name, b := range map[string][]byte{
		"xml":      xml,
		"binary":   mactest.ToBinary(t, xml),
		"openstep": []byte(`{ CFBundleIdentifier = "com.kaspersky.kav"; List = (a, b); }`),
	} {
		t.Run(name, func(t *testing.T) {
			d, err := macos.DecodePlist(b)
			if err != nil {
				t.Fatal(err)
			}
			if d.String("CFBundleIdentifier") != "com.kaspersky.kav" || !reflect.DeepEqual(d.Strings("List"), []string{"a", "b"}) {
				t.Errorf("got %v", d)
			}
			if name == "openstep" {
				return
			}
			if d.String("CFBundleVersion") != "21" || !d.Bool("Enabled") {
				t.Errorf("got %v", d)
			}
			if ts, ok := d.Time("InstallDate"); !ok || !ts.Equal(want["InstallDate"].(time.Time)) {
				t.Errorf("InstallDate = %v", ts)
			}
		})
	}
}

func TestDecodePlistBad(t *testing.T) {
	bin := mactest.Encode(t, mactest.InfoPlist("com.example.x", "X", "1", "X"), mactest.Binary)
	for name, b := range map[string][]byte{
		"empty":            {},
		"array":            mactest.Encode(t, []any{"x"}, mactest.Binary),
		"string":           []byte(`"just a string"`),
		"truncated_binary": bin[:len(bin)-1],
		"binary_header":    []byte("bplist00"),
		"unclosed_xml":     []byte(`<?xml version="1.0"?><plist version="1.0"><dict><key>a</key>`),
		"nul_bytes":        bytes.Repeat([]byte{0}, 64),
		"bad_offset_table": append(bytes.Clone(bin[:len(bin)-32]), bytes.Repeat([]byte{0xff}, 32)...),
	} {
		t.Run(name, func(t *testing.T) {
			if d, err := macos.DecodePlist(b); !errors.Is(err, macos.ErrBadPlist) {
				t.Errorf("DecodePlist = %v, %v; want ErrBadPlist", d, err)
			}
		})
	}
}

func TestDictGetters(t *testing.T) {
	d := macos.Dict{"s": "x", "u": uint64(7), "f": 1.5, "b": true, "arr": []any{"a", int64(1), "b"},
		"dict": map[string]any{"k": "v"}}
	if d.String("u") != "7" || d.String("f") != "1.5" || d.String("b") != "true" || d.String("arr") != "" || d.String("missing") != "" {
		t.Error("String")
	}
	if !reflect.DeepEqual(d.Strings("arr"), []string{"a", "b"}) || d.Strings("s") != nil {
		t.Error("Strings")
	}
	if d.Dict("dict").String("k") != "v" || d.Dict("s") != nil || d.Dict("missing").String("k") != "" {
		t.Error("Dict")
	}
	if d.Bool("s") || len(d.Array("dict")) != 0 {
		t.Error("Bool/Array")
	}
}

func TestReadPlistLimit(t *testing.T) {
	root := t.TempDir()
	big := append([]byte(`<?xml version="1.0"?><plist><dict><key>a</key><string>`), bytes.Repeat([]byte("x"), macos.MaxPlist)...)
	mactest.WriteFile(t, root, "big.plist", big, 0o644)
	_, _, err := macos.ReadPlist(os.DirFS(root), "big.plist")
	if err == nil || !strings.Contains(err.Error(), "big.plist") || !strings.Contains(err.Error(), "5 MiB") {
		t.Errorf("err = %v", err)
	}
}

func TestOpenFindsFilesAsMacOSWould(t *testing.T) {
	root := t.TempDir()
	mactest.WriteFile(t, root, "private/var/db/receipts/a.plist", []byte("x"), 0o644)
	mactest.Symlink(t, root, "var", "/private/var") // absolute: os.Root refuses it
	mactest.WriteFile(t, root, "Applications/Foo.app/Contents/Info.plist", []byte("x"), 0o644)
	mactest.Symlink(t, root, "loop", "loop")
	r, err := os.OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	fsys := r.FS()
	for _, tt := range []struct{ name, real string }{
		{"var/db/receipts/a.plist", "private/var/db/receipts/a.plist"},
		{"applications/foo.app/contents/info.plist", "Applications/Foo.app/Contents/Info.plist"},
		{"Applications/Foo.app/Contents/Info.plist", "Applications/Foo.app/Contents/Info.plist"},
	} {
		f, real, err := macos.Open(context.Background(), fsys, tt.name, safefs.Plist)
		if err != nil || real != tt.real {
			t.Errorf("Open(%q) = %q, %v; want %q", tt.name, real, err, tt.real)
			continue
		}
		f.Close()
	}
	if _, _, err := macos.Open(context.Background(), fsys, "loop", safefs.Plist); !errors.Is(err, rootpath.ErrTooManyLinks) {
		t.Errorf("loop: %v", err)
	}
	if _, _, err := macos.Open(context.Background(), fsys, "Applications/Foo.app", safefs.Plist); !errors.Is(err, macos.ErrNotRegular) {
		t.Errorf("directory: %v", err)
	}
	if _, _, err := macos.Open(context.Background(), fsys, "missing", safefs.Plist); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
	real, ents, err := macos.ReadDir(context.Background(), fsys, "var/db/receipts")
	if err != nil || real != "private/var/db/receipts" || len(ents) != 1 {
		t.Errorf("ReadDir = %q, %v, %v", real, ents, err)
	}
	ok, err := macos.Exists(fsys, "var/db/receipts/a.plist/x")
	if ok || err != nil {
		t.Errorf("Exists under a file = %v, %v", ok, err)
	}
}

func TestReadDirCancelled(t *testing.T) {
	root := t.TempDir()
	for i := range 3000 {
		mactest.WriteFile(t, root, fmt.Sprintf("d/f%04d", i), nil, 0o644)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := macos.ReadDir(ctx, os.DirFS(root), "d")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
	_, ents, err := macos.ReadDir(context.Background(), os.DirFS(root), "d")
	if err != nil || len(ents) != 3000 || ents[0].Name() != "f0000" || ents[2999].Name() != "f2999" {
		t.Errorf("%d entries, %v", len(ents), err)
	}
}

func TestErrors(t *testing.T) {
	var e macos.Errors
	if e.Err() != nil {
		t.Error("empty")
	}
	for i := range 25 {
		e.Add(fmt.Errorf("error %d", i))
	}
	e.Add(nil)
	msg := e.Err().Error()
	if e.Len() != 25 || !strings.Contains(msg, "error 9") || strings.Contains(msg, "error 10") || !strings.HasSuffix(msg, "and 15 more errors") {
		t.Errorf("%d: %s", e.Len(), msg)
	}
	if detect.IsWarning(e.Err()) {
		t.Error("plain errors counted as warnings")
	}

	// Warnings past the limit are counted as a warning; one failure among
	// them makes the count a failure.
	var w macos.Errors
	for i := range 25 {
		w.Add(detect.Warn(fmt.Errorf("bundle %d", i)))
	}
	if err := w.Err(); !detect.IsWarning(err) || !strings.HasSuffix(err.Error(), "and 15 more errors") {
		t.Errorf("warnings only: %v, IsWarning %v", err, detect.IsWarning(err))
	}
	w.Add(errors.New("Users: permission denied"))
	if detect.IsWarning(w.Err()) {
		t.Errorf("a dropped failure hidden among warnings: %v", w.Err())
	}
}

func TestBundleTitle(t *testing.T) {
	for _, tt := range []struct {
		b    macos.Bundle
		want string
	}{
		{macos.Bundle{DisplayName: "D", Name: "N"}, "D"},
		{macos.Bundle{Name: "N"}, "N"},
		{macos.Bundle{}, "Foo Bar"},
	} {
		if got := tt.b.Title("Applications/Foo Bar.app"); got != tt.want {
			t.Errorf("%+v: %q", tt.b, got)
		}
	}
	if v := (macos.Bundle{Version: "100"}).VersionString(); v != "100" {
		t.Error(v)
	}
}

// An executable name that climbs out of the bundle is refused.
func TestExecutableSignatureRejectsPaths(t *testing.T) {
	root := t.TempDir()
	mactest.WriteFile(t, root, "Applications/X.app/Contents/MacOS/X", []byte("x"), 0o755)
	_, _, err := macos.ExecutableSignature(os.DirFS(filepath.Clean(root)), "Applications/X.app", macos.Bundle{Executable: "../../../etc/passwd"})
	if err == nil || !strings.Contains(err.Error(), "not a file name") {
		t.Errorf("err = %v", err)
	}
}
