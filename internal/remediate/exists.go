package remediate

import (
	"errors"
	"io/fs"

	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/rootpath"
	"github.com/avscout/avscout/internal/winpath"
)

// ExistsOn returns an [Options.Exists] that looks paths up in h's
// filesystem: a mounted image under --root, or the live machine. Windows
// paths are looked up on the root's drive, in any case, as Windows finds
// them; a path on another drive, or one that cannot be read, is unknown.
func ExistsOn(h *host.Host) func(string) (bool, bool) {
	if h.OS == host.Windows {
		c := winpath.NewChecker(h.FS, "C:")
		return c.Exists
	}
	return func(p string) (bool, bool) {
		rel, err := rootpath.Target(h.OS, p)
		if err != nil {
			return false, false
		}
		_, err = fs.Stat(h.FS, rel)
		switch {
		case err == nil:
			return true, true
		case errors.Is(err, fs.ErrNotExist):
			return false, true
		}
		return false, false
	}
}
