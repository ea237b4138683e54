package units

import (
	"bytes"
	"io"
	"iter"
	"path"
	"slices"
	"strings"
)

// Script is what a scan uses of an init script.
type Script struct {
	// OpenRC says the script is an OpenRC one (#!/sbin/openrc-run, or the
	// older /sbin/runscript).
	OpenRC bool
	// Programs are the absolute paths of the programs the script starts,
	// from its best evidence of them: the values of variables named for
	// them (DAEMON=, EXEC=, OpenRC's command=, …) if any; else the
	// programs start-stop-daemon, daemon, killproc or exec are given;
	// else the absolute paths it runs as commands.
	Programs []string
	// Others are the other absolute paths the script names (in tests,
	// arguments), the programs of lower evidence included; base-system
	// files and folders are left out of both lists.
	Others []string
}

// Bounds on what one script may add, and on the work of expanding its
// variables: a script of references to references could otherwise grow
// exponentially.
const (
	maxCandidates = 64
	maxExpansions = 4       // nesting of $VAR in $VAR
	maxExpanded   = 4 << 10 // bytes one expanded word may have
	expandBudget  = 1 << 20 // bytes all expansions of one script may write
	maxPath       = 4096    // PATH_MAX: a longer word is no path
)

// ParseInitScript reads a SysV or OpenRC init script and returns the
// programs it starts (see [Script]). It is no shell: it splits lines into
// commands and words as a shell would, expands the variables the script
// assigns itself ($DAEMON, ${BASE}/sbin/x, ${X:-default}), and leaves out
// what only the running system knows (other variables, command
// substitutions, globs). Input larger than [MaxFile] is an error
// wrapping [ErrTooLarge].
//
// The paths of the base system are never programs: /etc (configuration,
// init-functions), /run, /var/run, /dev, /proc, /sys, /tmp, /lib/lsb,
// /lib/init, /lib/rc, /usr/share, /var/log, /var/lock, bare system
// folders, and the shells, wrappers and utilities scripts call by path
// (/bin/sh, /sbin/start-stop-daemon, /bin/kill …).
func ParseInitScript(r io.Reader) (Script, error) {
	data, err := readCapped(r)
	if err != nil {
		return Script{}, err
	}
	return parseInitScript(data), nil
}

// parseInitScript parses a script's content; see [ParseInitScript].
func parseInitScript(data []byte) Script {
	var s Script
	first, _, _ := bytes.Cut(data, []byte("\n"))
	if prog, ok := shebang(first); ok {
		base := path.Base(string(prog))
		s.OpenRC = base == "openrc-run" || base == "runscript"
	}
	p := scriptParser{vars: map[string]string{}, budget: expandBudget}
	p.parse(data)
	// The evidence, best first: variables named for programs, what
	// commands that start programs start, every command's program.
	var named, started []string
	for _, a := range p.assigns {
		if programVar(a.name) {
			named = append(named, firstWord(p.expand(a.value, 0)))
		}
	}
	for _, argv := range p.commands { // expanded in place: they are the parser's
		for j, w := range argv {
			argv[j] = p.expand(w, 0)
		}
		started = append(started, startedBy(argv)...)
	}
	commanded := func(yield func(string) bool) {
		for _, argv := range p.commands {
			if !yield(argv[0]) {
				return
			}
		}
	}
	tiers := [3]iter.Seq[string]{slices.Values(named), slices.Values(started), commanded}
	best := -1
	for i, t := range tiers {
		if c := candidates(t); c != nil {
			best, s.Programs = i, clone(c)
			break
		}
	}
	// The rest: the other tiers, then every command's arguments.
	rest := func(yield func(string) bool) {
		for i, t := range tiers {
			if i == best {
				continue
			}
			for w := range t {
				if !yield(w) {
					return
				}
			}
		}
		for _, argv := range p.commands {
			for _, w := range argv[1:] {
				if !yield(w) {
					return
				}
			}
		}
	}
	for _, o := range candidates(rest) {
		if !contains(s.Programs, o) && len(s.Others) < maxCandidates {
			s.Others = append(s.Others, strings.Clone(o))
		}
	}
	return s
}

// clone copies the strings of list in place: the words are substrings of
// the whole script, which a result should not keep.
func clone(list []string) []string {
	for i, w := range list {
		list[i] = strings.Clone(w)
	}
	return list
}

// shebang returns the interpreter a script's first line names: the
// first word after "#!" (what `^#!\s*(\S+)` matches).
func shebang(first []byte) ([]byte, bool) {
	rest, ok := bytes.CutPrefix(first, []byte("#!"))
	if !ok {
		return nil, false
	}
	i := 0
	for i < len(rest) && isSpace(rest[i]) {
		i++
	}
	j := i
	for j < len(rest) && !isSpace(rest[j]) {
		j++
	}
	return rest[i:j], j > i
}

