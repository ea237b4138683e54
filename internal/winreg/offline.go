package winreg

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ErrHiveUnavailable means the hive file a key lives in could not be read
// offline: it is missing from the disk, or corrupt (as a whole, or in the
// cells of the key or value asked for, or it ran out of the reads it was
// allowed). It is deliberately not [ErrNotExist]: a key of a hive that
// could not be read may well exist, and a source must not take its absence
// for an answer, nor one unreadable entry for the only loss.
var ErrHiveUnavailable = errors.New("hive unavailable")

// OfflineHive is one hive file of a Windows installation that is not
// running (a mounted disk, an image), as the caller opened it.
type OfflineHive struct {
	// Path is the file's path as reports name it
	// ("Windows/System32/config/SOFTWARE").
	Path string
	// Root is the hive's root key; nil when the file could not be opened,
	// and then Err says why.
	Root Key
	Err  error
	// Warning says what is doubtful about a hive that was read anyway: a
	// dirty hive whose transaction logs could not be replayed.
	Warning string
}

// UserHive is a user's NTUSER.DAT, shown under HKEY_USERS as Name: the
// user's SID where the machine's profile list gives it, else the name of
// the profile folder.
type UserHive struct {
	Name string
	OfflineHive
}

// OfflineHives are the hives of an offline Windows installation. A nil
// Software or System means the file was not found.
type OfflineHives struct {
	Software, System *OfflineHive
	Users            []UserHive
}

// Offline is the registry of a Windows installation that is not running,
// read from its hive files: HKLM\SOFTWARE (with its 32-bit view under
// WOW6432Node, as on 64-bit Windows), HKLM\SYSTEM (whose CurrentControlSet,
// a link Windows makes at boot, is resolved through SYSTEM\Select) and
// HKEY_USERS, one subkey per user hive. HKEY_CURRENT_USER has no meaning
// offline: nobody is logged on. It is safe for concurrent use when the
// hive keys it is given are.
type Offline struct {
	hives OfflineHives
	// controlSet is the name of the control set CurrentControlSet stands
	// for ("ControlSet001"); "" when SYSTEM could not be read.
	controlSet string
}

// NewOffline returns the registry of hives. It reads SYSTEM\Select to
// find the current control set: its Current value, else its Default one,
// else ControlSet001. The hives' roots stay the caller's to close.
func NewOffline(hives OfflineHives) *Offline {
	o := &Offline{hives: hives}
	if root := hives.System.root(); root != nil {
		o.controlSet = currentControlSet(root)
	}
	return o
}

func (h *OfflineHive) root() Key {
	if h == nil || h.Err != nil {
		return nil
	}
	return h.Root
}

// currentControlSet names the control set a SYSTEM hive boots with.
func currentControlSet(system Key) string {
	if sel, err := system.OpenSubKey("Select"); err == nil {
		defer sel.Close()
		for _, v := range []string{"Current", "Default"} {
			n, err := Uint(sel, v)
			if err != nil || n == 0 || n > 999 {
				continue
			}
			name := fmt.Sprintf("ControlSet%03d", n)
			if k, err := system.OpenSubKey(name); err == nil {
				k.Close()
				return name
			}
		}
	}
	// A hive written by a tool rather than by Windows may hold the link's
	// target as a plain key.
	if k, err := system.OpenSubKey(currentControlSetName); err == nil {
		k.Close()
		return currentControlSetName
	}
	return "ControlSet001"
}

const currentControlSetName = "CurrentControlSet"

// ControlSet is the control set CurrentControlSet stands for
// ("ControlSet001"); "" when the SYSTEM hive could not be read.
func (o *Offline) ControlSet() string { return o.controlSet }

// Hive names, as the sources that need them are told.
const (
	HiveSoftware = "SOFTWARE"
	HiveSystem   = "SYSTEM"
	HiveUsers    = "users"
)

