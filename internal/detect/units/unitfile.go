package units

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxFile is the largest unit file or init script read: real ones are a
// few KiB.
const MaxFile = 256 << 10

// ErrTooLarge means a unit file or init script is larger than [MaxFile].
var ErrTooLarge = errors.New("larger than 256 KiB")

// maxLine bounds one logical line of a unit file (continuations joined).
const maxLine = 64 << 10

// Unit is what a scan uses of a unit file.
type Unit struct {
	// ExecStart is the command line of the service's main process: the
	// words of its first ExecStart= after the last empty one (which resets
	// the list), with the prefixes that change how it runs (-@:+!|) taken
	// off the program. Nil when the file has none (a target, a socket, a
	// unit whose ExecStart= comes from a drop-in).
	ExecStart []string
}

// ParseUnit reads a systemd unit file (systemd.syntax(7)): sections in
// brackets, Key=Value lines, "#" and ";" comments, lines continued with a
// trailing backslash. It keeps ExecStart= of the [Service] section. Input
// larger than [MaxFile] is an error wrapping [ErrTooLarge]; a line it
// cannot read is skipped.
func ParseUnit(r io.Reader) (Unit, error) {
	data, err := readCapped(r)
	if err != nil {
		return Unit{}, err
	}
	var u Unit
	var execs [][]string
	section := ""
	var logical strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), MaxFile+1)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if logical.Len() == 0 && (line == "" || line[0] == '#' || line[0] == ';') {
			continue
		}
		if logical.Len() > 0 && (strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";")) {
			continue // comments inside a continued line are dropped
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			if logical.Len()+len(cont) < maxLine {
				logical.WriteString(cont)
				logical.WriteByte(' ')
			}
			continue
		}
		if logical.Len() > 0 {
			if logical.Len()+len(line) < maxLine {
				logical.WriteString(line)
			}
			line = logical.String()
			logical.Reset()
		}
		if strings.HasPrefix(line, "[") {
			if end := strings.IndexByte(line, ']'); end > 0 {
				section = line[1:end]
			}
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok || section != "Service" || strings.TrimSpace(key) != "ExecStart" {
			continue
		}
		value = strings.TrimSpace(value)
		if value == "" {
			execs = nil // an empty assignment resets the list
			continue
		}
		execs = append(execs, splitExec(value))
	}
	if err := sc.Err(); err != nil {
		return u, fmt.Errorf("unit file: %w", err)
	}
	for _, e := range execs {
		if len(e) > 0 {
			u.ExecStart = e
			break
		}
	}
	return u, nil
}

// readCapped reads all of r up to MaxFile bytes.
func readCapped(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFile {
		return nil, ErrTooLarge
	}
	return data, nil
}

// execPrefixes are the characters systemd.service(5) allows before an
// Exec program: "-" ignore failure, "@" argv[0] follows, ":" no
// environment expansion, "+", "!", "!!" privileges, "|" run through the
// user's shell.
const execPrefixes = "-@:+!|"

// splitExec splits an ExecStart= value into words, honouring quotes and
// backslash escapes as systemd does for command lines, and takes the
// prefixes off the program. With the "@" prefix the second word is
// argv[0], not an argument, and is dropped.
func splitExec(value string) []string {
	prog := strings.TrimLeft(value, execPrefixes)
	argv0 := strings.Contains(value[:len(value)-len(prog)], "@")
	words := splitWords(prog, true)
	if argv0 && len(words) > 1 {
		words = append(words[:1], words[2:]...)
	}
	return words
}

// shellWords splits s into words at unquoted blanks as a shell does,
// removing the quotes and backslash escapes (none inside single quotes).
// It expands nothing.
func shellWords(s string) []string { return splitWords(s, false) }

// splitWords splits s into words at unquoted blanks, removing the quotes
// and backslash escapes; escapesInSingle takes backslash escapes inside
// single quotes too, as systemd does (systemd.syntax(7)).
func splitWords(s string, escapesInSingle bool) []string {
	var words []string
	var w strings.Builder
	in := false // inside a word
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else if c == '\\' && (quote == '"' || escapesInSingle) && i+1 < len(s) {
				i++
				w.WriteByte(s[i])
			} else {
				w.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quote, in = c, true
		case c == '\\' && i+1 < len(s):
			i++
			w.WriteByte(s[i])
			in = true
		case c == ' ' || c == '\t':
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
		default:
			w.WriteByte(c)
			in = true
		}
	}
	if in {
		words = append(words, w.String())
	}
	return words
}
