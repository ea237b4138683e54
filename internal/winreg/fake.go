package winreg

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// WineUserSID is the SID under HKEY_USERS that Wine gives the user of a
// prefix; a [Fake] puts HKEY_CURRENT_USER there unless told otherwise.
const WineUserSID = "S-1-5-21-0-0-0-1000"

// Fake is an in-memory registry for tests, filled from .reg export text
// with [Fake.Import] as `reg import` would fill a real one. Keys and value
// names are case-insensitive and keep the case they were created with.
// Fill it first, then read it: reads may run concurrently, writes may not.
type Fake struct {
	roots map[Hive]*node
	// CurrentUserSID is the HKEY_USERS subkey that HKEY_CURRENT_USER stands
	// for: WineUserSID when empty.
	CurrentUserSID string
	// Time is the last-write time of keys the fake creates or changes; the
	// zero time when unset, which tests may override per key with
	// [Fake.SetModTime].
	Time time.Time
}

type node struct {
	name     string
	children map[string]*node // by lower-case name
	values   map[string]*namedValue
	modTime  time.Time
}

type namedValue struct {
	name string
	Value
}

// NewFake returns an empty registry with empty HKLM and HKU hives.
func NewFake() *Fake {
	return &Fake{roots: map[Hive]*node{
		LocalMachine: newNode("HKLM"),
		Users:        newNode("HKU"),
	}}
}

func newNode(name string) *node {
	return &node{name: name, children: map[string]*node{}, values: map[string]*namedValue{}}
}

// Import applies a .reg file to the registry, writing into view as
// `reg import FILE /reg:32` (View32) or /reg:64 (View64) would. A
// malformed file changes nothing and returns an error naming the line.
func (f *Fake) Import(r io.Reader, view View) error {
	rf, err := ParseRegFile(r)
	if err != nil {
		return err
	}
	f.Apply(rf, view)
	return nil
}

// Apply applies a parsed .reg file in view.
func (f *Fake) Apply(rf *RegFile, view View) {
	for _, k := range rf.Keys {
		hive, path := f.resolve(k.Hive, k.Path)
		path = Redirect(hive, path, view)
		if k.Delete {
			f.delete(hive, path)
			continue
		}
		n := f.create(hive, path)
		for _, v := range k.Values {
			lower := strings.ToLower(v.Name)
			if v.Delete {
				delete(n.values, lower)
			} else {
				n.values[lower] = &namedValue{name: v.Name, Value: Value{Type: v.Type, Data: slices.Clone(v.Data)}}
			}
			n.modTime = f.Time
		}
	}
}

// Set writes one value, creating its key, in view.
func (f *Fake) Set(hive Hive, path string, view View, name string, v Value) {
	hive, path = f.resolve(hive, path)
	n := f.create(hive, Redirect(hive, path, view))
	n.values[strings.ToLower(name)] = &namedValue{name: name, Value: Value{Type: v.Type, Data: slices.Clone(v.Data)}}
	n.modTime = f.Time
}

// SetModTime sets the last-write time of a key, creating it.
func (f *Fake) SetModTime(hive Hive, path string, view View, t time.Time) {
	hive, path = f.resolve(hive, path)
	f.create(hive, Redirect(hive, path, view)).modTime = t
}

// resolve maps HKEY_CURRENT_USER to its HKEY_USERS subkey.
func (f *Fake) resolve(hive Hive, path string) (Hive, string) {
	if hive != CurrentUser {
		return hive, path
	}
	sid := f.CurrentUserSID
	if sid == "" {
		sid = WineUserSID
	}
	if path == "" {
		return Users, sid
	}
	return Users, sid + `\` + path
}

func split(path string) []string {
	if path == "" {
		return nil
	}
	return strings.Split(path, `\`)
}

func (f *Fake) create(hive Hive, path string) *node {
	n := f.roots[hive]
	for _, c := range split(path) {
		child, ok := n.children[strings.ToLower(c)]
		if !ok {
			child = newNode(c)
			child.modTime = f.Time
			n.children[strings.ToLower(c)] = child
			n.modTime = f.Time
		}
		n = child
	}
	return n
}

func (f *Fake) delete(hive Hive, path string) {
	parts := split(path)
	if len(parts) == 0 {
		return // a hive cannot be deleted
	}
	n := f.roots[hive]
	for _, c := range parts[:len(parts)-1] {
		if n = n.children[strings.ToLower(c)]; n == nil {
			return
		}
	}
	delete(n.children, strings.ToLower(parts[len(parts)-1]))
	n.modTime = f.Time
}

// OpenKey implements [Registry].
func (f *Fake) OpenKey(hive Hive, path string, view View) (Key, error) {
	name := Name(hive, path, view)
	h, p := f.resolve(hive, strings.Trim(path, `\`))
	n := f.roots[h]
	if n == nil {
		return nil, fmt.Errorf("open %s: %w", name, ErrNotExist)
	}
	for _, c := range split(Redirect(h, p, view)) {
		if n = n.children[strings.ToLower(c)]; n == nil {
			return nil, fmt.Errorf("open %s: %w", name, ErrNotExist)
		}
	}
	return &fakeKey{n: n, name: name}, nil
}

type fakeKey struct {
	n    *node
	name string
}

func (k *fakeKey) OpenSubKey(path string) (Key, error) {
	path = strings.Trim(path, `\`)
	name := k.name + `\` + path
	n := k.n
	for _, c := range split(path) {
		if n = n.children[strings.ToLower(c)]; n == nil {
			return nil, fmt.Errorf("open %s: %w", name, ErrNotExist)
		}
	}
	return &fakeKey{n: n, name: name}, nil
}

func (k *fakeKey) SubKeyNames() ([]string, error) {
	names := make([]string, 0, len(k.n.children))
	for _, c := range k.n.children {
		names = append(names, c.name)
	}
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return capNames(k.name, "subkeys", names)
}

func (k *fakeKey) ValueNames() ([]string, error) {
	names := make([]string, 0, len(k.n.values))
	for _, v := range k.n.values {
		names = append(names, v.name)
	}
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return capNames(k.name, "values", names)
}

func (k *fakeKey) Value(name string) (Value, error) {
	v, ok := k.n.values[strings.ToLower(name)]
	if !ok {
		return Value{}, fmt.Errorf("%s value %q: %w", k.name, name, ErrNotExist)
	}
	if len(v.Data) > MaxValueSize {
		return Value{Type: v.Type}, fmt.Errorf("%s value %q: %d bytes: %w", k.name, name, len(v.Data), ErrTooLarge)
	}
	return Value{Type: v.Type, Data: slices.Clone(v.Data)}, nil
}

func (k *fakeKey) ModTime() (time.Time, error) { return k.n.modTime, nil }

func (k *fakeKey) Close() error { return nil }
