//go:build !linux

package safefs

import (
	"io/fs"
	"os"
)

// isWhole is false: outside Linux, which alone has openat2's refusal of
// links, every name is looked up through os.Root.
func isWhole(string) bool { return false }

func openWhole(string, int) (*os.File, bool, error)     { return nil, false, nil }
func statWhole(string, bool) (fs.FileInfo, bool, error) { return nil, false, nil }
func readLinkWhole(string) (string, bool, error)        { return "", false, nil }
