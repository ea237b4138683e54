package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/avscout/avscout/internal/config"
	"github.com/avscout/avscout/internal/winpath"
)

// tokenFileName is the token file's name, next to the config file.
const tokenFileName = "collector.token"

// seed is one run's input.
type seed struct {
	configPath string
	url        string
	token      string
	tags       string
}

// files is what apply needs from the file system, so that the logic is
// tested on Linux with a fake.
type files interface {
	Stat(name string) (fs.FileInfo, error)
	ReadFile(name string) ([]byte, error)
	// MkdirPrivate creates dir (and parents) if missing.
	MkdirPrivate(dir string) error
	// WritePrivate creates name, which must not exist, readable and
	// writable by SYSTEM and Administrators only.
	WritePrivate(name string, data []byte) error
	Remove(name string) error
	// CheckOwned fails if name is a junction or symbolic link or is not
	// owned by SYSTEM or Administrators (off Windows: root or the caller).
	CheckOwned(name string) error
}

// apply writes the config unless it exists or nothing was given, and
// says what it did.
func (s seed) apply(f files) (string, error) {
	if err := s.checkValues(); err != nil {
		return "", err
	}
	// The folder is made private first, also when nothing is written:
	// C:\ProgramData lets every user create files, and a config planted
	// there before the service starts would steer a SYSTEM process.
	dir := winpath.Dir(s.configPath)
	if err := f.MkdirPrivate(dir); err != nil {
		return "", fmt.Errorf("config folder %s: %w", dir, err)
	}
	tokenPath := ""
	if s.token != "" {
		tokenPath = dir + `\` + tokenFileName
	}
	if _, err := f.Stat(s.configPath); err == nil {
		// Kept only if SYSTEM or an administrator wrote it: a config or
		// token planted by a user would steer (or feed) a SYSTEM service.
		if err := f.CheckOwned(s.configPath); err != nil {
			return "", fmt.Errorf("the existing config: %w", err)
		}
		tok := dir + `\` + tokenFileName
		if _, err := f.Stat(tok); err == nil {
			if err := f.CheckOwned(tok); err != nil {
				return "", fmt.Errorf("the existing token file: %w", err)
			}
		}
		return "kept the existing " + s.configPath, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("config %s: %w", s.configPath, err)
	}
	if s.url == "" && s.token == "" && s.tags == "" {
		return "no collector given: " + s.configPath + " not written (the agent runs on its defaults)", nil
	}
	var tags map[string]string
	if strings.TrimSpace(s.tags) != "" {
		var err error
		if tags, err = config.ParseTags(s.tags); err != nil {
			return "", fmt.Errorf("TAGS: %w (write TAGS=site=berlin,dept=it)", err)
		}
	}
	text, err := render(s.url, tokenPath, tags)
	if err != nil {
		return "", err
	}
	var written []string
	undo := func() {
		for _, p := range written {
			_ = f.Remove(p) // best effort: the error that caused the undo is the one reported
		}
	}
	if tokenPath != "" {
		// A token file left from an earlier install whose config was
		// deleted is replaced: the new token is the one asked for.
		if err := f.Remove(tokenPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("token file %s: %w", tokenPath, err)
		}
		if err := f.WritePrivate(tokenPath, []byte(s.token+"\n")); err != nil {
			return "", fmt.Errorf("token file %s: %w", tokenPath, err)
		}
		written = append(written, tokenPath)
	}
	if err := f.WritePrivate(s.configPath, text); err != nil {
		undo()
		return "", fmt.Errorf("config %s: %w", s.configPath, err)
	}
	written = append(written, s.configPath)
	// The agent's own loader is the judge: an install that would leave a
	// service unable to start fails now, with the loader's reason.
	if _, err := config.Load(config.LoadOptions{
		OS:        config.Windows,
		Path:      s.configPath,
		Explicit:  true,
		LookupEnv: func(string) (string, bool) { return "", false },
		ReadFile:  f.ReadFile,
		Stat:      f.Stat,
	}); err != nil {
		undo()
		return "", fmt.Errorf("the MSI properties make an invalid config (nothing written): %w", err)
	}
	return "wrote " + s.configPath, nil
}

// checkValues refuses property values that the custom action's command
// line (--url "[COLLECTOR_URL]" …, avscout.wxs) cannot carry: a double
// quote ends the quoted argument early and a trailing backslash escapes
// the closing quote, so the helper would see other values than the ones
// given. Nothing is written.
func (s seed) checkValues() error {
	for _, v := range []struct{ prop, val string }{
		{"COLLECTOR_URL", s.url}, {"COLLECTOR_TOKEN", s.token}, {"TAGS", s.tags},
	} {
		if strings.Contains(v.val, `"`) {
			return fmt.Errorf("%s contains a double quote (\"), which the installer's command line cannot pass: nothing written", v.prop)
		}
		if strings.HasSuffix(v.val, `\`) {
			return fmt.Errorf("%s ends in a backslash (\\), which the installer's command line cannot pass: nothing written", v.prop)
		}
	}
	return nil
}

// checkCommandLine checks the raw Windows command line of the helper: with
// the quoting of avscout.wxs, every double quote opens an argument (it
// follows a space or starts the line) or closes one (a space or the end
// follows it), and none has a backslash before it. A property value with a
// quote inside, or ending in a backslash, breaks that, even when the split
// arguments look plausible.
func checkCommandLine(cl string) error {
	for i := 0; i < len(cl); i++ {
		if cl[i] != '"' {
			continue
		}
		if i > 0 && cl[i-1] == '\\' {
			return fmt.Errorf("a property value ends in a backslash (\\) or holds a double quote (\"), which the installer's command line cannot pass: nothing written")
		}
		opens := i == 0 || cl[i-1] == ' ' || cl[i-1] == '\t' || cl[i-1] == '='
		closes := i == len(cl)-1 || cl[i+1] == ' ' || cl[i+1] == '\t'
		if !opens && !closes {
			return fmt.Errorf("a property value holds a double quote (\"), which the installer's command line cannot pass: nothing written")
		}
	}
	return nil
}

// render writes the config YAML; the YAML encoder does the quoting.
func render(url, tokenFile string, tags map[string]string) ([]byte, error) {
	var b strings.Builder
	b.WriteString("# Written by the avscout MSI on first install from its properties.\n" +
		"# Upgrades and reinstalls keep this file; edit it, then restart the service.\n")
	doc := yaml.Node{Kind: yaml.MappingNode}
	add := func(m *yaml.Node, k string, v *yaml.Node) {
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, v)
	}
	str := func(s string) *yaml.Node {
		return &yaml.Node{Kind: yaml.ScalarNode, Value: s, Style: yaml.DoubleQuotedStyle}
	}
	if url != "" || tokenFile != "" {
		coll := &yaml.Node{Kind: yaml.MappingNode}
		if url != "" {
			add(coll, "url", str(url))
		}
		if tokenFile != "" {
			add(coll, "token_file", str(tokenFile))
		}
		add(&doc, "collector", coll)
	}
	if len(tags) > 0 {
		tm := &yaml.Node{Kind: yaml.MappingNode}
		keys := make([]string, 0, len(tags))
		for k := range tags {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			add(tm, k, str(tags[k]))
		}
		add(&doc, "tags", tm)
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return nil, fmt.Errorf("render the config: %w", err)
	}
	b.Write(out)
	return []byte(b.String()), nil
}

// osFS is the real file system.
type osFS struct{}

func (osFS) Stat(name string) (fs.FileInfo, error)    { return os.Stat(name) }
func (osFS) ReadFile(name string) ([]byte, error)     { return os.ReadFile(name) }
func (osFS) Remove(name string) error                 { return os.Remove(name) }
func (osFS) MkdirPrivate(dir string) error            { return mkdirPrivate(filepath.Clean(dir)) }
func (osFS) WritePrivate(name string, b []byte) error { return writePrivate(name, b) }
func (osFS) CheckOwned(name string) error             { return checkOwned(name) }
