package units

import (
	"bytes"
	"errors"
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
	return parseUnit(data), nil
}

// parseUnit parses a unit file's content; see [ParseUnit]. It allocates
// only for the ExecStart= lines it keeps.
func parseUnit(data []byte) Unit {
	var u Unit
	var execs [][]string
	inService := false
	var logical []byte // a line being continued
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		line = bytes.TrimSpace(line)
		if len(logical) == 0 && (len(line) == 0 || line[0] == '#' || line[0] == ';') {
			continue
		}
		if len(logical) > 0 && len(line) > 0 && (line[0] == '#' || line[0] == ';') {
			continue // comments inside a continued line are dropped
		}
		if cont, ok := bytes.CutSuffix(line, []byte{'\\'}); ok {
			if len(logical)+len(cont) < maxLine {
				logical = append(append(logical, cont...), ' ')
			}
			continue
		}
		if len(logical) > 0 {
			if len(logical)+len(line) < maxLine {
				logical = append(logical, line...)
			}
			line, logical = logical, nil
		}
		if line[0] == '[' {
			if end := bytes.IndexByte(line, ']'); end > 0 {
				inService = string(line[1:end]) == "Service"
			}
			continue
		}
		if !inService {
			continue
		}
		key, value, ok := bytes.Cut(line, []byte{'='})
		if !ok || string(bytes.TrimSpace(key)) != "ExecStart" {
			continue
		}
		value = bytes.TrimSpace(value)
		if len(value) == 0 {
			execs = nil // an empty assignment resets the list
			continue
		}
		execs = append(execs, splitExec(string(value)))
	}
	for _, e := range execs {
		if len(e) > 0 {
			u.ExecStart = e
			break
		}
	}
	return u
}

// readCapped reads all of r up to MaxFile bytes.
func readCapped(r io.Reader) ([]byte, error) { return readSized(r, 0) }

// readSized reads all of r up to MaxFile bytes. With size, the file's
// size when it was opened (at most MaxFile), it reads that many bytes and
// stops: no read is spent to meet the end, and what the file grew since
// is not read.
func readSized(r io.Reader, size int) ([]byte, error) {
	if size > 0 && size <= MaxFile {
		buf := make([]byte, size)
		n, err := io.ReadFull(r, buf)
		if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
			return nil, err
		}
		return buf[:n], nil // shorter when it shrank
	}
	var b bytes.Buffer
	b.Grow(min(size, MaxFile) + bytes.MinRead)
	if _, err := b.ReadFrom(io.LimitReader(r, MaxFile+1)); err != nil {
		return nil, err
	}
	if b.Len() > MaxFile {
		return nil, ErrTooLarge
	}
	return b.Bytes(), nil
}

// execPrefixes are the characters systemd.service(5) allows before an
// Exec program: "-" ignore failure, "@" argv[0] follows, ":" no
// environment expansion, "+", "!", "!!" privileges, "|" run through the
// user's shell.
const execPrefixes = "-@:+!|"

// splitExec splits an ExecStart= value into words, honouring quotes and
// backslash escapes as systemd does for command lines, and takes the
// prefixes off the program. With the "@" prefix the second word is
// argv[0], not an argument, and is dropped. Prefixes belong to the first
// word: a first word of prefixes alone ("- /usr/bin/x") leaves no
// program, and systemd ignores the line ("Empty path in command line"),
// as this does by returning nil.
func splitExec(value string) []string {
	prog := strings.TrimLeft(value, execPrefixes)
	if len(prog) < len(value) && (prog == "" || prog[0] == ' ' || prog[0] == '\t') {
		return nil
	}
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
// single quotes too, as systemd does (systemd.syntax(7)). A word without
// quotes or escapes is a substring of s; only the others are copied.
func splitWords(s string, escapesInSingle bool) []string {
	words := make([]string, 0, min(strings.Count(s, " ")+strings.Count(s, "\t")+1, 64))
	var w []byte // the word so far, once it is no substring of s
	start := -1  // where the word began when it is one; -1 outside a word
	copied := false
	// copyWord makes the word so far, s[start:i], a copy it can change.
	copyWord := func(i int) {
		if !copied {
			w = append(w[:0], s[start:i]...)
			copied = true
		}
	}
	endWord := func(i int) {
		if copied {
			words = append(words, string(w))
		} else {
			words = append(words, s[start:i])
		}
		start, copied = -1, false
	}
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else if c == '\\' && (quote == '"' || escapesInSingle) && i+1 < len(s) {
				i++
				w = append(w, s[i])
			} else {
				w = append(w, c)
			}
		case c == '"' || c == '\'':
			if start < 0 {
				start = i
			}
			copyWord(i)
			quote = c
		case c == '\\' && i+1 < len(s):
			if start < 0 {
				start = i
			}
			copyWord(i)
			i++
			w = append(w, s[i])
		case c == ' ' || c == '\t':
			if start >= 0 {
				endWord(i)
			}
		default:
			if start < 0 {
				start = i
			}
			if copied {
				w = append(w, c)
			}
		}
	}
	if start >= 0 {
		endWord(len(s))
	}
	if len(words) == 0 {
		return nil
	}
	return words
}
