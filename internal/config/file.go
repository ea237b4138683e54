package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// parseFile reads the YAML config file into raw values by setting name.
// Unknown keys are errors, so that a typo cannot silently disable a
// setting (delivery, above all). A key with no value (null) is not set.
func parseFile(data []byte, path string) (values map[string]value, errs []error) {
	root, err := decodeYAML(data)
	if err != nil {
		return nil, []error{fmt.Errorf("config: %s: malformed YAML: %w", path, err)}
	}
	values = map[string]value{}
	if root == nil || isNull(root) {
		return values, nil
	}
	p := &fileParser{path: path, values: values}
	if root.Kind != yaml.MappingNode {
		return nil, []error{fmt.Errorf("config: %s:%d: the file must be a mapping of settings (collector:, schedule:, …)", path, root.Line)}
	}
	p.mapping(root, "")
	return values, p.errs
}

// decodeYAML parses one YAML document into its root node; nil for an
// empty file.
func decodeYAML(data []byte) (root *yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, fmt.Errorf("parser failed: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("line %d: a second YAML document; the file must hold one", next.Line)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	return resolve(doc.Content[0]), nil
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 8; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

type fileParser struct {
	path   string
	values map[string]value
	errs   []error
}

func (p *fileParser) errorf(line int, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("config: %s:%d: "+format, append([]any{p.path, line}, args...)...))
}

// sections are the keys that hold settings: "collector", "schedule", …
func sections() []string {
	var out []string
	for _, s := range table {
		if sec, _, ok := strings.Cut(s.Name, "."); ok && !slices.Contains(out, sec) {
			out = append(out, sec)
		}
	}
	return out
}

// mapping reads a mapping of settings; prefix is "" at the top level and
// "collector." in the collector section.
func (p *fileParser) mapping(n *yaml.Node, prefix string) {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k == nil || v == nil || k.Kind != yaml.ScalarNode {
			p.errorf(n.Content[i].Line, "keys must be plain names")
			continue
		}
		name := prefix + k.Value
		if line, dup := seen[k.Value]; dup {
			p.errorf(k.Line, "%s is set twice (first at line %d)", name, line)
			continue
		}
		seen[k.Value] = k.Line
		if s := lookup(name); s != nil {
			p.leaf(s, k, v)
			continue
		}
		if prefix == "" && slices.Contains(sections(), k.Value) {
			switch {
			case isNull(v):
			case v.Kind == yaml.MappingNode:
				p.mapping(v, name+".")
			default:
				p.errorf(k.Line, "%s must be a mapping of settings", name)
			}
			continue
		}
		p.errorf(k.Line, "unknown setting %q%s", name, suggest(name, prefix))
	}
}

// leaf reads one setting's value.
func (p *fileParser) leaf(s *setting, k, v *yaml.Node) {
	where := fmt.Sprintf("%s:%d", p.path, k.Line)
	fail := func(format string, args ...any) {
		p.errs = append(p.errs, &Error{Setting: s.Name, Where: where, Err: fmt.Errorf(format, args...)})
	}
	switch {
	case isNull(v):
		return
	case v.Kind == yaml.ScalarNode:
		p.values[s.Name] = value{raw: v.Value, where: where}
	case v.Kind == yaml.SequenceNode && s.Kind == KindList:
		list := make([]string, 0, len(v.Content))
		for i, e := range v.Content {
			if e = resolve(e); e == nil || e.Kind != yaml.ScalarNode || isNull(e) {
				fail("item %d must be a single value", i+1)
				return
			}
			list = append(list, e.Value)
		}
		p.values[s.Name] = value{raw: list, where: where}
	case v.Kind == yaml.MappingNode && s.Kind == KindTags:
		m := map[string]string{}
		for i := 0; i+1 < len(v.Content); i += 2 {
			tk, tv := resolve(v.Content[i]), resolve(v.Content[i+1])
			if tk == nil || tv == nil || tk.Kind != yaml.ScalarNode || tv.Kind != yaml.ScalarNode {
				fail("tag at line %d: keys and values must be single values", v.Content[i].Line)
				return
			}
			if _, dup := m[tk.Value]; dup {
				fail("tag %q is set twice", tk.Value)
				return
			}
			if isNull(tv) {
				m[tk.Value] = ""
			} else {
				m[tk.Value] = tv.Value
			}
		}
		p.values[s.Name] = value{raw: m, where: where}
	case v.Kind == yaml.SequenceNode:
		fail("takes a single value, not a list")
	case v.Kind == yaml.MappingNode:
		fail("takes a single value, not a mapping")
	default:
		fail("unexpected YAML value")
	}
}

// suggest returns ` (did you mean "x"?)` for the known setting nearest to
// an unknown name, when one is near.
func suggest(name, prefix string) string {
	if prefix == "" {
		for _, s := range table {
			if _, leaf, ok := strings.Cut(s.Name, "."); ok && leaf == name {
				return fmt.Sprintf(" (did you mean %s under %s:?)", leaf, strings.TrimSuffix(s.Name, "."+leaf))
			}
		}
	}
	best, bestDist := "", 3
	var candidates []string
	for _, s := range table {
		if prefix == "" {
			sec, _, _ := strings.Cut(s.Name, ".")
			candidates = append(candidates, sec)
		} else if strings.HasPrefix(s.Name, prefix) {
			candidates = append(candidates, s.Name)
		}
	}
	for _, c := range candidates {
		if d := distance(name, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" {
		var known []string
		for _, c := range candidates {
			known = append(known, strings.TrimPrefix(c, prefix))
		}
		slices.Sort(known)
		known = slices.Compact(known)
		return fmt.Sprintf(" (known: %s)", strings.Join(known, ", "))
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// distance is the Levenshtein distance of two short strings.
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
