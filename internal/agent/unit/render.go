package unit

import (
	"errors"
	"fmt"
	"strings"
)

// The templates use a small template language (values by name, `|`
// pipelines, range and if); render implements it without text/template,
// whose use of reflection would grow the agent binary.

// pipe returns the pipeline function name.
func pipe(name string) (func(string) string, bool) {
	switch name {
	case "cmd": // quotes one ExecStart argument
		return func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }, true
	case "cmdEscape": // escapes the spaces of ExecStart's program path
		return func(s string) string { return strings.ReplaceAll(s, " ", `\x20`) }, true
	case "html": // escapes a plist string
		return strings.NewReplacer(`&`, "&amp;", `'`, "&#39;", `<`, "&lt;", `>`, "&gt;", `"`, "&#34;").Replace, true
	}
	return nil, false
}

// render renders text: {{Key}}, {{Key | fn | …}}, {{.}} inside a
// range, {{range Key}}…{{end}} over a []string and {{if Key}}…{{end}}
// (true when the value is a non-empty string or list).
func render(text string, data map[string]any) (string, error) {
	var b strings.Builder
	rest, term, err := renderNodes(&b, text, data, "", true)
	if err != nil {
		return "", err
	}
	if term != "" || rest != "" {
		return "", fmt.Errorf("template: unexpected {{%s}}", term)
	}
	return b.String(), nil
}

// renderNodes renders src up to an unmatched {{end}} (returned as term,
// with what follows it as rest) or the end of src. Nothing is written
// when emit is false (a false if, an empty range).
func renderNodes(b *strings.Builder, src string, data map[string]any, dot string, emit bool) (rest, term string, err error) {
	for {
		i := strings.Index(src, "{{")
		if i < 0 {
			if emit {
				b.WriteString(src)
			}
			return "", "", nil
		}
		if emit {
			b.WriteString(src[:i])
		}
		j := strings.Index(src[i:], "}}")
		if j < 0 {
			return "", "", errors.New("template: unclosed {{")
		}
		action := strings.TrimSpace(src[i+2 : i+j])
		src = src[i+j+2:]
		switch word, arg, _ := strings.Cut(action, " "); word {
		case "end":
			return src, "end", nil
		case "range", "if":
			v, ok := data[strings.TrimSpace(arg)]
			if !ok {
				return "", "", fmt.Errorf("template: unknown value %q", arg)
			}
			list, isList := v.([]string)
			if word == "if" || !isList {
				s, _ := v.(string)
				body, term, err := renderNodes(b, src, data, dot, emit && (s != "" || len(list) > 0))
				if err != nil || term != "end" {
					return "", "", cmpErr(err, action)
				}
				src = body
				continue
			}
			after := src
			if len(list) == 0 {
				if after, term, err = renderNodes(b, src, data, dot, false); err != nil || term != "end" {
					return "", "", cmpErr(err, action)
				}
			}
			for _, item := range list {
				if after, term, err = renderNodes(b, src, data, item, emit); err != nil || term != "end" {
					return "", "", cmpErr(err, action)
				}
			}
			src = after
		default:
			parts := strings.Split(action, "|")
			name := strings.TrimSpace(parts[0])
			var s string
			if name == "." {
				s = dot
			} else if v, ok := data[name].(string); ok {
				s = v
			} else {
				return "", "", fmt.Errorf("template: {{%s}}: no text value %q", action, name)
			}
			for _, fn := range parts[1:] {
				f, ok := pipe(strings.TrimSpace(fn))
				if !ok {
					return "", "", fmt.Errorf("template: {{%s}}: unknown function %q", action, strings.TrimSpace(fn))
				}
				s = f(s)
			}
			if emit {
				b.WriteString(s)
			}
		}
	}
}

func cmpErr(err error, action string) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("template: {{%s}} has no {{end}}", action)
}