// isSpace reports whether c is white space as regexp's \s means it.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

// programVar reports whether a variable's name says it holds a program:
// DAEMON, EXEC, BINARY, PROG, COMMAND (OpenRC's command=), and names
// ending in _DAEMON, _BIN, _EXEC, _BINARY, _PROG, _COMMAND, _CMD or _EXE
// (KLNAGENT_BIN). DAEMON_ARGS, PROG_NAME and the like are not.
func programVar(name string) bool {
	n := strings.ToUpper(name)
	switch n {
	case "DAEMON", "EXEC", "EXECUTABLE", "BINARY", "BIN", "PROG", "PROGRAM", "COMMAND", "CMD", "SERVER", "DAEMON_BIN", "DAEMON_EXEC":
		return true
	}
	for _, suf := range []string{"_DAEMON", "_BIN", "_EXEC", "_BINARY", "_PROG", "_COMMAND", "_CMD", "_EXE"} {
		if strings.HasSuffix(n, suf) {
			return true
		}
	}
	return false
}

// startedBy returns the programs a command starts when it is one that
// starts programs: start-stop-daemon's --exec/--startas, the program of
// the LSB and Red Hat helpers (daemon, killproc, pidofproc, status,
// status_of_proc) and of exec and the wrappers.
func startedBy(argv []string) []string {
	cmd := path.Base(argv[0])
	switch cmd {
	case "start-stop-daemon":
		var out []string
		for i := 1; i < len(argv); i++ {
			a := argv[i]
			switch {
			case (a == "-x" || a == "--exec" || a == "-a" || a == "--startas") && i+1 < len(argv):
				out = append(out, argv[i+1])
				i++
			case strings.HasPrefix(a, "--exec="), strings.HasPrefix(a, "--startas="):
				_, v, _ := strings.Cut(a, "=")
				out = append(out, v)
			}
		}
		return out
	case "daemon", "killproc", "pidofproc", "status", "status_of_proc":
		if p := wrapped(argv[1:], 0); p != "" {
			return []string{p}
		}
	default:
		if isWrapper(cmd) {
			if p := wrapped(argv[1:], 0); p != "" {
				return []string{p}
			}
		}
	}
	return nil
}

