package config

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"howett.net/plist"

	"github.com/avscout/avscout/internal/winreg"
)

// Managed are settings an MDM enforces, which win over every other layer.
//
// Settings returns them flattened to managed keys of the settings table
// ([Setting.Managed]: "CollectorURL", "ScheduleInterval", …) → text as the
// environment would give it: lists comma-separated, durations as Go
// durations, and each tag as its own "Tags.<key>" entry (a "Tags" entry of
// "key=value,…" is read too). Keys are matched ignoring case; unknown ones
// are reported as warnings, not errors, because one MDM profile serves
// agents of several versions. An implementation that also implements
// fmt.Stringer names its source in messages.
type Managed interface {
	Settings() (map[string]string, error)
}

// ManagedMap is a fixed set of managed settings, for tests and for
// callers with their own source.
type ManagedMap map[string]string

// Settings implements [Managed].
func (m ManagedMap) Settings() (map[string]string, error) { return m, nil }

// canonical returns the table's spelling of a managed key, or key itself
// when the table does not know it.
func canonical(key string) string {
	if s := lookupManaged(key); s != nil {
		return s.Managed
	}
	return key
}

// isDuration reports whether a managed key is a duration, whose integers
// are seconds.
func isDuration(key string) bool {
	s := lookupManaged(key)
	return s != nil && s.Kind == KindDuration
}

// plistSettings are the managed preferences of macOS.
type plistSettings map[string]string

func (p plistSettings) Settings() (map[string]string, error) { return p, nil }

func (p plistSettings) String() string { return "managed preferences " + BundleID }

// FromPlist reads macOS managed preferences (ManagedPrefsFile), XML or
// binary: a dictionary of managed keys. Strings, integers (seconds for
// durations), booleans and arrays of strings are accepted; "Tags" is a
// dictionary of strings. A malformed plist or a value of another type is
// an error naming the key.
func FromPlist(r io.Reader) (Managed, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("managed preferences: %w", err)
	}
	if len(data) > MaxConfigSize {
		return nil, fmt.Errorf("managed preferences: larger than %s", FormatSize(MaxConfigSize))
	}
	var top any
	if err := unmarshalPlist(data, &top); err != nil {
		return nil, fmt.Errorf("managed preferences: malformed plist: %w", err)
	}
	dict, ok := top.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("managed preferences: the plist holds %s, not a dictionary", plistType(top))
	}
	out := plistSettings{}
	var errs []error
	keys := make([]string, 0, len(dict))
	for k := range dict {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		s := lookupManaged(k)
		if s != nil && s.Kind == KindTags {
			if tags, ok := dict[k].(map[string]any); ok {
				for tk, tv := range tags {
					text, err := plistScalar(tv, false)
					if err != nil {
						errs = append(errs, fmt.Errorf("managed preferences: %s tag %q: %w", k, tk, err))
						continue
					}
					out[tagPrefix+tk] = text
				}
				continue
			}
		}
		text, err := plistText(dict[k], isDuration(k))
		if err != nil {
			if s == nil {
				out[k] = "?" // unknown key: Load warns about it
				continue
			}
			errs = append(errs, fmt.Errorf("managed preferences: %s: %w", k, err))
			continue
		}
		out[canonical(k)] = text
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// unmarshalPlist decodes a plist, turning a panic of the decoder on
// hostile input into an error.
func unmarshalPlist(data []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decoder failed: %v", r)
		}
	}()
	_, err = plist.Unmarshal(data, v)
	return err
}

// plistText flattens a plist value: a scalar, or an array of scalars
// joined with commas.
func plistText(v any, seconds bool) (string, error) {
	arr, ok := v.([]any)
	if !ok {
		return plistScalar(v, seconds)
	}
	items := make([]string, 0, len(arr))
	for i, e := range arr {
		text, err := plistScalar(e, seconds)
		if err != nil {
			return "", fmt.Errorf("item %d: %w", i+1, err)
		}
		if strings.Contains(text, ",") {
			return "", fmt.Errorf("item %d holds a comma", i+1)
		}
		items = append(items, text)
	}
	return strings.Join(items, ","), nil
}

// plistScalar turns a plist string, integer, real or boolean into text;
// integers are seconds when seconds is set.
func plistScalar(v any, seconds bool) (string, error) {
	unit := ""
	if seconds {
		unit = "s"
	}
	switch v := v.(type) {
	case string:
		return v, nil
	case uint64:
		return strconv.FormatUint(v, 10) + unit, nil
	case int64:
		return strconv.FormatInt(v, 10) + unit, nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64) + unit, nil
	case float32:
		return strconv.FormatFloat(float64(v), 'f', -1, 32) + unit, nil
	case bool:
		return strconv.FormatBool(v), nil
	}
	return "", fmt.Errorf("%s is not supported here (use a string, an integer or an array of strings)", plistType(v))
}

