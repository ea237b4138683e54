package macpkg

import (
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"
)

// File is one entry of a package payload: a directory, regular file or
// symbolic link, with the ownership and mode it gets on the target Mac.
type File struct {
	// Path is slash-separated and relative to the install location, "."
	// for the install location itself (e.g. "opt/avscout/bin/avscout").
	Path string
	// Mode holds the permission bits and fs.ModeDir or fs.ModeSymlink.
	Mode     fs.FileMode
	UID, GID uint32
	ModTime  time.Time
	// Data is a regular file's content.
	Data []byte
	// Target is a symbolic link's target.
	Target string
}

// Unix file type bits (<sys/stat.h>), shared by cpio and Bom.
const (
	sIFMT  = 0o170000
	sIFDIR = 0o040000
	sIFREG = 0o100000
	sIFLNK = 0o120000
)

// unixMode converts f.Mode to the st_mode a Unix stat would show.
func (f File) unixMode() (uint32, error) {
	perm := uint32(f.Mode.Perm())
	if f.Mode&fs.ModeSetuid != 0 {
		perm |= 0o4000
	}
	if f.Mode&fs.ModeSetgid != 0 {
		perm |= 0o2000
	}
	if f.Mode&fs.ModeSticky != 0 {
		perm |= 0o1000
	}
	switch f.Mode.Type() {
	case fs.ModeDir:
		return sIFDIR | perm, nil
	case fs.ModeSymlink:
		return sIFLNK | perm, nil
	case 0:
		return sIFREG | perm, nil
	}
	return 0, fmt.Errorf("%s: unsupported file type %v", f.Path, f.Mode.Type())
}

// fileMode converts a Unix st_mode back to an fs.FileMode.
func fileMode(m uint32) (fs.FileMode, error) {
	mode := fs.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	switch m & sIFMT {
	case sIFDIR:
		return mode | fs.ModeDir, nil
	case sIFLNK:
		return mode | fs.ModeSymlink, nil
	case sIFREG:
		return mode, nil
	}
	return 0, fmt.Errorf("unsupported file type %#o", m&sIFMT)
}

// size is the entry's content size: the data for files, the target for
// links (as cpio and Bom count them), 0 for directories.
func (f File) size() int {
	switch f.Mode.Type() {
	case fs.ModeSymlink:
		return len(f.Target)
	case 0:
		return len(f.Data)
	}
	return 0
}

// checkTree validates a payload listing: clean relative paths, "." first,
// every parent listed before its children, no duplicates.
func checkTree(files []File) error {
	seen := make(map[string]bool, len(files)) // path → is a directory
	for i, f := range files {
		p := f.Path
		if i == 0 {
			if p != "." || !f.Mode.IsDir() {
				return fmt.Errorf("first entry must be the directory \".\", got %q", p)
			}
			seen[p] = true
			continue
		}
		if p == "" || p == "." || path.Clean(p) != p || strings.HasPrefix(p, "/") || strings.HasPrefix(p, "../") || p == ".." {
			return fmt.Errorf("%q: not a clean relative path", p)
		}
		if _, dup := seen[p]; dup {
			return fmt.Errorf("%q: listed twice", p)
		}
		if parent := path.Dir(p); !seen[parent] {
			return fmt.Errorf("%q: parent directory %q not listed before it", p, parent)
		}
		if _, err := f.unixMode(); err != nil {
			return err
		}
		seen[p] = f.Mode.IsDir()
	}
	if len(files) == 0 {
		return fmt.Errorf("empty payload")
	}
	return nil
}
