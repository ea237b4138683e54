package privatefile

import "io/fs"

// checkPrivate cannot judge a Windows ACL from file modes; the installer
// is trusted to protect the file.
func checkPrivate(fs.FileInfo) error { return nil }
