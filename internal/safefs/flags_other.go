//go:build !unix

package safefs

import "os"

// openFlags: on Windows opening a file never blocks on a writer; devices
// and pipes are refused after opening by their type.
const openFlags = os.O_RDONLY

// wholePrefix is "": on Windows every name is looked up through os.Root,
// whose handling of drive-relative names, reparse points and case the
// scans under Wine were checked against.
func wholePrefix(string) string { return "" }
