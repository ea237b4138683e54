package config

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Show writes the effective configuration as YAML that Load reads back,
// each setting followed by a comment saying where it came from, secrets
// replaced by "<redacted>". It is what `avscout config show` prints.
func (e *Effective) Show(w io.Writer) error {
	bw := bufio.NewWriter(w)
	file := e.Path
	if file == "" {
		file = "none"
	}
	fmt.Fprintf(bw, "# avscout effective configuration\n")
	fmt.Fprintf(bw, "# config file: %s\n", file)
	fmt.Fprintf(bw, "# precedence: default < file < env < managed; each setting says where it came from\n")

	root := &yaml.Node{Kind: yaml.MappingNode}
	sectionNodes := map[string]*yaml.Node{}
	c := &e.Config
	for i := range table {
		s := &table[i]
		if s.Name == "collector.token" && c.Collector.TokenFile != "" {
			continue // read from collector.token_file, shown there
		}
		parent := root
		leaf := s.Name
		if sec, rest, ok := strings.Cut(s.Name, "."); ok {
			leaf = rest
			if sectionNodes[sec] == nil {
				sectionNodes[sec] = &yaml.Node{Kind: yaml.MappingNode}
				root.Content = append(root.Content, scalar(sec), sectionNodes[sec])
			}
			parent = sectionNodes[sec]
		}
		key, val := scalar(leaf), s.node(s.get(c))
		comment := e.comment(s.Name)
		if s.Name == "collector.token_file" && c.Collector.TokenFile != "" {
			comment += "; the token is read from it"
		}
		// The encoder keeps a comment on the key of a block collection and
		// on the value of anything written on the key's line.
		if val.Kind != yaml.ScalarNode && val.Style != yaml.FlowStyle {
			key.LineComment = comment
		} else {
			val.LineComment = comment
		}
		parent.Content = append(parent.Content, key, val)
	}
	enc := yaml.NewEncoder(bw)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return fmt.Errorf("show config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("show config: %w", err)
	}
	for _, warning := range e.Warnings {
		fmt.Fprintf(bw, "# warning: %s\n", strings.ReplaceAll(warning, "\n", " "))
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("show config: %w", err)
	}
	return nil
}

// comment says where a setting came from, for Show.
func (e *Effective) comment(name string) string {
	where, origin := e.Where[name], e.Origin[name]
	switch {
	case where == "" && origin == "":
		return ""
	case where == "" || where == origin:
		return origin
	case origin == OriginFile:
		return "file " + where
	}
	return where
}

func scalar(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

// node renders a value of the setting as YAML, secrets hidden.
func (s *setting) node(v any) *yaml.Node {
	switch v := v.(type) {
	case []string:
		n := &yaml.Node{Kind: yaml.SequenceNode}
		if len(v) == 0 {
			n.Style = yaml.FlowStyle
		}
		for _, e := range v {
			n.Content = append(n.Content, scalar(s.show(e)))
		}
		return n
	case map[string]string:
		n := &yaml.Node{Kind: yaml.MappingNode}
		if len(v) == 0 {
			n.Style = yaml.FlowStyle
		}
		for _, k := range slices.Sorted(maps.Keys(v)) {
			n.Content = append(n.Content, scalar(k), scalar(v[k]))
		}
		return n
	case int:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(v)}
	case string:
		if v == "" {
			return scalar("")
		}
		return scalar(s.show(v))
	}
	return scalar(s.show(s.format(v)))
}
