//go:build !unix

package safefs

import "os"

// openFlags: on Windows opening a file never blocks on a writer; devices
// and pipes are refused after opening by their type.
const openFlags = os.O_RDONLY
