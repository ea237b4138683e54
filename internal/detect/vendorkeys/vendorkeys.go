// Package vendorkeys is the "vendorkeys" source: the vendor registry keys
// the catalog names, including the product descriptions some vendors keep
// there.
//
// Vendor keys outlive uninstallers and name products that hide from the
// Programs list. The source reads [host.Host.Registry], so it runs on
// Linux against a fake registry loaded from .reg files; the keys it looks
// for come from the catalog, so it knows no vendor itself.
package vendorkeys

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/text"
	"github.com/avscout/avscout/internal/winpath"
	"github.com/avscout/avscout/internal/winreg"
)

// maxMatches bounds the keys one glob pattern may expand to.
const maxMatches = 1000

// VendorKeys is the "vendorkeys" source.
type VendorKeys struct {
	keys, productKeys []string
	definitions       []detect.DefinitionsValue
}

// NewVendorKeys returns a source that reports which of keys exist, reads
// the product descriptions under productKeys and the definitions dates
// the definitions values hold. All are registry keys
// written as `HKLM\SOFTWARE\Vendor`, under HKLM or HKU, where a path.Match
// glob may stand for any key name (`…\protected\*\environment`); the 64-bit
// view is read, so 32-bit keys are named with their WOW6432Node. The lists
// are copied.
func NewVendorKeys(keys, productKeys []string, definitions []detect.DefinitionsValue) *VendorKeys {
	return &VendorKeys{
		keys:        append([]string(nil), keys...),
		productKeys: append([]string(nil), productKeys...),
		definitions: append([]detect.DefinitionsValue(nil), definitions...),
	}
}

// Name implements [detect.Source].
func (*VendorKeys) Name() string { return "vendorkeys" }

