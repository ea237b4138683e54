//go:build !unix

package config

import "io/fs"

// fileOwner cannot tell a Unix owner where files have none; Load checks
// owners only for Unix targets read on Unix.
func fileOwner(fs.FileInfo) (int, bool) { return 0, false }
