// Package winreg is the Windows registry as the Windows sources need it:
// open a key of HKLM or HKU in the 64- or 32-bit view, list its subkeys,
// read its typed values and its last-write time.
//
// It exists so that the code reading uninstall entries, vendor keys and
// services never touches the OS: it takes a [Registry], which is the live
// registry on Windows ([Live], the only importer of
// golang.org/x/sys/windows/registry) and a [Fake] loaded from real .reg
// export text in tests, so the same parsing runs in plain `go test` on
// Linux.
package winreg

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Hive is a root key.
type Hive int

// The hives avscout reads.
const (
	LocalMachine Hive = iota + 1 // HKEY_LOCAL_MACHINE
	Users                        // HKEY_USERS: one subkey per loaded user hive (SID)
	CurrentUser                  // HKEY_CURRENT_USER: the calling user's hive
)

func (h Hive) String() string {
	switch h {
	case LocalMachine:
		return "HKLM"
	case Users:
		return "HKU"
	case CurrentUser:
		return "HKCU"
	}
	return fmt.Sprintf("Hive(%d)", int(h))
}

// View is a registry view on 64-bit Windows, where 32-bit programs see
// HKLM\SOFTWARE\X at HKLM\SOFTWARE\WOW6432Node\X.
type View int

// The two views. View64 is the native view of a 64-bit program.
const (
	View64 View = iota
	View32
)

// Type is a registry value type (REG_SZ …), numbered as Windows numbers them.
type Type uint32

// Registry value types.
const (
	NONE                       Type = 0
	SZ                         Type = 1
	EXPAND_SZ                  Type = 2
	BINARY                     Type = 3
	DWORD                      Type = 4
	DWORD_BIG_ENDIAN           Type = 5
	LINK                       Type = 6
	MULTI_SZ                   Type = 7
	RESOURCE_LIST              Type = 8
	FULL_RESOURCE_DESCRIPTOR   Type = 9
	RESOURCE_REQUIREMENTS_LIST Type = 10
	QWORD                      Type = 11
)

func (t Type) String() string {
	switch t {
	case NONE:
		return "REG_NONE"
	case SZ:
		return "REG_SZ"
	case EXPAND_SZ:
		return "REG_EXPAND_SZ"
	case BINARY:
		return "REG_BINARY"
	case DWORD:
		return "REG_DWORD"
	case DWORD_BIG_ENDIAN:
		return "REG_DWORD_BIG_ENDIAN"
	case LINK:
		return "REG_LINK"
	case MULTI_SZ:
		return "REG_MULTI_SZ"
	case RESOURCE_LIST:
		return "REG_RESOURCE_LIST"
	case FULL_RESOURCE_DESCRIPTOR:
		return "REG_FULL_RESOURCE_DESCRIPTOR"
	case RESOURCE_REQUIREMENTS_LIST:
		return "REG_RESOURCE_REQUIREMENTS_LIST"
	case QWORD:
		return "REG_QWORD"
	}
	return fmt.Sprintf("REG_TYPE_%#x", uint32(t))
}

// MaxValueSize bounds the data of one value read: a larger value is an
// [ErrTooLarge] error rather than a large allocation. Nothing avscout reads
// (names, versions, paths, dates) comes near it.
const MaxValueSize = 1 << 20

// MaxNames bounds the subkey names, and the value names, one key lists:
// a user may fill their own hive's keys (HKCU\…\Uninstall) with millions
// of subkeys, each costing a scan memory and registry calls. Real keys
// hold a few thousand. A listing stops there with an error wrapping
// [ErrTooLarge].
const MaxNames = 100_000

// Errors. Implementations wrap them with the key or value name.
var (
	// ErrNotExist: the key or value does not exist.
	ErrNotExist = errors.New("does not exist")
	// ErrTooLarge: the value's data exceeds MaxValueSize, or a key has
	// more than MaxNames subkeys or values.
	ErrTooLarge = errors.New("value too large")
	// ErrType: the value's type does not hold what was asked for.
	ErrType = errors.New("unexpected value type")
)

