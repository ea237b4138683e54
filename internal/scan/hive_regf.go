package scan

import (
	"context"
	"errors"
	"io"
	"io/fs"

	"github.com/avscout/avscout/internal/winreg"
)

// OpenHive opens a hive file with the regf reader. (Placeholder until the
// regf package lands.)
func OpenHive(ctx context.Context, fsys fs.FS, name string) (winreg.Key, string, io.Closer, error) {
	return nil, "", nil, errors.New(name + ": no hive reader")
}
