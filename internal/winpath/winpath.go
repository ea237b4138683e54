// Package winpath turns the paths and command lines Windows keeps in its
// registry — service image paths, uninstall strings, icons — into plain
// absolute paths, the way Windows itself resolves them.
//
// The uninstall and services sources both need it, and it must not depend
// on the OS it runs on: everything here is string handling, tested on
// Linux.
package winpath

import (
	"cmp"
	"errors"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/rootpath"
	"github.com/avscout/avscout/internal/winreg"
)

// exts are the executable extensions that end an unquoted program path
// followed by arguments ("C:\Program Files\X\avp.exe -r").
var exts = []string{".exe", ".sys", ".com", ".dll", ".bat", ".cmd", ".ocx", ".cpl", ".scr"}

// Program returns the program path of a command line: the quoted part of
// `"C:\Program Files\X\avp.exe" -r`, the text up to the first executable
// extension of `C:\Program Files\X\avp.exe -r`, or the first word of
// anything else; "" for a blank line.
func Program(cmdline string) string {
	s := strings.TrimSpace(cmdline)
	if s == "" {
		return ""
	}
	if s[0] == '"' {
		if end := strings.IndexByte(s[1:], '"'); end >= 0 {
			return s[1 : end+1]
		}
		return strings.TrimSpace(s[1:])
	}
	// Only ASCII letters are folded, so positions in lower are positions
	// in s: strings.ToLower changes the byte length of some letters.
	lower := asciiLower(s)
	best := -1
	for _, ext := range exts {
		for from := 0; ; {
			i := strings.Index(lower[from:], ext)
			if i < 0 {
				break
			}
			end := from + i + len(ext)
			if end == len(s) || s[end] == ' ' || s[end] == '\t' || s[end] == ',' {
				if best < 0 || end < best {
					best = end
				}
				break
			}
			from = end
		}
	}
	if best >= 0 {
		return s[:best]
	}
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return s[:i]
	}
	return s
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// Env holds the folders environment variables in configured paths stand
// for. Zero fields are derived from SystemRoot's drive.
type Env struct {
	SystemRoot string // C:\Windows
	// ProgramFiles, ProgramFilesX86, ProgramData and CommonProgramFiles
	// default to the usual folders on SystemRoot's drive.
	ProgramFiles, ProgramFilesX86, ProgramData, CommonProgramFiles string
}

