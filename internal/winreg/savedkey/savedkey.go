// Package savedkey reads a registry subtree from a copy of it saved in
// one call, rather than one registry call per subkey and value.
//
// Windows answers each registry call in the kernel, Wine each with a
// request to its one server: reading 600 uninstall entries a value at a
// time is about 6,000 calls, saving their key one (RegSaveKeyEx, through
// [winreg.Saver]). Windows saves in its hive format, which package regf
// reads; Wine in the text of its own registry files, which
// [winreg.ParseWineSave] reads. Sources that read a whole subtree ask
// [Open] first and read key by key when it fails: no registry to save
// (an offline or test registry), no privilege to save, or a copy that
// cannot be read whole.
package savedkey

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/avscout/avscout/internal/winreg"
	"github.com/avscout/avscout/internal/winreg/regf"
)

// ErrNotSaver is returned by Open for a registry that cannot save keys.
var ErrNotSaver = errors.New("the registry cannot save keys")

// Open returns the key hive\path of view as a saved copy of r's, which
// reads nothing more from r. The key is named as r would name it.
func Open(r winreg.Registry, hive winreg.Hive, path string, view winreg.View) (winreg.Key, error) {
	s, ok := r.(winreg.Saver)
	if !ok {
		return nil, ErrNotSaver
	}
	b, err := s.Save(hive, path, view)
	if err != nil {
		return nil, err
	}
	return Parse(b, winreg.Name(hive, path, view))
}

// Parse reads a saved key, in either format, named name in errors.
func Parse(b []byte, name string) (winreg.Key, error) {
	if winreg.IsWineSave(b) {
		return winreg.ParseWineSave(bytes.NewReader(b), name)
	}
	h, err := regf.Open(bytes.NewReader(b), int64(len(b)), name, regf.Options{})
	if err != nil {
		return nil, fmt.Errorf("%s: saved key: %w", name, err)
	}
	return h.Root()
}

// OpenTree opens a key whose whole subtree is about to be read: a saved
// copy when r can save one, else the live key from r, read key by key.
func OpenTree(r winreg.Registry, hive winreg.Hive, path string, view winreg.View) (winreg.Key, error) {
	if k, err := Open(r, hive, path, view); err == nil {
		return k, nil
	}
	return r.OpenKey(hive, path, view)
}