// Collect implements [detect.Source]. For each key that exists it emits a
// [detect.KindKey] observation, status Present, whose Path is the key as
// the list writes it (the key found, for a glob). For each product key it
// emits a [detect.KindApp] observation, status Present (a description,
// not an install record), built from the key's ProductName,
// ProductVersion (or Ins_ProductVersion) and ProductRoot values (Path),
// and from LastSuccessfulUpdate (Unix time) in the sibling Data key: the
// detail gives that date as "bases YYYY-MM-DD", and it is the
// observation's Definitions date. A product whose ProductRoot folder is
// gone from the system drive says "(folder missing)": its description
// outlived it. A definitions value's date is given to the catalogued key
// it lies under (the deepest): its Definitions date, and "; bases
// YYYY-MM-DD" in its detail.
//
// A key that exists but cannot be opened or listed (a product's
// self-defence), or a product key whose values cannot be read, is a
// warning ([detect.Warn]): the key itself is still reported. A pattern
// the registry cannot parse is the source's failure, and so is an
// offline hive missing or damaged where a key would be
// ([winreg.ErrHiveUnavailable]): the key is then not reported.
func (s *VendorKeys) Collect(ctx context.Context, h *host.Host, emit func(detect.Observation)) error {
	if h.Registry == nil {
		return fmt.Errorf("vendorkeys: no registry: %w", detect.ErrUnavailable)
	}
	var errs []error
	bases, err := s.definitionsDates(ctx, h.Registry)
	if err != nil {
		errs = append(errs, err)
	}
	seen := map[string]bool{}
	var keys []Found // the catalogued keys found, and how the catalog wrote each
	var written []string
	for _, pattern := range s.keys {
		found, err := Expand(ctx, h.Registry, pattern)
		if err != nil {
			errs = append(errs, err)
		}
		for _, f := range found {
			if seen[strings.ToLower(f.Name)] {
				continue
			}
			seen[strings.ToLower(f.Name)] = true
			keys = append(keys, f)
			if isGlob(pattern) {
				written = append(written, f.Name)
			} else {
				written = append(written, pattern)
			}
		}
	}
	for i, f := range keys {
		o := detect.Observation{
			Kind:        detect.KindKey,
			Status:      detect.Present,
			Name:        winpath.Base(f.Path),
			Path:        written[i],
			Location:    f.Name,
			Detail:      f.Name + describeKey(h.Registry, f),
			Definitions: bases.of(f, keys),
		}
		if o.Definitions != "" {
			o.Detail += "; bases " + o.Definitions
		}
		emit(o)
	}
	env := winpath.EnvFrom(h.Registry)
	for _, pattern := range s.productKeys {
		found, err := Expand(ctx, h.Registry, pattern)
		if err != nil {
			errs = append(errs, err)
		}
		for _, f := range found {
			if f.Err != nil {
				// Denied (self-defence): the key is reported as present above.
				errs = append(errs, detect.Warn(f.Err))
				continue
			}
			o, ok, err := productObservation(h, env, f)
			if err != nil {
				errs = append(errs, detect.Warn(err))
			}
			if ok && !seen["product\x00"+strings.ToLower(f.Name)] {
				seen["product\x00"+strings.ToLower(f.Name)] = true
				emit(o)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("vendorkeys: %w", err)
	}
	return nil
}

// Found is a key that exists.
type Found struct {
	Hive winreg.Hive
	Path string // in the 64-bit view; names a glob matched as the registry spells them
	Name string // as reports write it: HKLM\SOFTWARE\…
	// Err is why an existing key could not be opened (access denied), or nil.
	Err error
}

// Expand returns the keys that match pattern: the key itself when it has
// no glob, else every key whose names match component by component, in
// the 64-bit view. Missing keys are no error; a bad pattern is; a key
// that cannot be listed is a warning ([detect.Warn]: what lies beneath it
// is unseen, the rest was found), returned with what was found. A key of
// an offline hive that is missing or damaged on the way
// ([winreg.ErrHiveUnavailable]) is not found, and the error says why.
func Expand(ctx context.Context, r winreg.Registry, pattern string) ([]Found, error) {
	hive, p, err := winreg.ParseKey(pattern)
	if err != nil {
		return nil, err
	}
	if hive == winreg.CurrentUser {
		return nil, fmt.Errorf("registry key %q: HKCU is not scanned; name HKU keys", pattern)
	}
	if !isGlob(p) {
		k, err := r.OpenKey(hive, p, winreg.View64)
		if errors.Is(err, winreg.ErrNotExist) {
			return nil, nil
		}
		if errors.Is(err, winreg.ErrHiveUnavailable) {
			// An offline hive that is missing or damaged on the way: no
			// telling whether the key exists.
			return nil, err
		}
		if err != nil {
			// It exists, but may not be read (a product's self-defence).
			return []Found{{hive, p, winreg.Name(hive, p, winreg.View64), err}}, nil
		}
		k.Close()
		return []Found{{hive, p, winreg.Name(hive, p, winreg.View64), nil}}, nil
	}
	parts := strings.Split(p, `\`)
	for _, c := range parts {
		if _, err := path.Match(strings.ToLower(c), ""); err != nil {
			return nil, fmt.Errorf("registry key %q: %w", pattern, err)
		}
	}
	var (
		out  []Found
		errs []error
	)
	// Breadth first over the components: literal ones are appended, glob
	// ones expanded by listing subkeys.
	prefixes := []string{""}
	for i, c := range parts {
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		var next []string
		for _, pre := range prefixes {
			join := func(name string) string {
				if pre == "" {
					return name
				}
				return pre + `\` + name
			}
			if !isGlob(c) {
				next = append(next, join(c))
				continue
			}
			k, err := r.OpenKey(hive, pre, winreg.View64)
			if err != nil {
				if !errors.Is(err, winreg.ErrNotExist) {
					errs = append(errs, detect.Warn(err))
				}
				continue
			}
			names, err := k.SubKeyNames()
			k.Close()
			if err != nil {
				errs = append(errs, detect.Warn(err))
			}
			for _, n := range names {
				if ok, _ := path.Match(strings.ToLower(c), strings.ToLower(n)); ok && len(next) < maxMatches {
					next = append(next, join(n))
				}
			}
		}
		prefixes = next
		if i == len(parts)-1 {
			for _, pre := range prefixes {
				k, err := r.OpenKey(hive, pre, winreg.View64)
				if errors.Is(err, winreg.ErrNotExist) {
					continue
				}
				if errors.Is(err, winreg.ErrHiveUnavailable) {
					errs = append(errs, err) // no telling whether it exists
					continue
				}
				if err == nil {
					k.Close()
				}
				out = append(out, Found{hive, pre, winreg.Name(hive, pre, winreg.View64), err})
			}
		}
	}
	return out, errors.Join(errs...)
}

func isGlob(s string) bool { return strings.ContainsAny(s, `*?[`) }

// describeKey says how full a key is: " (2 subkeys, 3 values)", or why
// that cannot be told.
func describeKey(r winreg.Registry, f Found) string {
	if f.Err != nil {
		return " (exists, unreadable: " + f.Err.Error() + ")"
	}
	k, err := r.OpenKey(f.Hive, f.Path, winreg.View64)
	if err != nil {
		return ""
	}
	defer k.Close()
	subs, _ := k.SubKeyNames()
	vals, _ := k.ValueNames()
	return fmt.Sprintf(" (%s, %s)", count(len(subs), "subkey"), count(len(vals), "value"))
}

// datedKeys are the keys definitions values were read from, with the
// date each holds.
type datedKeys []struct {
	key  Found
	date string
}

// definitionsDates reads each definitions value from the keys its
// pattern matches (Network Agent's protection statistics, as Checkmk's
// kaspersky_av_client plugin reads them; Defender's Signature Updates
// key). A key that cannot be opened, a value missing or written in
// another form is left out: the date is extra detail, never evidence of
// its own.
func (s *VendorKeys) definitionsDates(ctx context.Context, r winreg.Registry) (datedKeys, error) {
	var out datedKeys
	var errs []error
	for _, d := range s.definitions {
		found, err := Expand(ctx, r, d.Key)
		if err != nil {
			errs = append(errs, err)
		}
		for _, f := range found {
			if f.Err != nil {
				continue
			}
			k, err := r.OpenKey(f.Hive, f.Path, winreg.View64)
			if err != nil {
				continue
			}
			v, err := k.Value(d.Value)
			k.Close()
			if err != nil {
				continue
			}
			if date, ok := DefinitionsDate(v, d.Format); ok {
				out = append(out, struct {
					key  Found
					date string
				}{f, date})
			}
		}
	}
	return out, errors.Join(errs...)
}

// of is the newest date whose nearest catalogued key is key (a date below
// Components\34\1103 belongs to that key, not to the vendor's root key
// above it), or "".
func (b datedKeys) of(key Found, keys []Found) string {
	var newest string
	for _, d := range b {
		if d.key.Name == key.Name || nearest(d.key, keys) == key.Name {
			newest = max(newest, d.date)
		}
	}
	return newest
}

// nearest is the name of the deepest of keys that k lies below, or "".
func nearest(k Found, keys []Found) string {
	best, depth := "", -1
	path := strings.ToLower(k.Path)
	for _, c := range keys {
		if c.Hive == k.Hive && strings.HasPrefix(path, strings.ToLower(c.Path)+`\`) && len(c.Path) > depth {
			best, depth = c.Name, len(c.Path)
		}
	}
	return best
}

func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// productObservation reads one product description key. It returns false
// when the key describes nothing (no name, version or root).
func productObservation(h *host.Host, env winpath.Env, f Found) (detect.Observation, bool, error) {
	k, err := h.Registry.OpenKey(f.Hive, f.Path, winreg.View64)
	if err != nil {
		return detect.Observation{}, false, err
	}
	var errs []error
	valueText := func(k winreg.Key, name string) string {
		s, err := winreg.Text(k, name)
		if err != nil {
			errs = append(errs, err)
		}
		return s
	}
	name := valueText(k, "ProductName")
	version := valueText(k, "ProductVersion")
	if version == "" {
		version = valueText(k, "Ins_ProductVersion")
	}
	root := strings.Trim(valueText(k, "ProductRoot"), `" `)
	k.Close()
	if name == "" && version == "" && root == "" {
		return detect.Observation{}, false, errors.Join(errs...)
	}
	parent := winpath.Dir(f.Path)
	var bases, defs string
	if dk, err := h.Registry.OpenKey(f.Hive, parent+`\Data`, winreg.View64); err == nil {
		if v, err := dk.Value("LastSuccessfulUpdate"); err == nil {
			defs, bases = basesDate(v)
		}
		dk.Close()
	}

	// A product's description under the vendor's key says what was
	// installed, not that it still is: uninstallers leave these keys
	// behind (a host migrated to another product keeps them). Alone it is
	// residue; the uninstall entry, services and program files say
	// installed.
	o := detect.Observation{
		Kind:     detect.KindApp,
		Status:   detect.Present,
		Name:     winpath.Base(parent),
		Display:  name,
		Version:  version,
		Location: f.Name,

		Definitions: defs,
	}
	var b strings.Builder
	b.WriteString(cmp.Or(name, o.Name))
	if version != "" {
		b.WriteString(" " + version)
	}
	if root != "" {
		root = winpath.Resolve(root, env)
		o.Path = root
		b.WriteString(" in " + root)
		if exists, known := winpath.NewChecker(h.FS, winpath.Drive(env.SystemRoot)).Exists(root); known && !exists {
			b.WriteString(" (folder missing)")
		}
	}
	if bases != "" {
		b.WriteString("; bases " + bases)
	}
	o.Detail = text.Clip(b.String(), 2*winreg.MaxText)
	return o, true, errors.Join(errs...)
}

// basesDate reads LastSuccessfulUpdate, a DWORD of Unix time, as the
// definitions date and as the detail shows it: "never updated" for 0 or
// 0xFFFFFFFF, nothing for a value that is no date (see [DefinitionsDate]).
func basesDate(v winreg.Value) (date, shown string) {
	if n, err := v.AsUint(); err == nil && (n == 0 || n == 0xffffffff) {
		return "", "never updated"
	}
	date, _ = DefinitionsDate(v, "unix")
	return date, date
}