func (e Env) withDefaults() Env {
	if e.SystemRoot == "" {
		e.SystemRoot = `C:\Windows`
	}
	e.SystemRoot = strings.TrimRight(e.SystemRoot, `\`)
	d := Drive(e.SystemRoot)
	if d == "" {
		d = "C:"
	}
	def := func(s *string, v string) {
		if *s == "" {
			*s = d + v
		}
	}
	def(&e.ProgramFiles, `\Program Files`)
	def(&e.ProgramFilesX86, `\Program Files (x86)`)
	def(&e.ProgramData, `\ProgramData`)
	def(&e.CommonProgramFiles, `\Program Files\Common Files`)
	return e
}

// Resolve makes an absolute path of p as Windows would resolve a service
// image or driver path: `\??\` and `\\?\` prefixes dropped, `\SystemRoot\`
// and %SystemRoot%/%windir% (and the Program Files and ProgramData
// variables) expanded, a path without drive or leading backslash
// ("system32\drivers\klif.sys") taken relative to SystemRoot, a rooted
// path without drive ("\Windows\x") put on SystemRoot's drive. Other
// variables are left as they are.
func Resolve(p string, env Env) string {
	e := env.withDefaults()
	p = strings.TrimSpace(strings.Trim(strings.TrimSpace(p), `"`))
	if p == "" {
		return ""
	}
	p = strings.ReplaceAll(p, "/", `\`)
	for _, prefix := range []string{`\??\`, `\\?\`, `\\.\`} {
		p = strings.TrimPrefix(p, prefix)
	}
	if hasPrefixFold(p, `\SystemRoot\`) || strings.EqualFold(p, `\SystemRoot`) {
		p = e.SystemRoot + p[len(`\SystemRoot`):]
	}
	if strings.Contains(p, "%") {
		p = expandVars(p, map[string]string{
			"systemroot": e.SystemRoot, "windir": e.SystemRoot,
			"programfiles": e.ProgramFiles, "programw6432": e.ProgramFiles,
			"programfiles(x86)": e.ProgramFilesX86,
			"programdata":       e.ProgramData, "allusersprofile": e.ProgramData,
			"commonprogramfiles": e.CommonProgramFiles, "commonprogramw6432": e.CommonProgramFiles,
			"commonprogramfiles(x86)": e.ProgramFilesX86 + `\Common Files`,
			"systemdrive":             Drive(e.SystemRoot),
		})
	}
	switch {
	case Drive(p) != "":
	case strings.HasPrefix(p, `\\`): // UNC: left alone
	case strings.HasPrefix(p, `\`):
		p = Drive(e.SystemRoot) + p
	default:
		p = e.SystemRoot + `\` + p
	}
	return p
}

// expandVars replaces %NAME% (case-insensitive) by vars[lower(NAME)],
// leaving unknown variables as written.
func expandVars(p string, vars map[string]string) string {
	return ExpandVars(p, func(name string) (string, bool) {
		v, ok := vars[strings.ToLower(name)]
		return v, ok
	})
}

// ExpandVars replaces each %NAME% in p for which lookup has a value, as
// Windows expands REG_EXPAND_SZ data; unknown variables, an empty %% and
// a lone % stay as written.
func ExpandVars(p string, lookup func(name string) (string, bool)) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(p, '%')
		if i < 0 {
			break
		}
		j := strings.IndexByte(p[i+1:], '%')
		if j < 0 {
			break
		}
		name := p[i+1 : i+1+j]
		if v, ok := lookup(name); ok && name != "" {
			b.WriteString(p[:i])
			b.WriteString(v)
		} else {
			b.WriteString(p[:i+2+j])
		}
		p = p[i+2+j:]
	}
	b.WriteString(p)
	return b.String()
}

// Drive returns the "C:" of a path that starts with a drive letter.
func Drive(p string) string {
	if len(p) >= 2 && p[1] == ':' && isLetter(p[0]) {
		return strings.ToUpper(p[:2])
	}
	return ""
}

// Dir returns the folder holding p, without a trailing backslash (but
// "C:\" for a file at the root); "" when p has no folder.
func Dir(p string) string {
	p = strings.TrimRight(p, `\`)
	i := strings.LastIndexAny(p, `\/`)
	if i < 0 {
		return ""
	}
	if i == 2 && Drive(p) != "" {
		return p[:3]
	}
	return p[:i]
}

// Base returns the last element of p.
func Base(p string) string {
	p = strings.TrimRight(p, `\/`)
	return p[strings.LastIndexAny(p, `\/`)+1:]
}

// Within reports whether p is dir or inside it, comparing case-insensitively.
func Within(p, dir string) bool {
	p, dir = strings.ToLower(strings.TrimRight(p, `\`)), strings.ToLower(strings.TrimRight(dir, `\`))
	return p == dir || strings.HasPrefix(p, dir+`\`)
}

func isLetter(b byte) bool { return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' }

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// maxListing bounds the entries read from one directory by a [Checker].
const maxListing = 50_000

// Checker tells whether Windows paths exist on a target filesystem rooted
// at its system drive, reading each directory once: a scan checks
// hundreds of service images in a handful of folders (System32\drivers,
// Program Files\…), and a listing kept in memory answers them all. Names
// are matched case-insensitively, as on Windows. Not safe for concurrent
// use.
type Checker struct {
	fsys  fs.FS
	drive string
	dirs  map[string]map[string]string // dir → lower-case name → actual name; nil when unreadable
}

// NewChecker checks paths on drive (as "C:") against fsys; a nil fsys
// knows nothing.
func NewChecker(fsys fs.FS, drive string) *Checker {
	return &Checker{fsys: fsys, drive: strings.ToUpper(drive), dirs: map[string]map[string]string{}}
}

// Exists reports whether the absolute Windows path p exists: known is
// false when that cannot be told (p is on another drive or a share, a
// folder on the way cannot be read, or there is no filesystem).
func (c *Checker) Exists(p string) (exists, known bool) {
	if c == nil || c.fsys == nil || Drive(p) == "" || Drive(p) != c.drive {
		return false, false
	}
	rel, err := rootpath.Target(host.Windows, p)
	if err != nil {
		return false, false
	}
	if rel == "." {
		return true, true
	}
	dir := "."
	for _, name := range strings.Split(rel, "/") {
		list, ok := c.list(dir)
		if !ok {
			return false, false
		}
		actual, found := list[strings.ToLower(name)]
		if !found {
			return false, true
		}
		dir = path.Join(dir, actual)
	}
	return true, true
}

func (c *Checker) list(dir string) (map[string]string, bool) {
	if l, ok := c.dirs[dir]; ok {
		return l, l != nil
	}
	var l map[string]string
	if ents, err := readDirBounded(c.fsys, dir); err == nil {
		l = make(map[string]string, len(ents))
		for _, e := range ents {
			l[strings.ToLower(e)] = e
		}
	}
	c.dirs[dir] = l
	return l, l != nil
}

// readDirBounded lists a directory's names, failing past maxListing.
func readDirBounded(fsys fs.FS, dir string) ([]string, error) {
	f, err := fsys.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rd, ok := f.(fs.ReadDirFile)
	if !ok {
		return nil, errors.New("not a directory")
	}
	var names []string
	for {
		ents, err := rd.ReadDir(1024)
		for _, e := range ents {
			names = append(names, e.Name())
		}
		if len(names) > maxListing {
			return nil, errors.New("directory too large")
		}
		if errors.Is(err, io.EOF) || err == nil && len(ents) == 0 {
			return names, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// EnvFrom reads the folders of [Env] from a Windows registry, where
// Windows records them; a missing one keeps its default.
func EnvFrom(r winreg.Registry) Env {
	var e Env
	if r == nil {
		return e
	}
	read := func(path, name string) string {
		k, err := r.OpenKey(winreg.LocalMachine, path, winreg.View64)
		if err != nil {
			return ""
		}
		defer k.Close()
		s, _ := winreg.String(k, name)
		return strings.TrimSpace(s)
	}
	e.SystemRoot = read(`SOFTWARE\Microsoft\Windows NT\CurrentVersion`, "SystemRoot")
	const cv = `SOFTWARE\Microsoft\Windows\CurrentVersion`
	e.ProgramFiles = read(cv, "ProgramFilesDir")
	e.ProgramFilesX86 = read(cv, "ProgramFilesDir (x86)")
	e.CommonProgramFiles = read(cv, "CommonFilesDir")
	if pd := read(`SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList`, "ProgramData"); pd != "" {
		e.ProgramData = expandVars(pd, map[string]string{"systemdrive": Drive(cmp.Or(e.SystemRoot, `C:`))})
	}
	// A value that is not an absolute path would make nonsense of the rest.
	for _, s := range []*string{&e.SystemRoot, &e.ProgramFiles, &e.ProgramFilesX86, &e.CommonProgramFiles, &e.ProgramData} {
		if Drive(*s) == "" {
			*s = ""
		}
	}
	return e.withDefaults()
}
