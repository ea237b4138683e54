package catalog

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/avscout/avscout/internal/host"
)

// Removal is what the catalog knows about removing a product (or, on a
// vendor, every product of that vendor and every build on its
// technology) from one OS, beyond what the evidence on a host already
// says: which obstacles stand in the way, which uninstall program the
// product ships, what it leaves behind, and whether it must go last.
// The remediation planner reads it; detection never does.
type Removal struct {
	// Obstacles are ids of the catalog's [Obstacle] entries.
	Obstacles []string `yaml:"obstacles,omitempty" json:"obstacles,omitempty"`
	// Last marks a product removed after every other restricted product
	// of the host: a management agent through which the others are
	// managed (and, remotely, uninstalled).
	Last bool `yaml:"last,omitempty" json:"last,omitempty"`
	// Uninstallers are the product's own uninstall programs, absolute
	// paths on the target, run without arguments; the first present is
	// used.
	Uninstallers []string `yaml:"uninstallers,omitempty" json:"uninstallers,omitempty"`
	// Leftovers are folders and files (absolute target paths) the
	// uninstall leaves behind, to delete afterwards; LeftoverKeys are
	// registry keys (under HKLM) likewise.
	Leftovers    []string `yaml:"leftovers,omitempty" json:"leftovers,omitempty"`
	LeftoverKeys []string `yaml:"leftover_keys,omitempty" json:"leftover_keys,omitempty"`
	Sources      []string `yaml:"sources,omitempty" json:"sources,omitempty"`
}

// Obstacle is something that stands in the way of removing a product,
// and what the administrator does about it.
type Obstacle struct {
	ID string `yaml:"id" json:"id"`
	// Summary says what stands in the way; Action what to do about it.
	Summary string `yaml:"summary" json:"summary"`
	Action  string `yaml:"action" json:"action"`
	// Properties are Windows Installer properties the administrator may
	// have to add to the msiexec uninstall command ("KLLOGIN",
	// "KLPASSWD"): the plan names them, never their values.
	Properties []string `yaml:"properties,omitempty" json:"properties,omitempty"`
	// Tool names the vendor's removal tool for installs its uninstaller
	// cannot remove.
	Tool    string   `yaml:"tool,omitempty" json:"tool,omitempty"`
	Sources []string `yaml:"sources" json:"sources"`
}

// Fallback is the protection an OS brings of its own, which takes over
// when the last antivirus is removed.
type Fallback struct {
	// Product is the catalog id of the built-in product, when the catalog
	// detects it ("microsoft-defender-antivirus").
	Product string `yaml:"product,omitempty" json:"product,omitempty"`
	Name    string `yaml:"name" json:"name"`
	// Note says when it takes over and what the administrator checks.
	Note    string   `yaml:"note" json:"note"`
	Sources []string `yaml:"sources" json:"sources"`
}

// Obstacle returns the catalog's obstacle with the given id.
func (c *Catalog) Obstacle(id string) (Obstacle, bool) {
	for _, o := range c.Obstacles {
		if o.ID == id {
			return o, true
		}
	}
	return Obstacle{}, false
}

// RemovalOf returns what the catalog knows about removing the product id
// from targetOS: its vendor's removal data and, for a product built on
// another vendor's technology, that vendor's too, followed by the
// product's own. ok is false for an id the catalog does not hold.
func (c *Catalog) RemovalOf(id, targetOS string) (Removal, bool) {
	p, ok := c.productByID(id)
	if !ok {
		return Removal{}, false
	}
	return c.sharedRemoval(p, targetOS).merge(p.Removal[targetOS]), true
}

// SharedRemovalOf returns the part of [Catalog.RemovalOf] the product id
// shares with the other products of its vendor and technology: their
// removal data, without the product's own. Its leftovers (a vendor's
// common data folder) may still be used by another of those products
// after this one is removed. ok is false for an id the catalog does not
// hold.
func (c *Catalog) SharedRemovalOf(id, targetOS string) (Removal, bool) {
	p, ok := c.productByID(id)
	if !ok {
		return Removal{}, false
	}
	return c.sharedRemoval(p, targetOS), true
}

// sharedRemoval is the removal data of p's vendor and, for a product
// built on another vendor's technology, that vendor's.
func (c *Catalog) sharedRemoval(p *Product, targetOS string) Removal {
	var r Removal
	for _, vid := range []string{p.Vendor, p.Technology} {
		if v, ok := c.Vendor(vid); ok && vid != "" {
			r = r.merge(v.Removal[targetOS])
		}
	}
	return r
}

// productByID returns the catalogued product id.
func (c *Catalog) productByID(id string) (*Product, bool) {
	for i := range c.Products {
		if c.Products[i].ID == id {
			return &c.Products[i], true
		}
	}
	return nil, false
}

// VendorRemoval returns the removal data of the vendor called name
// (its display name, as reports write it) on targetOS: for a product
// the catalog does not hold, a white-labelled build found through that
// vendor's technology.
func (c *Catalog) VendorRemoval(name, targetOS string) (Removal, bool) {
	for i := range c.Vendors {
		if strings.EqualFold(c.Vendors[i].Name, name) {
			return Removal{}.merge(c.Vendors[i].Removal[targetOS]), true
		}
	}
	return Removal{}, false
}

