package rootpath

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"testing"
	"testing/fstest"
)

func TestResolve(t *testing.T) {
	dir := fixture(t, map[string]string{
		"opt/kaspersky/kesl/libexec/kesl":     "file:x",
		"var/run":                             "link:/run",
		"run/kesl":                            "dir",
		"lib":                                 "link:usr/lib",
		"usr/lib/systemd/system/kesl.service": "file:[Unit]\n",
		"etc/systemd/system/multi-user.target.wants/kesl.service": "link:/lib/systemd/system/kesl.service",
		"etc/systemd/system/masked.service":                       "link:/dev/null",
		"up":                                                      "link:../../../opt",
		"a/b":                                                     "link:../c",
		"c/d":                                                     "file:d",
		"loop":                                                    "link:loop",
		"Program Files/Kaspersky Lab/avp.exe":                     "file:MZ",
		"Program Files/KASPERSKY LAB/avp.exe":                     "file:MZ", // a case-sensitive root may hold both
		"winlink":                                                 "link:C:\\Program Files\\Kaspersky Lab",
		"file":                                                    "file:f",
	})
	r, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fsys := r.FS()

	tests := []struct {
		name    string
		opt     Options
		want    string
		wantDir bool
		wantErr error
	}{
		{name: "opt/kaspersky/kesl/libexec/kesl", want: "opt/kaspersky/kesl/libexec/kesl"},
		{name: ".", want: ".", wantDir: true},
		{name: "var/run/kesl", want: "run/kesl", wantDir: true},
		{name: "var/run", want: "run", wantDir: true},
		{name: "var/run", opt: Options{NoFollow: true}, want: "var/run"},
		{name: "lib/systemd/system/kesl.service", want: "usr/lib/systemd/system/kesl.service"},
		{name: "etc/systemd/system/multi-user.target.wants/kesl.service", want: "usr/lib/systemd/system/kesl.service"},
		{name: "etc/systemd/system/masked.service", wantErr: fs.ErrNotExist}, // no dev/null in the root
		{name: "etc/systemd/system/masked.service", opt: Options{NoFollow: true}, want: "etc/systemd/system/masked.service"},
		{name: "up/kaspersky", want: "opt/kaspersky", wantDir: true}, // ".." stops at the root
		{name: "a/b/d", want: "c/d"},
		{name: "loop", wantErr: ErrTooManyLinks},
		{name: "loop", opt: Options{NoFollow: true}, want: "loop"},
		{name: "loop/x", opt: Options{NoFollow: true}, wantErr: ErrTooManyLinks},
		{name: "file/x", wantErr: ErrNotDir},
		{name: "missing/x", wantErr: fs.ErrNotExist},
		{name: "OPT/kaspersky", wantErr: fs.ErrNotExist},
		{name: "OPT/KASPERSKY/kesl", opt: Options{FoldCase: true}, want: "opt/kaspersky/kesl", wantDir: true},
		{name: "program files/kaspersky lab/AVP.exe", opt: Options{FoldCase: true}, want: "Program Files/KASPERSKY LAB/avp.exe"},
		{name: "Program Files/Kaspersky Lab/avp.exe", opt: Options{FoldCase: true}, want: "Program Files/Kaspersky Lab/avp.exe"},
		{name: "winlink/avp.exe", want: "Program Files/Kaspersky Lab/avp.exe"},
		{name: "/opt", wantErr: fs.ErrInvalid},
		{name: "opt/../opt", wantErr: fs.ErrInvalid}, // ".." only ever comes from link targets
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %+v", tt.name, tt.opt), func(t *testing.T) {
			got, fi, err := Resolve(fsys, tt.name, tt.opt)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Resolve = %q, %v; want error %v", got, err, tt.wantErr)
				}
				var pe *fs.PathError
				if !errors.As(err, &pe) || pe.Path != tt.name {
					t.Errorf("error %v does not name %s", err, tt.name)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Resolve = %q, %v; want %q", got, err, tt.want)
			}
			if fi.IsDir() != tt.wantDir {
				t.Errorf("IsDir = %v, want %v", fi.IsDir(), tt.wantDir)
			}
		})
	}
}

// TestResolveMapFS checks that Resolve needs nothing beyond io/fs, so it
// works on any FS, including ones without links.
func TestResolveMapFS(t *testing.T) {
	fsys := fstest.MapFS{
		"Program Files (x86)/Kaspersky Lab/KES.12.1.0/avp.exe": {Data: []byte("MZ")},
		"ProgramData/Kaspersky Lab":                            {Mode: fs.ModeDir},
		"Documents and Settings":                               {Data: []byte("Users"), Mode: fs.ModeSymlink},
		"Users/Public":                                         {Mode: fs.ModeDir},
	}
	tests := []struct {
		name, want string
	}{
		{"PROGRAM FILES (X86)/kaspersky lab/kes.12.1.0/AVP.EXE", "Program Files (x86)/Kaspersky Lab/KES.12.1.0/avp.exe"},
		{"programdata/kaspersky lab", "ProgramData/Kaspersky Lab"},
		{"documents and settings/public", "Users/Public"},
	}
	for _, tt := range tests {
		got, _, err := Resolve(fsys, tt.name, Options{FoldCase: true})
		if err != nil || got != tt.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

// TestResolveFoldBounded checks that a case-insensitive lookup gives up
// after maxFoldEntries entries instead of reading a huge directory.
func TestResolveFoldBounded(t *testing.T) {
	fsys := fstest.MapFS{}
	for i := range maxFoldEntries + 10 {
		fsys[fmt.Sprintf("big/f%05d", i)] = &fstest.MapFile{}
	}
	fsys["big/zzz-target"] = &fstest.MapFile{} // sorts last: beyond the bound
	if _, _, err := Resolve(fsys, "big/F00001", Options{FoldCase: true}); err != nil {
		t.Errorf("early entry: %v", err)
	}
	if _, _, err := Resolve(fsys, "big/ZZZ-TARGET", Options{FoldCase: true}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("entry past the bound: error %v, want not exist", err)
	}
}

// openCounter is a MapFS that counts what is opened: Resolve itself only
// stats, so each open is a folder listed to match a name in another case.
type openCounter struct {
	fstest.MapFS
	opens int
}

func (c *openCounter) Open(name string) (fs.File, error) {
	c.opens++
	return c.MapFS.Open(name)
}

// On a filesystem that matches any case itself, a name missing as written
// is missing: no folder is listed to look for it in another case. (This
// MapFS does not match any case, so the lookup fails where folding finds
// it.)
func TestResolveCaseInsensitiveFS(t *testing.T) {
	fsys := &openCounter{MapFS: fstest.MapFS{"Program Files/App/x.exe": {}}}
	const name = "program files/app/X.EXE"
	if got, _, err := Resolve(fsys, name, Options{FoldCase: true}); err != nil || got != "Program Files/App/x.exe" || fsys.opens == 0 {
		t.Fatalf("folding Resolve(%q) = %q, %v after %d listings", name, got, err, fsys.opens)
	}
	fsys.opens = 0
	if got, _, err := Resolve(fsys, name, Options{FoldCase: true, CaseInsensitiveFS: true}); !errors.Is(err, fs.ErrNotExist) || fsys.opens != 0 {
		t.Errorf("Resolve(%q) on a case-insensitive filesystem = %q, %v after %d listings; want not exist after none", name, got, err, fsys.opens)
	}
}
