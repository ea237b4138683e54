package pe

import (
	"strings"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/winpath"
)

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
//   - a process's or executable's Path is taken as it is (an executable
//     is a file the paths source found where a product runs it from);
//   - a service's or driver's image path is a command line: quotes and
//     arguments are dropped, and the forms the service control manager
//     accepts — \SystemRoot\…, System32\drivers\x.sys, \??\C:\…,
//     %SystemRoot%\… — are made plain; a driver file the paths source
//     found has a plain path, which stays as it is;
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
	case detect.KindProcess, detect.KindExecutable:
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
		return winpath.Program(s)
	}
	// Unquoted: the shortest prefix ending in an executable extension
	// followed by the end, a space or an icon index. Not winpath.Program:
	// the extensions are pe's (.drv and .efi, not .bat and .cmd), and
	// Program indexes the line by its lower-cased copy, whose length
	// differs for some non-ASCII letters.
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
// Security Center use into a plain absolute path on drive, with
// winpath.Resolve; "" when it cannot. It takes fewer forms than Resolve,
// which would put the rest somewhere under SystemRoot or leave them as
// they are: shares (\??\UNC\…, \\server\…), drive-relative paths (C:x.exe),
// bare names Windows looks up on the PATH (svchost.exe), and variables
// other than one known %VAR% at the start are refused — a file that
// cannot be placed is not guessed at.
func plainPath(p, drive string) string {
	p = strings.TrimSpace(p)
	rest := p
	for _, prefix := range []string{`\??\`, `\\?\`, `\\.\`} {
		if strings.HasPrefix(rest, prefix) {
			rest = rest[len(prefix):]
			break
		}
	}
	lower := strings.ToLower(rest)
	switch {
	case strings.HasPrefix(lower, `unc\`), strings.HasPrefix(rest, `\\`):
		return ""
	case strings.HasPrefix(rest, "%"):
		if strings.Count(rest, "%") != 2 {
			return ""
		}
	case strings.Contains(rest, "%"):
		return ""
	case strings.HasPrefix(rest, `\`), strings.HasPrefix(lower, `system32\`), strings.HasPrefix(lower, `syswow64\`):
	case winpath.Drive(rest) != "" && len(rest) >= 3 && (rest[2] == '\\' || rest[2] == '/'):
	default:
		return ""
	}
	r := winpath.Resolve(p, winpath.Env{SystemRoot: drive + `\Windows`})
	if strings.Contains(r, "%") || winpath.Drive(r) == "" || len(r) < 3 || r[2] != '\\' {
		return "" // an unknown variable, or a drive-relative path it expanded to
	}
	return r
}

func hasExecutableExt(p string) bool {
	dot := strings.LastIndexByte(p, '.')
	return dot >= 0 && !strings.ContainsAny(p[dot:], `\/`) && isExecutableExt(p[dot:])
}
