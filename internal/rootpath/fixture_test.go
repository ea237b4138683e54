package rootpath

import (
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// fixture builds a root in a temporary directory. Values: "dir", "file:<content>",
// "link:<target>" (the target written verbatim, absolute or relative).
func fixture(t *testing.T, tree map[string]string) string {
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
