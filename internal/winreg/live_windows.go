package winreg

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/windows/registry"
)

// Live returns this machine's registry. Keys are opened read-only. It is
// a [Saver] too: it can copy a subtree in one call where the process may
// enable SeBackupPrivilege.
func Live() Registry { return &liveRegistry{saver: newSaver()} }

type liveRegistry struct{ saver *saver }

// access is what reading needs: values and the list of subkeys.
const access = registry.QUERY_VALUE | registry.ENUMERATE_SUB_KEYS

func (*liveRegistry) OpenKey(hive Hive, path string, view View) (Key, error) {
	name := Name(hive, path, view)
	var root registry.Key
	switch hive {
	case LocalMachine:
		root = registry.LOCAL_MACHINE
	case Users:
		root = registry.USERS
	case CurrentUser:
		root = registry.CURRENT_USER
	default:
		return nil, fmt.Errorf("open %s: unknown hive", name)
	}
	path = strings.Trim(path, `\`)
	flag := uint32(registry.WOW64_64KEY)
	if view == View32 {
		flag = registry.WOW64_32KEY
	}
	k, err := registry.OpenKey(root, path, access|flag)
	if isNotExist(err) && view == View32 && Redirect(hive, path, view) != path {
		// A wine64-only prefix has been seen to answer "not found" through
		// KEY_WOW64_32KEY for keys that its WOW6432Node path holds; on
		// Windows the two are the same key.
		flag = registry.WOW64_64KEY
		k, err = registry.OpenKey(root, Redirect(hive, path, view), access|flag)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, mapErr(err))
	}
	if first, _, below := strings.Cut(path, `\`); below && flag == registry.WOW64_32KEY && Redirect(hive, path, view) != path && strings.EqualFold(first, "SOFTWARE") {
		// The key is SOFTWARE\WOW6432Node\X: what lies below it is no
		// longer redirected, and its subkeys are opened without the 32-bit
		// flag, which makes Wine look for a WOW6432Node below each one (a
		// registry call per subkey opened) and Windows do nothing more.
		flag = registry.WOW64_64KEY
	}
	return &liveKey{k: k, name: name, flag: flag}, nil
}

type liveKey struct {
	k    registry.Key
	name string
	flag uint32 // the view flag the key was opened with, for its subkeys
}

func (k *liveKey) OpenSubKey(path string) (Key, error) {
	path = strings.Trim(path, `\`)
	name := k.name + `\` + path
	sk, err := registry.OpenKey(k.k, path, access|k.flag)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, mapErr(err))
	}
	return &liveKey{k: sk, name: name, flag: k.flag}, nil
}

func (k *liveKey) SubKeyNames() ([]string, error) {
	names, err := k.k.ReadSubKeyNames(MaxNames + 1)
	if err != nil && err != io.EOF {
		return names, fmt.Errorf("%s: list subkeys: %w", k.name, mapErr(err))
	}
	return capNames(k.name, "subkeys", names)
}

func (k *liveKey) ValueNames() ([]string, error) {
	names, err := k.k.ReadValueNames(MaxNames + 1)
	if err != nil && err != io.EOF {
		return names, fmt.Errorf("%s: list values: %w", k.name, mapErr(err))
	}
	return capNames(k.name, "values", names)
}

// Value reads into a small buffer first, which holds nearly every value
// in one call; a larger value's size is checked against MaxValueSize
// before a buffer is allocated for it, and a value that grows between the
// calls is read again, a few times at most.
func (k *liveKey) Value(name string) (Value, error) {
	buf := make([]byte, 512)
	for range 4 {
		n, typ, err := k.k.GetValue(name, buf)
		if err == nil {
			return Value{Type: Type(typ), Data: buf[:min(n, len(buf))]}, nil
		}
		if !errors.Is(err, registry.ErrShortBuffer) {
			return Value{}, fmt.Errorf("%s value %q: %w", k.name, name, mapErr(err))
		}
		if n > MaxValueSize {
			return Value{Type: Type(typ)}, fmt.Errorf("%s value %q: %d bytes: %w", k.name, name, n, ErrTooLarge)
		}
		buf = make([]byte, n)
	}
	return Value{}, fmt.Errorf("%s value %q: keeps changing size", k.name, name)
}

func (k *liveKey) ModTime() (time.Time, error) {
	st, err := k.k.Stat()
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: stat: %w", k.name, mapErr(err))
	}
	return st.ModTime(), nil
}

func (k *liveKey) Close() error { return k.k.Close() }

// SubKeyCount implements [SubKeyCounter].
func (k *liveKey) SubKeyCount() (int, error) {
	st, err := k.k.Stat()
	if err != nil {
		return 0, fmt.Errorf("%s: stat: %w", k.name, mapErr(err))
	}
	return int(st.SubKeyCount), nil
}

func isNotExist(err error) bool { return errors.Is(err, registry.ErrNotExist) }

// mapErr makes "not found" errors match ErrNotExist, keeping the OS error.
func mapErr(err error) error {
	if isNotExist(err) || errors.Is(err, syscall.ERROR_PATH_NOT_FOUND) {
		return fmt.Errorf("%w (%w)", ErrNotExist, err)
	}
	return err
}
