package pe

import (
	"strings"

	"github.com/avscout/avscout/internal/detect"
)

// expandVar expands the environment variables services and Security
// Center write into paths, as a path relative to the system drive. Others
// are not expanded and the path is then not read.
func expandVar(v string) (string, bool) {
	switch strings.ToLower(v) {
	case "%systemroot%", "%windir%":
		return `\Windows`, true
	case "%systemdrive%":
		return "", true
	case "%programfiles%", "%programw6432%":
		return `\Program Files`, true
	case "%programfiles(x86)%":
		return `\Program Files (x86)`, true
	case "%programdata%", "%allusersprofile%":
		return `\ProgramData`, true
	case "%commonprogramfiles%", "%commonprogramw6432%":
		return `\Program Files\Common Files`, true
	case "%commonprogramfiles(x86)%":
		return `\Program Files (x86)\Common Files`, true
	}
	return "", false
}

// isExecutableExt reports whether ext (with its dot, any case) is the
// extension of a file whose signature and version resource are read.
func isExecutableExt(ext string) bool {
	switch strings.ToLower(ext) {
	case ".exe", ".dll", ".sys", ".com", ".scr", ".ocx", ".cpl", ".drv", ".efi":
		return true
	}
	return false
}

// ExecutablePath returns the path of the executable file an observation
// points at, written as on the target with drive (drive is "C:" or the
// like, for paths written relative to the system root), and whether it has
// one:
//   - a process's Path is taken as it is;
//   - a service's or driver's image path is a command line: quotes and
//     arguments are dropped, and the forms the service control manager
//     accepts — \SystemRoot\…, System32\drivers\x.sys, \??\C:\…,
//     %SystemRoot%\… — are made plain;
//   - an app's Path counts only when it names an executable (a
//     DisplayIcon-like "x.exe,0"); install folders are not read.
//
// Only files with an executable extension are returned.
func ExecutablePath(o detect.Observation, drive string) (string, bool) {
	raw, ok := rawImage(o)
	if !ok {
		return "", false
	}
	p := plainPath(raw, drive)
	return p, p != ""
}

// rawImage is the executable an observation names, before its path is made
// plain, and whether it names one.
func rawImage(o detect.Observation) (string, bool) {
	var p string
	switch o.Kind {
	case detect.KindProcess:
		p = strings.TrimSpace(o.Path)
	case detect.KindService, detect.KindDriver, detect.KindApp:
		p = commandImage(o.Path)
	default:
		return "", false
	}
	return p, p != "" && hasExecutableExt(p)
}

// Wants reports whether the pe enricher would read a file for o. A runner
// that drops observations the catalog finds irrelevant can keep these too,
// so the enricher sees the executables of services and processes nobody
// knows by name yet — which is how a white-labelled build is found.
func Wants(o detect.Observation) bool {
	_, ok := ExecutablePath(o, "C:")
	return ok
}

// commandImage extracts the executable from a command line as services
// record it: `"C:\Program Files\X\x.exe" -run`, `C:\Program Files\X\x.exe
// -run`, `x.exe,0`.
func commandImage(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, `"`) {
		if end := strings.IndexByte(s[1:], '"'); end >= 0 {
			return s[1 : 1+end]
		}
		return strings.Trim(s, `"`)
	}
	// Unquoted: the shortest prefix ending in an executable extension
	// followed by the end, a space or an icon index.
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' && s[i] != '\t' && s[i] != ',' {
			continue
		}
		if dot := strings.LastIndexByte(s[:i], '.'); dot >= 0 && !strings.ContainsAny(s[dot:i], `\/`) && isExecutableExt(s[dot:i]) {
			return s[:i]
		}
	}
	return s
}

// plainPath turns the path forms Windows' service control manager and
// Security Center use into a plain absolute path on drive; "" when it
// cannot.
func plainPath(p, drive string) string {
	p = strings.TrimSpace(p)
	for _, prefix := range []string{`\??\`, `\\?\`, `\\.\`} {
		if strings.HasPrefix(p, prefix) {
			p = p[len(prefix):]
			if strings.HasPrefix(strings.ToUpper(p), `UNC\`) {
				return ""
			}
			break
		}
	}
	lower := strings.ToLower(p)
	switch {
	case strings.HasPrefix(lower, `\systemroot\`):
		p = drive + `\Windows\` + p[len(`\systemroot\`):]
	case strings.HasPrefix(lower, `system32\`), strings.HasPrefix(lower, `syswow64\`):
		p = drive + `\Windows\` + p
	case strings.HasPrefix(lower, "%"):
		end := strings.IndexByte(lower[1:], '%')
		if end < 0 {
			return ""
		}
		v, ok := expandVar(lower[:end+2])
		if !ok {
			return ""
		}
		p = drive + v + p[end+2:]
	}
	if strings.Contains(p, "%") {
		return ""
	}
	if len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') {
		return p
	}
	if strings.HasPrefix(p, `\`) && !strings.HasPrefix(p, `\\`) {
		return drive + p
	}
	return ""
}

func hasExecutableExt(p string) bool {
	dot := strings.LastIndexByte(p, '.')
	return dot >= 0 && !strings.ContainsAny(p[dot:], `\/`) && isExecutableExt(p[dot:])
}
