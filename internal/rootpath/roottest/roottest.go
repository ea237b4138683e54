// Package roottest builds small root directories for the tests of the
// code that reads a target's filesystem (the resolver, the paths and
// units sources): a tree described as data, written into a temporary
// directory with real files, folders and symbolic links.
package roottest

import (
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// Tree writes tree into a new temporary directory and returns it. Keys are
// slash-separated paths; values say what each is: "dir", "file:<content>"
// (mode 0644), "exec:<content>" (mode 0755), or "link:<target>" (the target
// written verbatim, absolute or relative). Where symbolic links cannot be
// made (Windows without the privilege) the test is skipped.
func Tree(t testing.TB, tree map[string]string) string {
	t.Helper()
	root := t.TempDir()
	names := make([]string, 0, len(tree))
	for name := range tree {
		names = append(names, name)
	}
	sort.Strings(names) // parents before children
	for _, name := range names {
		spec := tree[name]
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case spec == "dir":
			err = os.MkdirAll(p, 0o755)
		case strings.HasPrefix(spec, "file:"):
			err = os.WriteFile(p, []byte(strings.TrimPrefix(spec, "file:")), 0o644)
		case strings.HasPrefix(spec, "exec:"):
			err = os.WriteFile(p, []byte(strings.TrimPrefix(spec, "exec:")), 0o755)
		case strings.HasPrefix(spec, "link:"):
			err = os.Symlink(strings.TrimPrefix(spec, "link:"), p)
			if err != nil && runtime.GOOS == "windows" {
				t.Skipf("cannot make symbolic links here: %v", err)
			}
		default:
			t.Fatalf("bad fixture spec %q", spec)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return root
}
