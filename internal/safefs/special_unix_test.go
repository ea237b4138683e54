//go:build unix

package safefs_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/safefs"
)

// A named pipe without a writer blocks a plain open(2) forever; a socket
// cannot be opened at all. Both fail at once with a clear error.
func TestRootRefusesPipesAndSockets(t *testing.T) {
	dir := safefs.ShortTempDir(t)
	safefs.MakeSpecial(t, filepath.Join(dir, "status"), filepath.Join(dir, "sock"))
	fsys := openRoot(t, dir)
	for name, what := range map[string]string{"status": "a named pipe", "sock": "a socket"} {
		safefs.Within(t, 5*time.Second, func() {
			_, err := safefs.ReadFile(context.Background(), fsys, name, safefs.PackageDB)
			if !errors.Is(err, safefs.ErrNotRegular) || !strings.Contains(err.Error(), name+": not a regular file ("+what+")") {
				t.Errorf("%s: %v", name, err)
			}
		})
	}
}