// plistType names a decoded plist value's type as plist files write it.
func plistType(v any) string {
	switch v.(type) {
	case map[string]any:
		return "a <dict>"
	case []any:
		return "an <array>"
	case []byte:
		return "<data>"
	case time.Time:
		return "a <date>"
	case plist.UID:
		return "a UID"
	case string:
		return "a <string>"
	case nil:
		return "nothing"
	}
	return fmt.Sprintf("a %T", v)
}

// FromRegistry reads Windows managed settings from HKLM\[PolicyKey] (64-bit
// view), where GPO and Intune ADMX policies put them: one value per
// managed key. REG_SZ and REG_EXPAND_SZ are text (%VAR% in paths is
// expanded by Load); REG_DWORD and REG_QWORD are numbers, and seconds for
// durations; REG_MULTI_SZ is a list. Tags are the values of the "Tags"
// subkey; a list may also be a subkey whose values are its items (as an
// ADMX <list> element writes it). A missing key means no managed settings.
func FromRegistry(reg winreg.Registry) Managed { return registryPolicy{reg: reg} }

type registryPolicy struct{ reg winreg.Registry }

func (p registryPolicy) String() string { return `HKLM\` + PolicyKey }

func (p registryPolicy) Settings() (map[string]string, error) {
	k, err := p.reg.OpenKey(winreg.LocalMachine, PolicyKey, winreg.View64)
	if errors.Is(err, winreg.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer k.Close()
	out := map[string]string{}
	var errs []error
	names, err := k.ValueNames()
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		if name == "" {
			continue // the key's default value
		}
		v, err := k.Value(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		text, err := regText(v, isDuration(name))
		if err != nil {
			if lookupManaged(name) == nil {
				out[name] = "?" // unknown value: Load warns about it
				continue
			}
			errs = append(errs, fmt.Errorf("%s value %q: %w", p, name, err))
			continue
		}
		out[canonical(name)] = text
	}
	subs, err := k.SubKeyNames()
	if err != nil {
		return nil, err
	}
	for _, sub := range subs {
		s := lookupManaged(sub)
		if s == nil || (s.Kind != KindTags && s.Kind != KindList) {
			out[sub+`\`] = "?" // an unknown subkey: Load warns about it
			continue
		}
		entries, err := p.subkey(sub)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if s.Kind == KindTags {
			for name, text := range entries {
				out[tagPrefix+name] = text
			}
			continue
		}
		order := make([]string, 0, len(entries))
		for name := range entries {
			order = append(order, name)
		}
		slices.SortFunc(order, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
		items := make([]string, 0, len(order))
		for _, name := range order {
			if strings.Contains(entries[name], ",") {
				errs = append(errs, fmt.Errorf(`%s\%s value %q holds a comma`, p, sub, name))
				continue
			}
			items = append(items, entries[name])
		}
		if _, dup := out[s.Managed]; dup {
			errs = append(errs, fmt.Errorf("%s: %s is both a value and a subkey", p, s.Managed))
			continue
		}
		out[s.Managed] = strings.Join(items, ",")
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// subkey reads the values of a subkey of the policy key as text.
func (p registryPolicy) subkey(sub string) (map[string]string, error) {
	k, err := p.reg.OpenKey(winreg.LocalMachine, PolicyKey+`\`+sub, winreg.View64)
	if err != nil {
		return nil, err
	}
	defer k.Close()
	names, err := k.ValueNames()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	var errs []error
	for _, name := range names {
		if name == "" {
			continue
		}
		v, err := k.Value(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		text, err := regText(v, false)
		if err != nil {
			errs = append(errs, fmt.Errorf(`%s\%s value %q: %w`, p, sub, name, err))
			continue
		}
		out[name] = text
	}
	return out, errors.Join(errs...)
}

// regText turns a registry value into text; numbers are seconds when
// seconds is set.
func regText(v winreg.Value, seconds bool) (string, error) {
	switch v.Type {
	case winreg.SZ, winreg.EXPAND_SZ:
		return v.AsString()
	case winreg.DWORD, winreg.DWORD_BIG_ENDIAN, winreg.QWORD:
		n, err := v.AsUint()
		if err != nil {
			return "", err
		}
		text := strconv.FormatUint(n, 10)
		if seconds {
			text += "s"
		}
		return text, nil
	case winreg.MULTI_SZ:
		items, err := v.AsStrings()
		if err != nil {
			return "", err
		}
		for i, s := range items {
			if strings.Contains(s, ",") {
				return "", fmt.Errorf("item %d holds a comma", i+1)
			}
		}
		return strings.Join(items, ","), nil
	}
	return "", fmt.Errorf("type %s is not supported (use REG_SZ, REG_EXPAND_SZ, REG_DWORD, REG_QWORD or REG_MULTI_SZ)", v.Type)
}