// Check says whether the named hives (HiveSoftware, HiveSystem,
// HiveUsers for every user hive) could be read: failed joins the errors of
// those that could not, warnings what is doubtful about those that were
// read (dirty, logs not replayed). A missing SOFTWARE or SYSTEM is a
// failure; no user hives at all is none — a machine may have no profiles.
func (o *Offline) Check(names ...string) (failed error, warnings []string) { //nolint:staticcheck // ST1008: the warnings come with a nil error too; the order reads as the doc says
	var errs []error
	check := func(name string, h *OfflineHive) {
		switch {
		case h == nil:
			errs = append(errs, fmt.Errorf("registry hive %s: not found on the disk: %w", name, ErrHiveUnavailable))
		case h.Err != nil:
			errs = append(errs, fmt.Errorf("registry hive %s (%s): %w", name, h.Path, h.Err))
		case h.Warning != "":
			warnings = append(warnings, fmt.Sprintf("registry hive %s (%s): %s", name, h.Path, h.Warning))
		}
	}
	for _, n := range names {
		switch n {
		case HiveSoftware:
			check(HiveSoftware, o.hives.Software)
		case HiveSystem:
			check(HiveSystem, o.hives.System)
		case HiveUsers:
			for i := range o.hives.Users {
				u := &o.hives.Users[i]
				check(`HKU\`+u.Name, &u.OfflineHive)
			}
		}
	}
	return errors.Join(errs...), warnings
}

// OpenKey implements [Registry].
func (o *Offline) OpenKey(hive Hive, path string, view View) (Key, error) {
	path = strings.Trim(path, `\`)
	name := Name(hive, path, view)
	switch hive {
	case LocalMachine:
		path = Redirect(hive, path, view)
		first, rest, _ := strings.Cut(path, `\`)
		switch {
		case first == "":
			return &offlineDir{o: o, hive: hive, view: view, name: name}, nil
		case strings.EqualFold(first, HiveSoftware):
			return o.open(o.hives.Software, HiveSoftware, rest, name)
		case strings.EqualFold(first, HiveSystem):
			return o.open(o.hives.System, HiveSystem, o.inControlSet(rest), name)
		}
	case Users:
		first, rest, _ := strings.Cut(path, `\`)
		if first == "" {
			return &offlineDir{o: o, hive: hive, view: view, name: name}, nil
		}
		for i := range o.hives.Users {
			if u := &o.hives.Users[i]; strings.EqualFold(u.Name, first) {
				return o.open(&u.OfflineHive, `HKU\`+u.Name, rest, name)
			}
		}
	case CurrentUser:
		return nil, fmt.Errorf("open %s: nobody is logged on to an offline system: %w", name, ErrNotExist)
	}
	return nil, fmt.Errorf("open %s: %w", name, ErrNotExist)
}

// inControlSet replaces a leading CurrentControlSet of a path in SYSTEM
// by the control set it stands for.
func (o *Offline) inControlSet(path string) string {
	first, rest, found := strings.Cut(path, `\`)
	if !strings.EqualFold(first, currentControlSetName) || o.controlSet == "" {
		return path
	}
	if !found {
		return o.controlSet
	}
	return o.controlSet + `\` + rest
}

func (o *Offline) open(h *OfflineHive, hiveName, rest, name string) (Key, error) {
	root := h.root()
	switch {
	case h == nil:
		return nil, fmt.Errorf("open %s: registry hive %s not found on the disk: %w", name, hiveName, ErrHiveUnavailable)
	case root == nil:
		why := h.Err
		if why == nil {
			why = errors.New("no root key")
		}
		return nil, fmt.Errorf("open %s: registry hive %s (%s): %w: %w", name, hiveName, h.Path, why, ErrHiveUnavailable)
	}
	k := &offlineKey{Key: root, name: name, system: hiveName == HiveSystem && rest == "", o: o, root: true}
	if rest == "" {
		return k, nil
	}
	sub, err := root.OpenSubKey(rest)
	if errors.Is(err, ErrNotExist) {
		return nil, fmt.Errorf("open %s: %w", name, ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	return &offlineKey{Key: sub, name: name}, nil
}

// offlineKey is a key of a hive, named as the registry of a running
// Windows names it.
type offlineKey struct {
	Key
	name string
	o    *Offline
	// root is true for a hive's root key, which belongs to the caller of
	// NewOffline and is not closed here.
	root bool
	// system is true for SYSTEM's root key, below which CurrentControlSet
	// is resolved.
	system bool
}

func (k *offlineKey) OpenSubKey(path string) (Key, error) {
	path = strings.Trim(path, `\`)
	if k.system {
		path = k.o.inControlSet(path)
	}
	name := k.name + `\` + path
	if path == "" {
		return &offlineKey{Key: k.Key, name: k.name, o: k.o, root: true, system: k.system}, nil
	}
	sub, err := k.Key.OpenSubKey(path)
	if errors.Is(err, ErrNotExist) {
		return nil, fmt.Errorf("open %s: %w", name, ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	return &offlineKey{Key: sub, name: name}, nil
}

func (k *offlineKey) Close() error {
	if k.root {
		return nil
	}
	return k.Key.Close()
}

// offlineDir is HKLM or HKU itself, whose subkeys are the hives.
type offlineDir struct {
	o    *Offline
	hive Hive
	view View
	name string
}

func (d *offlineDir) OpenSubKey(path string) (Key, error) {
	return d.o.OpenKey(d.hive, path, d.view)
}

// SubKeyNames lists the hives that could be read.
func (d *offlineDir) SubKeyNames() ([]string, error) {
	var names []string
	if d.hive == LocalMachine {
		if d.o.hives.Software.root() != nil {
			names = append(names, HiveSoftware)
		}
		if d.o.hives.System.root() != nil {
			names = append(names, HiveSystem)
		}
		return names, nil
	}
	for _, u := range d.o.hives.Users {
		if u.root() != nil {
			names = append(names, u.Name)
		}
	}
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return capNames(d.name, "subkeys", names)
}

func (d *offlineDir) ValueNames() ([]string, error) { return nil, nil }

func (d *offlineDir) Value(name string) (Value, error) {
	return Value{}, fmt.Errorf("%s value %q: %w", d.name, name, ErrNotExist)
}

func (d *offlineDir) ModTime() (time.Time, error) { return time.Time{}, nil }

func (d *offlineDir) Close() error { return nil }
