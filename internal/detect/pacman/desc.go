package pacman

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Package is one package of pacman's local database, reduced to the
// fields a scan uses. Values are as written, without surrounding blanks.
type Package struct {
	Name        string    // %NAME%
	Version     string    // %VERSION%: [epoch:]pkgver-pkgrel
	Base        string    // %BASE%: the PKGBUILD it was built from
	Description string    // %DESC%
	URL         string    // %URL%
	Arch        string    // %ARCH%
	Packager    string    // %PACKAGER%: "Name <email>"
	InstallDate time.Time // %INSTALLDATE%, zero when absent or unreadable
	// Dependency is true when %REASON% is 1: installed to satisfy another
	// package, not asked for.
	Dependency bool
}

// Bounds on one desc file. Real ones are a few KiB: the longest fields are
// dependency lists.
const (
	// MaxDesc is the largest desc file read.
	MaxDesc = 1 << 20
	// maxLine is the longest line kept; longer ones are an error.
	maxLine = 64 << 10
)

// Errors of [ParseDesc], wrapped with where they were found.
var (
	// ErrTooLarge means a desc file is larger than [MaxDesc].
	ErrTooLarge = errors.New("larger than 1 MiB")
	// ErrNotDesc means the input is not a pacman desc file: it has no
	// %NAME% section, or a field pacman writes one way is another.
	ErrNotDesc = errors.New("not a pacman desc file")
)

// ParseDesc reads one desc file of pacman's local database
// (var/lib/pacman/local/<name>-<version>/desc, written by libalpm's
// be_local.c): sections, each a line %KEY% followed by its values one a
// line and ended by a blank line. Unknown sections and list values are
// skipped; CRLF line ends and a missing final newline are accepted.
//
// It returns an error wrapping [ErrNotDesc] when the input has no valid
// %NAME% (pacman names are ASCII letters, digits and @._+-, not starting
// with - or .), holds NUL bytes, or a line longer than 64 KiB, and one
// wrapping [ErrTooLarge] past [MaxDesc] bytes. A %NAME% or %VERSION% with
// more than one value is an error; an unreadable %INSTALLDATE% or
// %REASON% is left zero.
func ParseDesc(r io.Reader) (Package, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxDesc+1))
	if err != nil {
		return Package{}, err
	}
	if len(data) > MaxDesc {
		return Package{}, ErrTooLarge
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return Package{}, fmt.Errorf("%w: binary data (NUL byte)", ErrNotDesc)
	}
	var p Package
	values := map[string][]string{}
	key := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		switch {
		case strings.TrimSpace(line) == "":
			key = ""
		case key == "" && len(line) > 2 && line[0] == '%' && line[len(line)-1] == '%':
			key = line[1 : len(line)-1]
			if _, dup := values[key]; dup {
				return Package{}, fmt.Errorf("%w: line %d: %%%s%% again", ErrNotDesc, n, key)
			}
			values[key] = nil
		case key == "":
			return Package{}, fmt.Errorf("%w: line %d: a value outside any section: %s", ErrNotDesc, n, quote(line))
		case kept(key):
			values[key] = append(values[key], strings.TrimSpace(line))
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return Package{}, fmt.Errorf("%w: line %d longer than %d bytes", ErrNotDesc, n+1, maxLine)
		}
		return Package{}, err
	}
	one := func(k string) (string, error) {
		v := values[k]
		if len(v) > 1 {
			return "", fmt.Errorf("%w: %%%s%% has %d values", ErrNotDesc, k, len(v))
		}
		if len(v) == 0 {
			return "", nil
		}
		return v[0], nil
	}
	for _, f := range []struct {
		key string
		dst *string
	}{
		{"NAME", &p.Name}, {"VERSION", &p.Version}, {"BASE", &p.Base}, {"DESC", &p.Description},
		{"URL", &p.URL}, {"ARCH", &p.Arch}, {"PACKAGER", &p.Packager},
	} {
		if *f.dst, err = one(f.key); err != nil {
			return Package{}, err
		}
	}
	if !validName(p.Name) {
		if p.Name == "" {
			return Package{}, fmt.Errorf("%w: no %%NAME%%", ErrNotDesc)
		}
		return Package{}, fmt.Errorf("%w: bad package name %s", ErrNotDesc, quote(p.Name))
	}
	if d, _ := one("INSTALLDATE"); d != "" {
		if secs, err := strconv.ParseInt(d, 10, 64); err == nil && secs > 0 {
			p.InstallDate = time.Unix(secs, 0).UTC()
		}
	}
	if r, _ := one("REASON"); r == "1" {
		p.Dependency = true
	}
	return p, nil
}

// kept reports whether the values of a section are read: the single
// fields above. List sections (%DEPENDS%, %LICENSE% …) are skipped.
func kept(key string) bool {
	switch key {
	case "NAME", "VERSION", "BASE", "DESC", "URL", "ARCH", "PACKAGER", "INSTALLDATE", "REASON":
		return true
	}
	return false
}

// validName follows alpm's rules for package names (makepkg's lint):
// ASCII letters, digits and @._+-, not starting with a hyphen or a dot.
func validName(s string) bool {
	if s == "" || s[0] == '-' || s[0] == '.' || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("@._+-", c) >= 0) {
			return false
		}
	}
	return true
}

// quote shows a piece of input in an error message, shortened.
func quote(s string) string {
	const max = 40
	if len(s) > max {
		return strconv.Quote(s[:max]) + "…"
	}
	return strconv.Quote(s)
}
