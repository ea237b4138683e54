package remediate

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/avscout/avscout/internal/text"
)

// maxCommandLine bounds an uninstall command taken from the evidence. The
// uninstall source keeps at most 512 bytes of a registry value and marks
// a longer one as cut ("..."); a command that long is no plain program
// invocation anyway.
const maxCommandLine = 512

// SplitWindows splits a Windows command line into its arguments by the
// rules of the Microsoft C runtime (since 2008; CommandLineToArgvW
// differs only where noted): the program name ends at the closing quote
// when it starts with one, else at the first space or tab, and
// backslashes are plain characters in it; in the arguments after it,
// spaces and tabs outside quotes separate, quotes group, 2n backslashes
// before a quote give n backslashes and the quote groups, 2n+1 give n
// backslashes and a literal quote, and a doubled quote inside a quoted
// part is a literal quote (the C runtime's rule; CommandLineToArgvW
// instead ends the quoted part there). Backslashes not before a quote
// are literal. Commands that the two would split differently are ones
// with "" inside quotes; an uninstall program gets its command line from
// the C runtime of its own build, which is why this is the rule used.
func SplitWindows(s string) []string {
	var args []string
	i := 0
	// The program name.
	if strings.HasPrefix(s, `"`) {
		end := strings.IndexByte(s[1:], '"')
		if end < 0 {
			return []string{s[1:]}
		}
		args = append(args, s[1:end+1])
		i = end + 2
	} else {
		end := strings.IndexAny(s, " \t")
		if end < 0 {
			return []string{s}
		}
		args = append(args, s[:end])
		i = end
	}
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i >= len(s) {
			return args
		}
		arg, n := splitArg(s[i:])
		args = append(args, arg)
		i += n
	}
}

