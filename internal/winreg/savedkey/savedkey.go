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
//
// Only keys of HKEY_LOCAL_MACHINE are saved: a user may write what they
// like under their own hive, and the copy of it would be written by the
// agent. A saved copy leaves out volatile keys (RegSaveKey saves none),
// which a driver loaded straight from the registry may well have: when
// the live key has subkeys the copy lacks, the key's subkeys are listed
// live and those the copy lacks are read live too.
func OpenTree(r winreg.Registry, hive winreg.Hive, path string, view winreg.View) (winreg.Key, error) {
	if hive != winreg.LocalMachine {
		return r.OpenKey(hive, path, view)
	}
	saved, err := Open(r, hive, path, view)
	if err != nil {
		return r.OpenKey(hive, path, view)
	}
	live, err := r.OpenKey(hive, path, view)
	if err != nil {
		return nil, err
	}
	if complete(saved, live) {
		live.Close()
		return saved, nil
	}
	return &merged{Key: live, saved: saved}, nil
}

// complete reports whether the saved copy has every subkey the live key
// has: the same count, asked in one call where the key can tell it.
func complete(saved, live winreg.Key) bool {
	have, err := saved.SubKeyNames()
	if err != nil {
		return false
	}
	if c, ok := live.(winreg.SubKeyCounter); ok {
		n, err := c.SubKeyCount()
		return err == nil && n == len(have)
	}
	names, err := live.SubKeyNames()
	if err != nil || len(names) != len(have) {
		return false
	}
	for _, n := range names {
		k, err := saved.OpenSubKey(n)
		if err != nil {
			return false
		}
		k.Close()
	}
	return true
}

// merged is a live key whose subkeys are read from the saved copy where
// it has them.
type merged struct {
	winreg.Key // live
	saved      winreg.Key
}

func (m *merged) OpenSubKey(path string) (winreg.Key, error) {
	if k, err := m.saved.OpenSubKey(path); err == nil {
		return k, nil
	}
	return m.Key.OpenSubKey(path)
}

func (m *merged) Close() error {
	m.saved.Close()
	return m.Key.Close()
}
