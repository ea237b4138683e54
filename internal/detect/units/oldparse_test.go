package units

import (
	"bufio"
	"bytes"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The parsers as they were before they stopped copying every line and
// word (kept here only to compare the new ones with): oldSplitWords,
// and oldParseInitScript with the line splitting it used.

func oldSplitWords(s string, escapesInSingle bool) []string {
	var words []string
	var w []byte
	in := false
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
			quote, in = c, true
		case c == '\\' && i+1 < len(s):
			i++
			w = append(w, s[i])
			in = true
		case c == ' ' || c == '\t':
			if in {
				words = append(words, string(w))
				w = w[:0]
				in = false
			}
		default:
			w = append(w, c)
			in = true
		}
	}
	if in {
		words = append(words, string(w))
	}
	return words
}

func oldParseInitScript(data []byte) Script {
	var s Script
	first, _, _ := bytes.Cut(data, []byte("\n"))
	if prog, ok := shebang(first); ok {
		base := path.Base(string(prog))
		s.OpenRC = base == "openrc-run" || base == "runscript"
	}
	p := scriptParser{vars: map[string]string{}, budget: expandBudget}
	oldParse(&p, data)
	tiers := [3][]string{}
	for _, a := range p.assigns {
		if programVar(a.name) {
			tiers[0] = append(tiers[0], firstWord(p.expand(a.value, 0)))
		}
	}
	commands := make([][]string, len(p.commands))
	for i, c := range p.commands {
		argv := make([]string, len(c))
		for j, w := range c {
			argv[j] = p.expand(w, 0)
		}
		commands[i] = argv
		tiers[1] = append(tiers[1], startedBy(argv)...)
		tiers[2] = append(tiers[2], argv[0])
	}
	best := -1
	for i, t := range tiers {
		if candidates(slices.Values(t)) != nil {
			best = i
			break
		}
	}
	if best >= 0 {
		s.Programs = candidates(slices.Values(tiers[best]))
	}
	var rest []string
	for i, t := range tiers {
		if i != best {
			rest = append(rest, t...)
		}
	}
	for _, argv := range commands {
		rest = append(rest, argv[1:]...)
	}
	for _, o := range candidates(slices.Values(rest)) {
		if !contains(s.Programs, o) && len(s.Others) < maxCandidates {
			s.Others = append(s.Others, o)
		}
	}
	return s
}

func oldParse(p *scriptParser, data []byte) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), MaxFile+1)
	var logical strings.Builder
	delim := ""
	for sc.Scan() {
		line := sc.Text()
		if delim != "" {
			if strings.TrimSpace(line) == delim {
				delim = ""
			}
			continue
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok && logical.Len() < maxLine {
			logical.WriteString(cont)
			logical.WriteByte(' ')
			continue
		}
		logical.WriteString(line)
		l := logical.String()
		logical.Reset()
		if d, ok := heredoc(l); ok {
			delim = d
		}
		oldLine(p, l)
	}
}

func oldLine(p *scriptParser, l string) {
	var cmd []string
	var w []byte
	in, redirect := false, false
	var quote byte
	endWord := func() {
		if !in {
			return
		}
		word := string(w)
		w = w[:0]
		in = false
		if redirect {
			redirect = false
			return
		}
		cmd = append(cmd, word)
	}
	endCmd := func() {
		endWord()
		oldCommand(p, cmd)
		cmd = nil
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
			quote, in = c, true
		case c == '\\' && i+1 < len(l):
			i++
			w = append(w, l[i])
			in = true
		case c == '#' && !in:
			endCmd()
			return
		case c == ' ' || c == '\t':
			endWord()
		case c == ';' || c == '&' || c == '|' || c == '(' || c == ')' || c == '`':
			if c == '(' && in && len(w) > 0 && w[len(w)-1] == '$' {
				w = w[:len(w)-1]
				in = len(w) > 0
			}
			endCmd()
		case c == '<' || c == '>':
			endWord()
			redirect = true
		default:
			w = append(w, c)
			in = true
		}
	}
	endCmd()
}

func oldCommand(p *scriptParser, words []string) {
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
	p.commands = append(p.commands, words)
}

// sameAsOld fails when the parsers give other results than the old ones
// on data, or results that change when data is overwritten afterwards
// (the source reuses its read buffer).
func sameAsOld(t *testing.T, data []byte) {
	t.Helper()
	buf := append([]byte(nil), data...)
	want := oldParseInitScript(data)
	got := parseInitScript(buf)
	gotUnit := parseUnit(buf)
	clear(buf)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseInitScript(%q)\n got %#v\nwant %#v", data, got, want)
	}
	if again := parseInitScript(data); !reflect.DeepEqual(got, again) {
		t.Errorf("parseInitScript(%q) changed when its input was overwritten:\n %#v\n %#v", data, got, again)
	}
	if again := parseUnit(data); !reflect.DeepEqual(gotUnit, again) {
		t.Errorf("parseUnit(%q) changed when its input was overwritten:\n %#v\n %#v", data, gotUnit, again)
	}
	s := string(data)
	for _, single := range []bool{false, true} {
		if got, want := splitWords(s, single), oldSplitWords(s, single); !reflect.DeepEqual(got, want) {
			t.Errorf("splitWords(%q, %v) = %q, want %q", s, single, got, want)
		}
	}
}

// oldInputs are scripts, lines and words of every kind the parsers meet.
func oldInputs(t testing.TB) [][]byte {
	var in [][]byte
	files, _ := filepath.Glob(filepath.Join("testdata", "init", "*"))
	live, _ := filepath.Glob("/etc/init.d/*")
	for _, name := range append(files, live...) {
		if b, err := os.ReadFile(name); err == nil && len(b) <= MaxFile {
			in = append(in, b)
		}
	}
	for _, s := range []string{"", " ", "a", "a b", " a  b ", "'a b'", `"a\"b"`, `a\ b`, `\`, `a\`, `'`, `"`, `"a`, "'a\\'b'",
		"a'b'c", `a"b"c d`, "\t\ta\t", "x=$(cat /f)", "A=1 B=2 /opt/x/y", "export DAEMON=/opt/k/bin/k", "if [ -x $D ]; then $D; fi",
		"cmd >/dev/null 2>&1 </dev/zero", "a|b&c;d(e)f`g`", "$(", "a$(b", "$((1+2))", "# c", "a # c", "a#b",
		"DAEMON=/opt/x\\\n--y\n", "cat <<EOF\n/opt/in/doc\nEOF\n/opt/after\n", "l1\r\nl2\r\n", "\x00\xff",
		"[Service]\nExecStart=/usr/bin/x 'a b' \"c\\\"d\" e\\ f\n", "[Service]\nExecStart=@/a b c\n", "[Service]\nExecStart=\\\n",
		keslUnit, klnagentUnit, clamdUnit, sshUnit, avahiUnit, keslInit} {
		in = append(in, []byte(s))
	}
	return in
}

// TestParsersAsOld: the parsers that take words out of their input
// without copying give what the copying ones gave.
func TestParsersAsOld(t *testing.T) {
	for _, b := range oldInputs(t) {
		sameAsOld(t, b)
	}
}

func FuzzParsersAsOld(f *testing.F) {
	for _, b := range oldInputs(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > MaxFile {
			return
		}
		sameAsOld(t, data)
	})
}