// splitArg reads one argument (not the program name) from the start of
// s by the rules of [SplitWindows]; n is how many bytes it took.
func splitArg(s string) (arg string, n int) {
	var b strings.Builder
	quoted := false
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case (c == ' ' || c == '\t') && !quoted:
			return b.String(), i
		case c == '\\':
			k := 0
			for i < len(s) && s[i] == '\\' {
				k++
				i++
			}
			if i < len(s) && s[i] == '"' {
				b.WriteString(strings.Repeat(`\`, k/2))
				if k%2 == 1 {
					b.WriteByte('"')
					i++
				}
			} else {
				b.WriteString(strings.Repeat(`\`, k))
			}
			continue
		case c == '"':
			if quoted && i+1 < len(s) && s[i+1] == '"' {
				b.WriteByte('"')
				i += 2
				continue
			}
			quoted = !quoted
		default:
			b.WriteByte(c)
		}
		i++
	}
	return b.String(), i
}

// QuoteWindows joins argv into a command line that [SplitWindows] (and so
// Windows) splits back into argv: for display, and for the one place a
// Windows program gets its arguments as one string.
func QuoteWindows(argv []string) string {
	parts := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && !strings.ContainsAny(a, " \t\"") {
			parts[i] = a
			continue
		}
		if i == 0 { // the program name cannot hold a quote (checked before)
			parts[i] = `"` + a + `"`
			continue
		}
		var b strings.Builder
		b.WriteByte('"')
		n := 0
		for j := 0; j < len(a); j++ {
			switch a[j] {
			case '\\':
				n++
				continue
			case '"':
				b.WriteString(strings.Repeat(`\`, 2*n+1))
				b.WriteByte('"')
			default:
				b.WriteString(strings.Repeat(`\`, n))
				b.WriteByte(a[j])
			}
			n = 0
		}
		b.WriteString(strings.Repeat(`\`, 2*n))
		b.WriteByte('"')
		parts[i] = b.String()
	}
	return strings.Join(parts, " ")
}

// QuotePOSIX joins argv for a POSIX shell reader, single-quoting any
// argument that is not made of plainly safe characters: for display only
// (commands run as argv, never through a shell).
func QuotePOSIX(argv []string) string {
	parts := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@+") == "" {
			parts[i] = a
			continue
		}
		parts[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(parts, " ")
}

// shellMeta are the characters cmd.exe (and batch files, and any program
// that hands its arguments on to a shell) gives a meaning: an uninstall
// command holding one is not a plain program invocation.
const shellMeta = "&|<>^%`!\r\n\x00"

// interpreter reports whether name (lower case, without extension) is a
// program that runs commands given as arguments: an uninstall command
// starting one is a script, not an uninstaller.
func interpreter(name string) bool {
	switch name {
	case "cmd", "command", "powershell", "powershell_ise", "pwsh", "wscript", "cscript", "mshta", "rundll32", "regsvr32",
		"bash", "sh", "wsl", "schtasks", "start", "forfiles", "conhost", "explorer", "wmic", "reg", "msbuild",
		"installutil", "regasm", "regsvcs", "msxsl", "bitsadmin", "certutil", "sc", "net", "taskkill", "runas", "at":
		return true
	}
	return false
}

// isProductCode reports whether s is a Windows Installer product code,
// "{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}" in hexadecimal digits.
func isProductCode(s string) bool {
	return len(s) == 38 && s[0] == '{' && s[37] == '}' && text.IsUUID(s[1:37])
}

// errNotPlain wraps every reason an uninstall command is refused.
var errNotPlain = errors.New("not a plain program invocation")

// parseUninstall turns an uninstall entry's UninstallString (or
// QuietUninstallString) into argv, or says why it will not be run: it
// must hold no shell metacharacter, not be cut short, not start a
// command interpreter, and run an .exe under Program Files or Program
// Files (x86) on drive C: (a bare msiexec is let through for the caller
// to replace with its own). The program's path is canonical in argv.
func parseUninstall(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return nil, fmt.Errorf("empty: %w", errNotPlain)
	case len(s) > maxCommandLine || strings.HasSuffix(s, "..."):
		return nil, fmt.Errorf("%d bytes, cut short in the evidence: %w", len(s), errNotPlain)
	}
	if i := strings.IndexAny(s, shellMeta); i >= 0 {
		return nil, fmt.Errorf("holds %q, which a command interpreter would act on: %w", s[i:i+1], errNotPlain)
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == utf8.RuneError }); i >= 0 {
		return nil, fmt.Errorf("holds a control character or invalid text at byte %d: %w", i, errNotPlain)
	}
	argv := SplitWindows(s)
	prog := argv[0]
	base := strings.ToLower(prog[strings.LastIndexAny(prog, `\/`)+1:])
	name := base
	for _, ext := range []string{".exe", ".com", ".bat", ".cmd"} {
		name = strings.TrimSuffix(name, ext)
	}
	if interpreter(name) {
		return nil, fmt.Errorf("starts %s, a command interpreter: %w", base, errNotPlain)
	}
	if name == "msiexec" {
		return argv, nil
	}
	canon, err := trustedProgram(prog)
	if err != nil {
		return nil, err
	}
	argv[0] = canon
	return argv, nil
}

// trustedProgram returns the canonical form of prog, the path of an
// uninstall program, or why it is not run: it must be an absolute path
// on drive C: to an .exe under Program Files or Program Files (x86),
// with no component Windows would rewrite or resolve elsewhere ("." or
// "..", a trailing dot or space, an 8.3 short name with "~", an
// alternate data stream, an empty component). Forward slashes count as
// backslashes, as Windows reads them.
func trustedProgram(prog string) (string, error) {
	p := strings.ReplaceAll(prog, "/", `\`)
	switch {
	case strings.HasPrefix(p, `\\`):
		return "", fmt.Errorf("program %s is on a network share: %w", quoteShort(prog), errNotPlain)
	case len(p) < 4 || p[1] != ':' || p[2] != '\\' || !isLetter(p[0]):
		return "", fmt.Errorf("program %s is not an absolute local path: %w", quoteShort(prog), errNotPlain)
	}
	parts := strings.Split(p[3:], `\`)
	for _, c := range parts {
		switch {
		case c == "" || c == "." || c == "..":
			return "", fmt.Errorf("program %s is not a plain path (component %q): %w", quoteShort(prog), c, errNotPlain)
		case strings.HasSuffix(c, ".") || strings.HasSuffix(c, " ") || strings.HasPrefix(c, " "):
			return "", fmt.Errorf("program %s is not a plain path (component %q ends or starts with a dot or space, which Windows strips): %w", quoteShort(prog), c, errNotPlain)
		case strings.ContainsAny(c, `~:"*?`):
			return "", fmt.Errorf("program %s is not a plain path (component %q: a short name, stream or wildcard): %w", quoteShort(prog), c, errNotPlain)
		}
	}
	canon := strings.ToUpper(p[:1]) + `:\` + strings.Join(parts, `\`)
	if !strings.HasSuffix(strings.ToLower(canon), ".exe") {
		return "", fmt.Errorf("program %s is not an .exe: %w", quoteShort(prog), errNotPlain)
	}
	// The folders an uninstall program may lie in: on a default install
	// only administrators, SYSTEM and TrustedInstaller can write them.
	// Everything else is refused — the drive's root (where any user may
	// create a folder), ProgramData (whose subfolders users may create
	// and often write), profiles, the Windows folder — since the plan
	// runs the program as administrator.
	trusted := []string{`program files\`, `program files (x86)\`}
	rel := strings.ToLower(canon[3:])
	if canon[0] != 'C' || !slices.ContainsFunc(trusted, func(d string) bool { return strings.HasPrefix(rel, d) }) {
		return "", fmt.Errorf("program %s is not under C:\\Program Files or C:\\Program Files (x86), the folders only administrators can write: %w", quoteShort(prog), errNotPlain)
	}
	return canon, nil
}

// msiProductCode returns the product code an msiexec command line acts
// on ("/I{…}", "/X{…}", "/x {…}"), or "" when it names none, or more
// than one ("/I{A} /x{B}": which one msiexec acts on is not plain).
func msiProductCode(argv []string) string {
	code := ""
	for i, a := range argv[1:] {
		var c string
		switch {
		case len(a) > 2 && (a[0] == '/' || a[0] == '-') && strings.ContainsAny(a[1:2], "IiXx") && isProductCode(a[2:]):
			c = strings.ToUpper(a[2:])
		case len(a) == 2 && (a[0] == '/' || a[0] == '-') && strings.ContainsAny(a[1:2], "IiXx") && i+2 < len(argv) && isProductCode(argv[i+2]):
			c = strings.ToUpper(argv[i+2])
		default:
			continue
		}
		if code != "" && code != c {
			return ""
		}
		code = c
	}
	return code
}

func isLetter(b byte) bool { return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' }
