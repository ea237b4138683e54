package host

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// markers are files or directories whose presence tells the OS of a root.
// They are checked in order; the first present one wins.
var osMarkers = []struct {
	path string
	os   OS
}{
	{"System/Library/CoreServices/SystemVersion.plist", Darwin},
	{"Windows/System32", Windows},
	{"WINDOWS/system32", Windows},
	{"windows/system32", Windows},
	{"etc/os-release", Linux},
	{"usr/lib/os-release", Linux},
	{"var/lib/dpkg/status", Linux},
	{"var/lib/rpm", Linux},
	{"lib/apk/db/installed", Linux},
}

// ErrUnknownOS means the content of a root does not say which OS it holds.
var ErrUnknownOS = errors.New("cannot tell the operating system of this root")

// DetectOS tells which operating system a root holds from its content:
// macOS's SystemVersion.plist, a Windows directory tree, or a Linux
// os-release file or package database.
func DetectOS(fsys fs.FS) (OS, error) {
	for _, m := range osMarkers {
		if _, err := fs.Stat(fsys, m.path); err == nil {
			return m.os, nil
		}
	}
	return "", ErrUnknownOS
}

// OSRelease holds the fields of an os-release(5) file that reports use.
type OSRelease struct {
	ID         string
	Name       string
	PrettyName string
	VersionID  string
}

// ParseOSRelease reads an os-release(5) file: KEY=value lines, values
// optionally quoted, comments and blank lines ignored.
func ParseOSRelease(r io.Reader) (OSRelease, error) {
	var rel OSRelease
	sc := bufio.NewScanner(io.LimitReader(r, 64<<10))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		v = unquote(v)
		switch k {
		case "ID":
			rel.ID = v
		case "NAME":
			rel.Name = v
		case "PRETTY_NAME":
			rel.PrettyName = v
		case "VERSION_ID":
			rel.VersionID = v
		}
	}
	if err := sc.Err(); err != nil {
		return rel, fmt.Errorf("os-release: %w", err)
	}
	return rel, nil
}

func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		v = v[1 : len(v)-1]
		v = strings.NewReplacer(`\"`, `"`, `\\`, `\`, `\$`, `$`, "\\`", "`").Replace(v)
	}
	return v
}
