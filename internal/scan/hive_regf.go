package scan

import (
	"context"
	"fmt"
	"io"
	"io/fs"

	"github.com/avscout/avscout/internal/winreg"
	"github.com/avscout/avscout/internal/winreg/regf"
)

// OpenHive is the [HiveOpener] of scans: it opens a hive file of fsys
// with the regf reader, with its .LOG1/.LOG2 transaction logs found
// beside it. A dirty hive whose logs could not be replayed is read as it
// is on the disk, and the warning says so.
func OpenHive(ctx context.Context, fsys fs.FS, name string) (winreg.Key, string, io.Closer, error) {
	h, c, err := regf.OpenFS(ctx, fsys, name, regf.Options{})
	if err != nil {
		return nil, "", nil, err // regf's errors name the file
	}
	root, err := h.Root()
	if err != nil {
		c.Close()
		return nil, "", nil, fmt.Errorf("%s: %w", name, err)
	}
	var warning string
	if h.Dirty() && !h.Replayed() {
		warning = "dirty (not cleanly closed by Windows) and its transaction logs could not be replayed"
		if err := h.ReplayError(); err != nil {
			warning += ": " + err.Error()
		}
		warning += "; read as it is on the disk, the last changes may be missing"
	}
	return root, warning, c, nil
}
