package winreg

// Saver is a registry that can copy a key with everything below it in
// one call, as RegSaveKeyEx does, instead of one call per subkey and
// value. A source that reads a whole subtree (the uninstall entries, the
// services) asks for a saved copy when its registry is one, and reads
// key by key as before when that fails.
type Saver interface {
	// Save returns the saved key, hive (Windows' format) or Wine text
	// (see [ParseWineSave]), as the registry wrote it; the copy exists only
	// in memory once Save returns.
	Save(hive Hive, path string, view View) ([]byte, error)
}

// MaxSave bounds a saved key: a larger one is not read (the source reads
// key by key). The Uninstall key of a machine with a thousand programs
// saves in about 2 MiB, the Services key in a few.
const MaxSave = 64 << 20

// SubKeyCounter is a key that tells how many subkeys it has in one call
// (RegQueryInfoKey), where listing them costs a call each.
type SubKeyCounter interface {
	SubKeyCount() (int, error)
}