// Registry opens keys. Implementations are safe for concurrent use.
type Registry interface {
	// OpenKey opens the key at path (backslash separated, without the
	// hive; "" for the hive itself) in view. A missing key is an error
	// wrapping ErrNotExist.
	OpenKey(hive Hive, path string, view View) (Key, error)
}

// Key is an open registry key. Close it when done.
type Key interface {
	// OpenSubKey opens the key at path (backslash separated) below this
	// one, in the view this key was opened in. It costs one registry call,
	// where OpenKey with the full path makes the registry walk the path
	// from the hive again. A missing key is an error wrapping ErrNotExist.
	OpenSubKey(path string) (Key, error)
	// SubKeyNames lists the names of the key's subkeys.
	SubKeyNames() ([]string, error)
	// ValueNames lists the names of the key's values; "" is the default value.
	ValueNames() ([]string, error)
	// Value reads a value with its type. A missing value is an error
	// wrapping ErrNotExist, one larger than MaxValueSize wraps ErrTooLarge.
	Value(name string) (Value, error)
	// ModTime is the key's last-write time.
	ModTime() (time.Time, error)
	Close() error
}

// Value is a value's type and its data as the registry stores it: UTF-16LE
// for string types, little-endian for DWORD and QWORD.
type Value struct {
	Type Type
	Data []byte
}

// AsString returns the text of a REG_SZ, REG_EXPAND_SZ or REG_LINK value,
// up to its first NUL; environment variables are not expanded.
func (v Value) AsString() (string, error) {
	switch v.Type {
	case SZ, EXPAND_SZ, LINK:
		s := decodeUTF16(v.Data)
		if i := strings.IndexByte(s, 0); i >= 0 {
			s = s[:i]
		}
		return s, nil
	}
	return "", fmt.Errorf("%w: %s is not a string", ErrType, v.Type)
}

// AsStrings returns the strings of a REG_MULTI_SZ value (without the empty
// string that ends the list), or the one string of a REG_SZ value.
func (v Value) AsStrings() ([]string, error) {
	switch v.Type {
	case MULTI_SZ:
		s := strings.TrimRight(decodeUTF16(v.Data), "\x00")
		if s == "" {
			return nil, nil
		}
		return strings.Split(s, "\x00"), nil
	case SZ, EXPAND_SZ:
		s, err := v.AsString()
		return []string{s}, err
	}
	return nil, fmt.Errorf("%w: %s is not a string list", ErrType, v.Type)
}

// AsUint returns the number in a REG_DWORD, REG_DWORD_BIG_ENDIAN or
// REG_QWORD value. Data shorter than its type says is an error.
func (v Value) AsUint() (uint64, error) {
	switch {
	case v.Type == DWORD && len(v.Data) >= 4:
		return uint64(binary.LittleEndian.Uint32(v.Data)), nil
	case v.Type == DWORD_BIG_ENDIAN && len(v.Data) >= 4:
		return uint64(binary.BigEndian.Uint32(v.Data)), nil
	case v.Type == QWORD && len(v.Data) >= 8:
		return binary.LittleEndian.Uint64(v.Data), nil
	case v.Type == DWORD || v.Type == DWORD_BIG_ENDIAN || v.Type == QWORD:
		return 0, fmt.Errorf("%w: %s of %d bytes", ErrType, v.Type, len(v.Data))
	}
	return 0, fmt.Errorf("%w: %s is not a number", ErrType, v.Type)
}

// String shows the value as a person reads it: strings as text, numbers in
// decimal, anything else as at most 64 bytes of hex.
func (v Value) String() string {
	switch v.Type {
	case SZ, EXPAND_SZ, LINK:
		s, _ := v.AsString()
		return s
	case MULTI_SZ:
		l, _ := v.AsStrings()
		return strings.Join(l, "; ")
	case DWORD, DWORD_BIG_ENDIAN, QWORD:
		if n, err := v.AsUint(); err == nil {
			return fmt.Sprint(n)
		}
	}
	const show = 64
	var b strings.Builder
	for i, c := range v.Data {
		if i == show {
			fmt.Fprintf(&b, "… (%d bytes)", len(v.Data))
			break
		}
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%02x", c)
	}
	return b.String()
}

