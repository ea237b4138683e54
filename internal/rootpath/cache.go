package rootpath

import (
	"errors"
	"io/fs"
	"path"
)

// maxCachedEntries bounds the directory entries one [Cache] keeps over
// all its listings; past it, listings are read but not kept.
const maxCachedEntries = 100_000

// Cache remembers, for one scan of one filesystem, what lookups found: the
// lstat of each name and the listing of each folder. Many catalogued
// paths share their first folders (`C:\Program Files (x86)\Kaspersky
// Lab\...`), and on a live Windows machine each lookup of one costs an
// open per component and a query of the volume, which under Wine is a
// round trip to its mount manager; with a Cache each is asked once.
//
// A Cache serves one fs.FS only and is not safe for concurrent use. Its
// answers are those of the first lookup of each name: a file created or
// removed during the scan may be seen as it was. The zero Cache is not
// usable; a nil *Cache remembers nothing.
type Cache struct {
	lstat   map[string]lstatResult
	dirs    map[string]dirResult
	entries int // kept in dirs
	// sub opens a folder as a filesystem of its own (see
	// [NewCacheWithSub]); subs are those opened, nil for a folder that
	// could not be.
	sub      SubFunc
	subs     map[string]fs.FS
	asked    map[string]bool // folders looked in once, without a sub-root
	releases []func()
}

// SubFunc opens the folder dir of a filesystem as a filesystem of its
// own, and returns it with the function that releases it (as
// host.Host.Sub does). Its names must resolve as the whole
// filesystem's do, or fail.
type SubFunc func(dir string) (fs.FS, func(), error)

// maxSubs bounds the folders a Cache keeps open.
const maxSubs = 64

type lstatResult struct {
	fi  fs.FileInfo
	err error
}

type dirResult struct {
	ents []fs.DirEntry
	err  error
}

// NewCache returns an empty cache.
func NewCache() *Cache {
	return &Cache{lstat: map[string]lstatResult{}, dirs: map[string]dirResult{}}
}

// NewCacheWithSub returns an empty cache that looks names up in a
// sub-root of their folder, opened with sub once per folder: os.Root,
// which a host's filesystem reads through, opens every folder of a name
// on each lookup, so looking up the 20 catalogued names below /opt,
// /etc and /var costs one open per folder rather than one per name and
// folder. A folder is opened when a second name in it is looked up; one
// sub cannot open is looked up in the whole filesystem, as is everything
// once 64 folders are open. Close releases them.
func NewCacheWithSub(sub SubFunc) *Cache {
	c := NewCache()
	c.sub, c.subs, c.asked = sub, map[string]fs.FS{}, map[string]bool{}
	return c
}

// Close releases the folders the cache opened; a nil *Cache has none.
func (c *Cache) Close() {
	if c == nil {
		return
	}
	for _, r := range c.releases {
		r()
	}
	c.releases, c.subs, c.sub, c.asked = nil, nil, nil, nil
}

// Lstat is fs.Lstat(fsys, name), asked once per name.
func (c *Cache) Lstat(fsys fs.FS, name string) (fs.FileInfo, error) {
	if c == nil {
		return fs.Lstat(fsys, name)
	}
	if r, ok := c.lstat[name]; ok {
		return r.fi, r.err
	}
	fi, err := c.lstatIn(fsys, name)
	c.lstat[name] = lstatResult{fi, err}
	return fi, err
}

// Sub returns the sub-root the cache opened for the folder dir, nil when
// it opened none: a caller that reads in that folder can read there too.
func (c *Cache) Sub(dir string) fs.FS {
	if c == nil || c.subs == nil {
		return nil
	}
	return c.subs[dir]
}

// lstatIn looks name up in the sub-root of its folder when there is
// one, naming name in its error as fs.Lstat(fsys, name) would.
func (c *Cache) lstatIn(fsys fs.FS, name string) (fs.FileInfo, error) {
	dir, base := path.Split(name)
	if c.sub == nil || dir == "" {
		return fs.Lstat(fsys, name)
	}
	dir = dir[:len(dir)-1]
	d, ok := c.subs[dir]
	if !ok && !c.asked[dir] {
		// Opening a folder costs what a lookup through it does: it pays
		// only from the second name looked up in it.
		c.asked[dir] = true
		return fs.Lstat(fsys, name)
	}
	if !ok && len(c.subs) < maxSubs {
		sub, release, err := c.sub(dir)
		if err == nil {
			d = sub
			c.releases = append(c.releases, release)
		}
		c.subs[dir] = d
	}
	if d == nil {
		return fs.Lstat(fsys, name)
	}
	fi, err := fs.Lstat(d, base)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		// Whatever the sub-root cannot answer, the whole filesystem
		// answers as it always did.
		return fs.Lstat(fsys, name)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = &fs.PathError{Op: pe.Op, Path: name, Err: pe.Err}
	}
	return fi, err
}

// ReadDir is fs.ReadDir(fsys, name), asked once per name while the
// cache holds fewer than 100,000 entries. The slice returned is shared:
// callers must not modify it.
func (c *Cache) ReadDir(fsys fs.FS, name string) ([]fs.DirEntry, error) {
	if c == nil {
		return fs.ReadDir(fsys, name)
	}
	if r, ok := c.dirs[name]; ok {
		return r.ents, r.err
	}
	ents, err := fs.ReadDir(fsys, name)
	if c.entries+len(ents) <= maxCachedEntries {
		c.entries += len(ents)
		c.dirs[name] = dirResult{ents, err}
	}
	return ents, err
}
