package paths

import (
	"errors"
	"fmt"
	"github.com/avscout/avscout/internal/rootpath"
	"io/fs"
	"path"
	"strings"

	"github.com/avscout/avscout/internal/host"
)

// maxMatches bounds how many paths one pattern may expand to.
const maxMatches = 256

// isPattern reports whether a path holds glob metacharacters. The catalog
// writes versioned folders as patterns: `C:\Program Files (x86)\Kaspersky
// Lab\KES.*`.
func isPattern(p string) bool { return strings.ContainsAny(p, "*?[") }

// expand turns a pattern written as on the target into the concrete paths,
// also written as on the target, that exist and match it, comparing names
// case-insensitively when opt.FoldCase is set. Components without
// metacharacters are looked up with [rootpath.Resolve]; each directory is read at
// most once per component, and once for all patterns through opt.Cache.
func expand(fsys fs.FS, o host.OS, pattern string, opt rootpath.Options) ([]string, error) {
	rel, err := rootpath.Target(o, pattern)
	if err != nil {
		return nil, err
	}
	if _, err := path.Match(rel, ""); err != nil {
		return nil, fmt.Errorf("bad pattern: %w", err)
	}
	dirs := []string{"."}
	for _, comp := range strings.Split(rel, "/") {
		var next []string
		for _, dir := range dirs {
			if !isPattern(comp) {
				loc, _, err := rootpath.Resolve(fsys, path.Join(dir, comp), rootpath.Options{FoldCase: opt.FoldCase, CaseInsensitiveFS: opt.CaseInsensitiveFS, Cache: opt.Cache})
				if err == nil {
					next = append(next, loc)
				} else if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, rootpath.ErrNotDir) {
					return nil, err
				}
				continue
			}
			entries, err := opt.Cache.ReadDir(fsys, dir) // shared: read only
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				return nil, fmt.Errorf("read %s: %w", dir, err)
			}
			pat := comp
			if opt.FoldCase {
				pat = strings.ToLower(pat)
			}
			for _, e := range entries {
				name := e.Name()
				if opt.FoldCase {
					name = strings.ToLower(name)
				}
				if ok, _ := path.Match(pat, name); ok {
					next = append(next, path.Join(dir, e.Name()))
				}
			}
		}
		if len(next) > maxMatches {
			return nil, fmt.Errorf("pattern matches more than %d paths", maxMatches)
		}
		dirs = next
	}
	written := make([]string, len(dirs))
	for i, d := range dirs {
		written[i] = writeAs(o, pattern, d)
	}
	return written, nil
}

// writeAs writes a root-relative path the way pattern is written: with
// pattern's drive letter and backslashes for Windows.
func writeAs(o host.OS, pattern, rel string) string {
	if o != host.Windows {
		return "/" + rel
	}
	drive := ""
	if len(pattern) >= 2 && pattern[1] == ':' {
		drive = pattern[:2]
	}
	return drive + `\` + strings.ReplaceAll(rel, "/", `\`)
}
