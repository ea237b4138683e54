package rootpath

import (
	"io/fs"
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
}

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

// Lstat is fs.Lstat(fsys, name), asked once per name.
func (c *Cache) Lstat(fsys fs.FS, name string) (fs.FileInfo, error) {
	if c == nil {
		return fs.Lstat(fsys, name)
	}
	if r, ok := c.lstat[name]; ok {
		return r.fi, r.err
	}
	fi, err := fs.Lstat(fsys, name)
	c.lstat[name] = lstatResult{fi, err}
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