// merge returns r with o's lists appended (without duplicates) and Last
// set when either has it.
func (r Removal) merge(o Removal) Removal {
	add := func(a, b []string) []string {
		for _, s := range b {
			if !slices.Contains(a, s) {
				a = append(a, s)
			}
		}
		return a
	}
	return Removal{
		Obstacles:    add(append([]string(nil), r.Obstacles...), o.Obstacles),
		Last:         r.Last || o.Last,
		Uninstallers: add(append([]string(nil), r.Uninstallers...), o.Uninstallers),
		Leftovers:    add(append([]string(nil), r.Leftovers...), o.Leftovers),
		LeftoverKeys: add(append([]string(nil), r.LeftoverKeys...), o.LeftoverKeys),
		Sources:      add(append([]string(nil), r.Sources...), o.Sources),
	}
}

// validateRemoval checks the removal data of one vendor or product.
func (c *Catalog) validateRemoval(what string, removal map[string]Removal) []error {
	var errs []error
	for os, r := range removal {
		w := fmt.Sprintf("%s removal %s", what, os)
		if !host.OS(os).Valid() {
			errs = append(errs, fmt.Errorf("%s: unknown OS %q (want one of %v)", w, os, host.OSes()))
		}
		for _, id := range r.Obstacles {
			if _, ok := c.Obstacle(id); !ok {
				errs = append(errs, fmt.Errorf("%s: unknown obstacle %q", w, id))
			}
		}
		for _, p := range append(append([]string(nil), r.Uninstallers...), r.Leftovers...) {
			if !absoluteTargetPath(os, p) {
				errs = append(errs, fmt.Errorf("%s: %q is not an absolute path on %s", w, p, os))
			}
		}
		for _, k := range r.LeftoverKeys {
			if err := validKey(k); err != nil {
				errs = append(errs, fmt.Errorf("%s leftover_keys: %w", w, err))
			} else if strings.ContainsAny(k, "*?[") {
				errs = append(errs, fmt.Errorf("%s leftover_keys: %q: a key to delete is named exactly, without globs", w, k))
			}
		}
		for _, k := range r.Sources {
			if _, ok := c.Sources[k]; !ok {
				errs = append(errs, fmt.Errorf("%s: source %q is not in sources", w, k))
			}
		}
	}
	return errs
}

// absoluteTargetPath reports whether p is an absolute path, without
// globs, on the target OS: "C:\…" on Windows, "/…" elsewhere.
func absoluteTargetPath(targetOS, p string) bool {
	if strings.ContainsAny(p, "*?[") || strings.Contains(p, "..") {
		return false
	}
	if host.OS(targetOS) == host.Windows {
		return len(p) > 3 && p[1] == ':' && p[2] == '\\'
	}
	return path.IsAbs(p)
}

// validateRemediation checks the obstacles and fallbacks.
func (c *Catalog) validateRemediation() []error {
	var errs []error
	seen := map[string]bool{}
	for _, o := range c.Obstacles {
		w := fmt.Sprintf("obstacle %q", o.ID)
		if !validID(o.ID) {
			errs = append(errs, fmt.Errorf("%s: id must be lower-case letters, digits, dots and dashes", w))
		}
		if seen[o.ID] {
			errs = append(errs, fmt.Errorf("%s: duplicate id", w))
		}
		seen[o.ID] = true
		if o.Summary == "" || o.Action == "" || len(o.Sources) == 0 {
			errs = append(errs, fmt.Errorf("%s: summary, action and sources are required", w))
		}
		for _, p := range o.Properties {
			if !msiProperty(p) {
				errs = append(errs, fmt.Errorf("%s: %q is not a public Windows Installer property name (upper-case letters, digits, underscores)", w, p))
			}
		}
		for _, k := range o.Sources {
			if _, ok := c.Sources[k]; !ok {
				errs = append(errs, fmt.Errorf("%s: source %q is not in sources", w, k))
			}
		}
	}
	for os, f := range c.Fallbacks {
		w := fmt.Sprintf("fallback %s", os)
		if !host.OS(os).Valid() {
			errs = append(errs, fmt.Errorf("%s: unknown OS %q", w, os))
		}
		if f.Name == "" || f.Note == "" || len(f.Sources) == 0 {
			errs = append(errs, fmt.Errorf("%s: name, note and sources are required", w))
		}
		if f.Product != "" && !slices.ContainsFunc(c.Products, func(p Product) bool { return p.ID == f.Product }) {
			errs = append(errs, fmt.Errorf("%s: unknown product %q", w, f.Product))
		}
		for _, k := range f.Sources {
			if _, ok := c.Sources[k]; !ok {
				errs = append(errs, fmt.Errorf("%s: source %q is not in sources", w, k))
			}
		}
	}
	return errs
}

// msiProperty reports whether p is a public Windows Installer property
// name: upper-case letters, digits and underscores, starting with a
// letter.
func msiProperty(p string) bool {
	for i := range len(p) {
		b := p[i]
		if !('A' <= b && b <= 'Z' || i > 0 && ('0' <= b && b <= '9' || b == '_')) {
			return false
		}
	}
	return p != ""
}
