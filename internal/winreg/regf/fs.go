package regf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/avscout/avscout/internal/safefs"
)

// logSuffixes are the transaction logs of a hive, in the order they are
// replayed: the new-format pair, then the single log of Windows XP.
var logSuffixes = []string{".LOG1", ".LOG2", ".LOG"}

// OpenFS opens the hive file name of fsys (slash separated, as fs.FS
// names go) through safefs as a [safefs.Hive], with its transaction logs:
// the files of the same folder named as the hive plus .LOG1, .LOG2 or
// .LOG, in any case, as they appear on a mounted Windows volume. Logs are read
// (and closed) at once; closing the returned Closer closes the hive file,
// and the hive must not be used after.
// opts.Logs is replaced by the logs found.
func OpenFS(ctx context.Context, fsys fs.FS, name string, opts Options) (*Hive, io.Closer, error) {
	f, err := safefs.Open(ctx, fsys, name, safefs.Hive)
	if err != nil {
		return nil, nil, err
	}
	if !f.RandomAccess() {
		f.Close()
		return nil, nil, fmt.Errorf("%s: the filesystem does not allow random access", name)
	}
	files := closers{f}
	opts.Logs = nil
	dir, base := path.Split(name)
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" {
		dir = "."
	}
	ents, err := fs.ReadDir(fsys, dir)
	if err != nil && len(ents) == 0 {
		// Without a listing there are no logs to find; the hive is
		// still read.
		ents = nil
	}
	for _, suffix := range logSuffixes {
		for _, e := range ents {
			if !strings.EqualFold(e.Name(), base+suffix) || !e.Type().IsRegular() {
				continue
			}
			lf, err := safefs.Open(ctx, fsys, path.Join(dir, e.Name()), safefs.Hive)
			if err != nil || !lf.RandomAccess() || lf.Size() == 0 {
				if lf != nil {
					lf.Close()
				}
				continue
			}
			files = append(files, lf)
			opts.Logs = append(opts.Logs, Log{Name: lf.Name(), R: lf, Size: lf.Size()})
			break
		}
	}
	h, err := Open(f, f.Size(), name, opts)
	// The logs are read only at Open, to replay a dirty hive.
	for _, c := range files[1:] {
		c.Close()
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return h, f, nil
}

type closers []io.Closer

func (c closers) Close() error {
	var errs []error
	for _, x := range c {
		errs = append(errs, x.Close())
	}
	return errors.Join(errs...)
}