// decodeUTF16 decodes UTF-16LE data; an odd trailing byte is dropped and
// unpaired surrogates become U+FFFD.
func decodeUTF16(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// encodeUTF16 encodes s as NUL-terminated UTF-16LE, as REG_SZ stores it.
func encodeUTF16(s string) []byte {
	// Rune by rune, without a []rune copy four times the text's size.
	b := make([]byte, 0, 2*len(s)+2)
	for _, r := range s {
		if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
			b = binary.LittleEndian.AppendUint16(b, uint16(r1))
			r = r2
		}
		b = binary.LittleEndian.AppendUint16(b, uint16(r))
	}
	return append(b, 0, 0)
}

// String reads a string value of k (REG_SZ, REG_EXPAND_SZ), naming the
// value in errors.
func String(k Key, name string) (string, error) {
	v, err := k.Value(name)
	if err != nil {
		return "", err
	}
	s, err := v.AsString()
	if err != nil {
		return "", fmt.Errorf("value %q: %w", name, err)
	}
	return s, nil
}

// Uint reads a number value of k (REG_DWORD, REG_QWORD), naming the value
// in errors.
func Uint(k Key, name string) (uint64, error) {
	v, err := k.Value(name)
	if err != nil {
		return 0, err
	}
	n, err := v.AsUint()
	if err != nil {
		return 0, fmt.Errorf("value %q: %w", name, err)
	}
	return n, nil
}

// ParseKey splits a key written as in reports and catalogs —
// `HKLM\SOFTWARE\X`, `HKEY_LOCAL_MACHINE\SOFTWARE\X`, `HKU\S-1-5-18\X`,
// `HKCU\Software\X` — into its hive and path.
func ParseKey(s string) (Hive, string, error) {
	root, rest, _ := strings.Cut(strings.Trim(strings.TrimSpace(s), `\`), `\`)
	var h Hive
	switch strings.ToUpper(root) {
	case "HKLM", "HKEY_LOCAL_MACHINE":
		h = LocalMachine
	case "HKU", "HKEY_USERS":
		h = Users
	case "HKCU", "HKEY_CURRENT_USER":
		h = CurrentUser
	default:
		return 0, "", fmt.Errorf("registry key %q: unknown hive %q (want HKLM, HKU or HKCU)", s, root)
	}
	if strings.Contains(rest, `\\`) {
		return 0, "", fmt.Errorf("registry key %q: empty key name", s)
	}
	return h, rest, nil
}

// wowNode is the key under HKLM\SOFTWARE that holds the 32-bit view.
const wowNode = "WOW6432Node"

// Redirect returns where path of hive is in the 64-bit view when opened in
// view: the 32-bit view of HKLM\SOFTWARE\X is HKLM\SOFTWARE\WOW6432Node\X.
// (Windows shares a few keys between views; avscout reads none of them.)
func Redirect(hive Hive, path string, view View) string {
	if view != View32 || hive != LocalMachine {
		return path
	}
	first, rest, _ := strings.Cut(path, `\`)
	if !strings.EqualFold(first, "SOFTWARE") {
		return path
	}
	if next, _, _ := strings.Cut(rest, `\`); strings.EqualFold(next, wowNode) {
		return path
	}
	if rest == "" {
		return first + `\` + wowNode
	}
	return first + `\` + wowNode + `\` + rest
}

// Name writes a key as reports show it: `HKLM\SOFTWARE\WOW6432Node\X` for
// SOFTWARE\X in the 32-bit view.
func Name(hive Hive, path string, view View) string {
	p := Redirect(hive, path, view)
	if p == "" {
		return hive.String()
	}
	return hive.String() + `\` + p
}

// capNames keeps the first MaxNames of a key's names, with an error
// saying the rest were not read.
func capNames(key, what string, names []string) ([]string, error) {
	if len(names) <= MaxNames {
		return names, nil
	}
	return names[:MaxNames], fmt.Errorf("%s: more than %d %s, the rest were not read: %w", key, MaxNames, what, ErrTooLarge)
}
