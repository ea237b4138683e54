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
	logs := findLogs(ctx, fsys, dir, base)
	for _, suffix := range logSuffixes {
		logName, ok := logs[suffix]
		if !ok {
			continue
		}
		lf, err := safefs.Open(ctx, fsys, path.Join(dir, logName), safefs.Hive)
		if err != nil || !lf.RandomAccess() || lf.Size() == 0 {
			if lf != nil {
				lf.Close()
			}
			continue
		}
		files = append(files, lf)
		opts.Logs = append(opts.Logs, Log{Name: lf.Name(), R: lf, Size: lf.Size()})
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

// maxDirEntries bounds the entries of a hive's folder looked at for its
// logs: a user's profile folder, which holds NTUSER.DAT, is theirs to
// fill. Real ones hold a few dozen.
const maxDirEntries = 10_000

// findLogs returns the names of the files of dir that are base's logs,
// by suffix: regular files named base plus a suffix in any case, the
// first in sort order when several are. It reads the folder in batches
// and at most maxDirEntries entries of it; a folder that cannot be read
// has no logs to find (the hive is still read).
func findLogs(ctx context.Context, fsys fs.FS, dir, base string) map[string]string {
	found := map[string]string{}
	d, err := fsys.Open(dir)
	if err != nil {
		return found
	}
	defer d.Close()
	rd, ok := d.(fs.ReadDirFile)
	if !ok {
		return found
	}
	for seen := 0; seen < maxDirEntries && ctx.Err() == nil; {
		ents, err := rd.ReadDir(min(256, maxDirEntries-seen))
		seen += len(ents)
		for _, e := range ents {
			for _, suffix := range logSuffixes {
				if strings.EqualFold(e.Name(), base+suffix) && e.Type().IsRegular() {
					if cur, ok := found[suffix]; !ok || e.Name() < cur {
						found[suffix] = e.Name()
					}
				}
			}
		}
		if err != nil || len(ents) == 0 {
			break
		}
	}
	return found
}

type closers []io.Closer

func (c closers) Close() error {
	var errs []error
	for _, x := range c {
		errs = append(errs, x.Close())
	}
	return errors.Join(errs...)
}