// candidates keeps, in order and once each, the words that are absolute
// paths the base system does not provide; nil when none is.
func candidates(words iter.Seq[string]) []string {
	var out []string
	for w := range words {
		if !strings.HasPrefix(w, "/") || len(w) > maxPath || unexpanded(w) || strings.ContainsAny(w, ":= \t") {
			continue
		}
		p := path.Clean(w)
		if baseSystem(p) || contains(out, p) {
			continue
		}
		if out = append(out, p); len(out) == maxCandidates {
			break
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// baseTrees are the base system's folders, in which nothing is a
// product's program.
var baseTrees = []string{
	"/etc/", "/run/", "/var/run/", "/dev/", "/proc/", "/sys/", "/tmp/", "/var/tmp/",
	"/lib/lsb/", "/lib/init/", "/lib/rc/", "/usr/share/", "/var/log/", "/var/lock/",
}

// isBareFolder reports whether p is one of the base system's bare
// folders, which are no program.
func isBareFolder(s string) bool {
	switch s {
	case "/", "/bin", "/sbin", "/usr", "/usr/bin", "/usr/sbin", "/lib", "/lib64", "/usr/lib",
		"/usr/local", "/opt", "/var", "/var/lib", "/etc", "/run", "/var/run", "/dev", "/proc", "/sys",
		"/tmp":
		return true
	}
	return false
}

// isUtility reports whether a command (a base name) is one init scripts
// call by path besides the wrappers: none of them is what a script exists
// to start.
func isUtility(s string) bool {
	switch s {
	case "[", "test", "true", "false", "echo", "printf", "cat", "kill", "killall", "pidof", "pgrep",
		"pkill", "sleep", "mkdir", "rmdir", "rm", "ln", "mv", "cp", "chown", "chgrp", "chmod", "touch",
		"install", "grep", "egrep", "sed", "awk", "cut", "tr", "head", "tail", "sort", "uniq", "wc",
		"tee", "xargs", "find", "ls", "ps", "id", "logger", "basename", "dirname", "readlink",
		"realpath", "which", "stat", "mktemp", "date", "uname", "hostname", "mountpoint", "mount",
		"umount", "sysctl", "modprobe", "insmod", "rmmod", "lsmod", "ulimit", "getent", "systemctl",
		"service", "update-rc.d", "invoke-rc.d", "chkconfig", "rc-service", "rc-update", "openrc-run",
		"runscript", "initctl", "start-stop-daemon", "ip", "ifconfig", "iptables", "setpriv",
		"lsb_release", "runlevel", "usleep":
		return true
	}
	return false
}

// baseSystem reports whether the clean absolute path p is the base
// system's rather than a program a script exists to start.
func baseSystem(p string) bool {
	if isBareFolder(p) {
		return true
	}
	for _, t := range baseTrees {
		if strings.HasPrefix(p, t) {
			return true
		}
	}
	b := path.Base(p)
	return isWrapper(b) || isUtility(b)
}

func firstWord(s string) string {
	if w := shellWords(s); len(w) > 0 {
		return w[0]
	}
	return ""
}

// scriptParser splits a script into assignments and commands.
type scriptParser struct {
	assigns  []assign
	vars     map[string]string // first value each variable is given
	commands [][]string        // raw words, the command first
	budget   int               // bytes expansions may still write
	cmd      []string          // the words of the command being read
}

type assign struct{ name, value string }

// heredoc returns the delimiter of the first here-document line l starts
// (what `<<-?\s*['"]?([A-Za-z_][A-Za-z0-9_]*)` finds first).
func heredoc(l string) (string, bool) {
	for at := strings.Index(l, "<<"); at >= 0; {
		i := at + 2
		if i < len(l) && l[i] == '-' {
			i++
		}
		for i < len(l) && isSpace(l[i]) {
			i++
		}
		if i < len(l) && (l[i] == '\'' || l[i] == '"') {
			i++
		}
		j := i
		for j < len(l) && (l[j] == '_' || 'A' <= l[j] && l[j] <= 'Z' || 'a' <= l[j] && l[j] <= 'z' || j > i && '0' <= l[j] && l[j] <= '9') {
			j++
		}
		if j > i {
			return l[i:j], true
		}
		next := strings.Index(l[at+1:], "<<")
		if next < 0 {
			break
		}
		at += 1 + next
	}
	return "", false
}

// isReserved reports whether a word is a shell word after which a command
// starts.
func isReserved(s string) bool {
	switch s {
	case "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}", "time",
		"esac":
		return true
	}
	return false
}

// parse reads the script's lines. The script is copied into one string
// whose substrings the words are, so that no line and few words are
// copied again (a word is only when it holds quotes or escapes).
func (p *scriptParser) parse(data []byte) {
	text := string(data)
	var logical []byte // a line being continued
	delim := ""
	for len(text) > 0 {
		// The lines bufio.ScanLines gives: "\n" ends one, a "\r" before
		// it is dropped, the last one needs no "\n".
		line, rest, _ := strings.Cut(text, "\n")
		text = rest
		line = strings.TrimSuffix(line, "\r")
		if delim != "" { // inside a here-document: its text is data
			if strings.TrimSpace(line) == delim {
				delim = ""
			}
			continue
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok && len(logical) < maxLine {
			logical = append(append(logical, cont...), ' ')
			continue
		}
		l := line
		if len(logical) > 0 {
			l = string(append(logical, line...))
			logical = logical[:0]
		}
		if d, ok := heredoc(l); ok {
			delim = d
		}
		p.line(l)
	}
}

// line splits one logical line into simple commands.
func (p *scriptParser) line(l string) {
	cmd := p.cmd[:0]
	var w []byte // the word so far, once it is no substring of l
	start := -1  // where the word began; -1 outside a word
	copied, redirect := false, false
	var quote byte
	copyWord := func(i int) {
		if !copied {
			w = append(w[:0], l[start:i]...)
			copied = true
		}
	}
	endWord := func(i int) {
		if start < 0 {
			return
		}
		word := l[start:i]
		if copied {
			word = string(w)
		}
		start, copied = -1, false
		if redirect {
			redirect = false
			return // a redirection's file: neither command nor argument
		}
		cmd = append(cmd, word)
	}
	endCmd := func(i int) {
		endWord(i)
		p.command(cmd)
		cmd = cmd[:0]
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else if c == '\\' && quote == '"' && i+1 < len(l) {
				i++
				w = append(w, l[i])
			} else {
				w = append(w, c)
			}
		case c == '"' || c == '\'':
			if start < 0 {
				start = i
			}
			copyWord(i)
			quote = c
		case c == '\\' && i+1 < len(l):
			if start < 0 {
				start = i
			}
			copyWord(i)
			i++
			w = append(w, l[i])
		case c == '#' && start < 0:
			endCmd(i)
			p.cmd = cmd
			return // a comment to the end of the line
		case c == ' ' || c == '\t':
			endWord(i)
		case c == ';' || c == '&' || c == '|' || c == '(' || c == ')' || c == '`':
			end := i
			if c == '(' && start >= 0 && (copied && len(w) > 0 && w[len(w)-1] == '$' || !copied && l[i-1] == '$') {
				// $( … ): a command substitution; its text is a command.
				end--
				if copied {
					w = w[:len(w)-1]
				}
				if copied && len(w) == 0 || !copied && end == start {
					start, copied = -1, false
				}
			}
			endCmd(end)
		case c == '<' || c == '>':
			endWord(i)
			redirect = true
		default:
			if start < 0 {
				start = i
			}
			if copied {
				w = append(w, c)
			}
		}
	}
	endCmd(len(l))
	p.cmd = cmd
}

// command records a simple command's assignments and words.
func (p *scriptParser) command(words []string) {
	for len(words) > 0 && isReserved(words[0]) {
		words = words[1:]
	}
	for len(words) > 0 {
		name, value, ok := assignment(words[0])
		if !ok {
			break
		}
		p.setVar(name, value)
		words = words[1:]
	}
	if len(words) == 0 || len(p.commands) >= 4*maxCandidates*maxCandidates {
		return
	}
	switch words[0] {
	case "export", "readonly", "local", "declare", "typeset":
		for _, w := range words[1:] {
			if name, value, ok := assignment(w); ok {
				p.setVar(name, value)
			}
		}
		return
	}
	p.commands = append(p.commands, slices.Clip(slices.Clone(words)))
}

func (p *scriptParser) setVar(name, value string) {
	if len(p.assigns) < 4*maxCandidates*maxCandidates {
		p.assigns = append(p.assigns, assign{name, value})
	}
	if _, ok := p.vars[name]; !ok {
		p.vars[name] = value
	}
}

// assignment splits NAME=value.
func assignment(w string) (name, value string, ok bool) {
	name, value, ok = strings.Cut(w, "=")
	if !ok || !validName(name) {
		return "", "", false
	}
	return name, value, true
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// expand replaces $NAME, ${NAME} and ${NAME:-word} (also -, :=, =) with
// the value the script gives NAME (or the default), depth levels deep. A
// reference to a variable the script does not set stays, so the word is
// left out as unexpanded.
func (p *scriptParser) expand(s string, depth int) string {
	return p.expandIn(s, depth, nil)
}

// errExpansion is what a word too costly to expand becomes: it keeps a
// "$", so the word is left out as unexpanded.
const errExpansion = "$"

// expandIn expands s inside the values of the variables in stack, which
// count as unset there: A=$A/x says nothing about A.
func (p *scriptParser) expandIn(s string, depth int, stack []string) string {
	if !strings.Contains(s, "$") || depth > maxExpansions {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if b.Len() > maxExpanded || p.budget <= 0 {
			return errExpansion
		}
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		name, def, hasDef, n := reference(s[i+1:])
		if n == 0 {
			b.WriteByte('$')
			continue
		}
		v, ok := p.vars[name]
		if contains(stack, name) {
			ok = false
		}
		switch {
		case ok && !(v == "" && hasDef):
			b.WriteString(p.expandIn(v, depth+1, append(stack, name)))
		case hasDef:
			b.WriteString(p.expandIn(def, depth+1, stack))
		default:
			b.WriteString(s[i : i+1+n]) // unknown: kept, so the word is dropped
		}
		i += n
	}
	p.budget -= b.Len()
	if b.Len() > maxExpanded {
		return errExpansion
	}
	return b.String()
}

// reference reads a variable reference after its "$": NAME or {NAME} or
// {NAME<op>word}, returning the name, the default word, whether there is
// one, and how many bytes it took (0 when it is no reference).
func reference(s string) (name, def string, hasDef bool, n int) {
	if strings.HasPrefix(s, "{") {
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return "", "", false, 0
		}
		body := s[1:end]
		name = body
		for _, op := range []string{":-", ":=", "-", "="} {
			if k := strings.Index(body, op); k > 0 {
				name, def, hasDef = body[:k], body[k+len(op):], true
				break
			}
		}
		if !validName(name) {
			return "", "", false, 0
		}
		return name, def, hasDef, end + 1
	}
	k := 0
	for k < len(s) && (s[k] == '_' || 'a' <= s[k] && s[k] <= 'z' || 'A' <= s[k] && s[k] <= 'Z' || k > 0 && '0' <= s[k] && s[k] <= '9') {
		k++
	}
	if k == 0 {
		return "", "", false, 0
	}
	return s[:k], "", false, k
}
