package safefs

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/windows"
)

// What an opened file is, read without the full Stat, is what
// os.File.Stat says it is: a directory, a regular file, the console.
func TestOpenedInfoMatchesStat(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "avp.exe")
	if err := os.WriteFile(file, []byte("MZ"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{dir, file, "CONIN$", "NUL"} {
		f, err := os.Open(name)
		if err != nil {
			t.Logf("%s: %v", name, err)
			continue
		}
		m, _, err := openedInfo(f)
		fi, serr := f.Stat()
		f.Close()
		if err != nil || serr != nil {
			t.Errorf("%s: %v; Stat: %v", name, err, serr)
			continue
		}
		if m.Type() != fi.Mode().Type() {
			t.Errorf("%s: type %v, Stat says %v", name, m.Type(), fi.Mode().Type())
		}
	}
}

func TestAttrMode(t *testing.T) {
	for _, tc := range []struct {
		attrs, tag uint32
		want       fs.FileMode
	}{
		{windows.FILE_ATTRIBUTE_NORMAL, 0, 0},
		{windows.FILE_ATTRIBUTE_DIRECTORY, 0, fs.ModeDir},
		{windows.FILE_ATTRIBUTE_REPARSE_POINT, reparseTagDedup, 0},
		{windows.FILE_ATTRIBUTE_REPARSE_POINT, 0x9000001A, fs.ModeIrregular}, // a cloud file placeholder
		{windows.FILE_ATTRIBUTE_REPARSE_POINT | windows.FILE_ATTRIBUTE_DIRECTORY, windows.IO_REPARSE_TAG_MOUNT_POINT, fs.ModeIrregular},
		{windows.FILE_ATTRIBUTE_REPARSE_POINT | windows.FILE_ATTRIBUTE_DIRECTORY, windows.IO_REPARSE_TAG_SYMLINK, fs.ModeSymlink},
		{windows.FILE_ATTRIBUTE_REPARSE_POINT, reparseTagAFUnix, fs.ModeSocket},
	} {
		if got := attrMode(tc.attrs, tc.tag); got != tc.want {
			t.Errorf("attrs %#x tag %#x: %v, want %v", tc.attrs, tc.tag, got, tc.want)
		}
	}
}
