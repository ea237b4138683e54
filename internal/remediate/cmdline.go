package remediate

import (
	"errors"
	"fmt"
	"strings"
)

// maxCommandLine bounds an uninstall command taken from the evidence. The
// uninstall source keeps at most 512 bytes of a registry value and marks
// a longer one as cut ("..."); a command that long is no plain program
// invocation anyway.
const maxCommandLine = 512

// SplitWindows splits a Windows command line into its arguments by the
// rules Windows programs use (CommandLineToArgvW and the C runtime): the
// program name ends at the closing quote when it starts with one, else at
// the first space or tab, and backslashes are plain characters in it;
// in the arguments after it, spaces and tabs outside quotes separate,
// quotes group, 2n backslashes before a quote give n backslashes and
// the quote groups, 2n+1 give n backslashes and a literal quote, and a
// doubled quote inside a quoted part is a literal quote. Backslashes not
// before a quote are literal.
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
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@+,{}") == "" {
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
	case "cmd", "command", "powershell", "pwsh", "wscript", "cscript", "mshta", "rundll32", "regsvr32",
		"bash", "sh", "wsl", "schtasks", "start", "forfiles", "conhost", "explorer":
		return true
	}
	return false
}

// isProductCode reports whether s is a Windows Installer product code,
// "{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}" in hexadecimal digits.
func isProductCode(s string) bool {
	if len(s) != 38 || s[0] != '{' || s[37] != '}' {
		return false
	}
	for i := 1; i < 37; i++ {
		c := s[i]
		switch i {
		case 9, 14, 19, 24:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// errAmbiguous is evidence naming an uninstall command twice: a display
// name or publisher that imitates the marker.
var errAmbiguous = errors.New("the evidence names an uninstall command more than once: ambiguous, not run")

// errNotPlain wraps every reason an uninstall command is refused.
var errNotPlain = errors.New("not a plain program invocation")

// parseUninstall turns an uninstall entry's UninstallString into argv,
// or says why it will not be run: it must be a program named by an
// absolute local path (a bare msiexec is let through for the caller to
// replace), hold no shell metacharacter, not start a command
// interpreter, and not be cut short.
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
	argv := SplitWindows(s)
	prog := argv[0]
	base := strings.ToLower(prog[strings.LastIndexAny(prog, `\/`)+1:])
	name := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(base, ".exe"), ".com"), ".bat")
	if interpreter(name) {
		return nil, fmt.Errorf("starts %s, a command interpreter: %w", base, errNotPlain)
	}
	if name == "msiexec" {
		return argv, nil
	}
	switch {
	case strings.HasPrefix(prog, `\\`) || strings.HasPrefix(prog, "//"):
		return nil, fmt.Errorf("program %q is on a network share: %w", prog, errNotPlain)
	case len(prog) < 4 || prog[1] != ':' || prog[2] != '\\' || !isLetter(prog[0]):
		return nil, fmt.Errorf("program %q is not an absolute local path: %w", prog, errNotPlain)
	case strings.Contains(prog, `\..\`) || strings.ContainsAny(prog, `"*?`):
		return nil, fmt.Errorf("program %q is not a plain path: %w", prog, errNotPlain)
	case !strings.HasSuffix(base, ".exe"):
		return nil, fmt.Errorf("program %q is not an .exe: %w", prog, errNotPlain)
	case userWritable(prog):
		return nil, fmt.Errorf("program %q lies in a folder users can write: %w", prog, errNotPlain)
	}
	return argv, nil
}

// userWritable reports whether the absolute path p lies in a folder
// unprivileged users can write on a default Windows install (profiles,
// Public, temporary folders): an uninstaller there may have been swapped
// by a user, and the plan runs it as administrator.
func userWritable(p string) bool {
	lower := strings.ToLower(strings.ReplaceAll(p[2:], "/", `\`))
	for _, dir := range []string{`\users\`, `\windows\temp\`, `\temp\`, `\tmp\`} {
		if strings.HasPrefix(lower, dir) {
			return true
		}
	}
	return false
}

// msiProductCode returns the product code an msiexec command line acts
// on ("/I{…}", "/X{…}", "/x {…}"), or "".
func msiProductCode(argv []string) string {
	for i, a := range argv[1:] {
		switch {
		case len(a) > 2 && (a[0] == '/' || a[0] == '-') && strings.ContainsAny(a[1:2], "IiXx") && isProductCode(a[2:]):
			return strings.ToUpper(a[2:])
		case len(a) == 2 && (a[0] == '/' || a[0] == '-') && strings.ContainsAny(a[1:2], "IiXx") && i+2 < len(argv) && isProductCode(argv[i+2]):
			return strings.ToUpper(argv[i+2])
		}
	}
	return ""
}

func isLetter(b byte) bool { return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' }
