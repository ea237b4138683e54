package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Bounds of the breakdowns: an agent chooses its tags and OS name, so a
// fleet can have as many values as hosts.
const (
	// MaxGroups is how many values a breakdown lists, most hosts first;
	// the rest are summed in [Breakdown.Other].
	MaxGroups = 50
	// MaxTagKeys is how many tag keys [Store.TagKeys] lists.
	MaxTagKeys = 50
)

// Breakdown kinds, the by argument of [Store.Breakdown].
const (
	ByOS     = "os"
	ByTag    = "tag:" // followed by the tag key
	ByVendor = "vendor"
)

// Group is the hosts of one value of a breakdown, by state (exclusive, as
// [HostSummary.State]); Compliant is Unprotected plus Clean, Stale counts
// across the states. For the restricted products by vendor and product,
// only Hosts is set: the restricted hosts with a product of the vendor,
// or with the product, in any state.
type Group struct {
	Value       string  `json:"value"`
	Name        string  `json:"name,omitempty"` // a product's name; empty otherwise
	Hosts       int     `json:"hosts"`
	Compliant   int     `json:"compliant"`
	Restricted  int     `json:"restricted"`
	Incomplete  int     `json:"incomplete"`
	Unprotected int     `json:"unprotected"`
	Clean       int     `json:"clean"`
	Stale       int     `json:"stale"`
	Products    []Group `json:"products,omitempty"` // a vendor's restricted products
}

// Breakdown is the fleet split by one property.
type Breakdown struct {
	By     string  `json:"by"` // ByOS, ByTag+key or ByVendor
	Groups []Group `json:"groups"`
	// Other counts the hosts of the values beyond the first MaxGroups
	// (for ByVendor, the vendors beyond them).
	Other int `json:"other"`
	// Without counts the hosts without the tag (ByTag only).
	Without int `json:"without"`
}

// Breakdown splits the current hosts by OS (by = [ByOS]), by the value of
// a tag (ByTag+key) or, of the restricted hosts, by the vendor and
// product of their restricted products ([ByVendor]). Every count is what
// the host list filter on the same value (os, tag key=value, vendor or
// product, with state=restricted for ByVendor) selects.
func (s *Store) Breakdown(ctx context.Context, by string, staleAfter time.Duration) (Breakdown, error) {
	switch {
	case by == ByOS:
		return s.breakdownStates(ctx, by, `SELECT h.os, h.state, COUNT(*),
			SUM(CASE WHEN h.last_generated_at < $1 THEN 1 ELSE 0 END) FROM hosts h GROUP BY h.os, h.state`,
			micros(s.staleBefore(staleAfter)))
	case strings.HasPrefix(by, ByTag):
		key := clean(strings.TrimPrefix(by, ByTag))
		if key == "" || len(key) > MaxIDLen {
			return Breakdown{}, fmt.Errorf("%w breakdown %q: want a tag key of 1 to %d bytes", ErrInvalid, by, MaxIDLen)
		}
		b, err := s.breakdownStates(ctx, ByTag+key, `SELECT t.tag_value, h.state, COUNT(*),
			SUM(CASE WHEN h.last_generated_at < $1 THEN 1 ELSE 0 END)
			FROM host_tags t JOIN hosts h ON h.id = t.host_id WHERE t.tag_key = $2 GROUP BY t.tag_value, h.state`,
			micros(s.staleBefore(staleAfter)), key)
		if err != nil {
			return Breakdown{}, err
		}
		var hosts, tagged int
		if err := s.r.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM hosts), (SELECT COUNT(*) FROM host_tags WHERE tag_key = $1)`, key).
			Scan(&hosts, &tagged); err != nil {
			return Breakdown{}, fmt.Errorf("counting hosts tagged %q: %w", key, err)
		}
		b.Without = hosts - tagged
		return b, nil
	case by == ByVendor:
		return s.breakdownVendors(ctx)
	}
	return Breakdown{}, fmt.Errorf("%w breakdown %q: want %s, %s or %s<key>", ErrInvalid, by, ByOS, ByVendor, ByTag)
}

// breakdownStates runs query, which returns (value, state, hosts, stale)
// rows, and groups them by value.
func (s *Store) breakdownStates(ctx context.Context, by, query string, args ...any) (Breakdown, error) {
	groups := map[string]*Group{}
	err := queryEachR(ctx, s, query, args, func(scan func(...any) error) error {
		var value, state string
		var n, stale int
		if err := scan(&value, &state, &n, &stale); err != nil {
			return err
		}
		g := groups[value]
		if g == nil {
			g = &Group{Value: value}
			groups[value] = g
		}
		g.Hosts += n
		g.Stale += stale
		switch state {
		case HostRestricted:
			g.Restricted += n
		case HostIncomplete:
			g.Incomplete += n
		case HostUnprotected:
			g.Unprotected += n
		default:
			g.Clean += n
		}
		g.Compliant = g.Unprotected + g.Clean
		return nil
	})
	if err != nil {
		return Breakdown{}, fmt.Errorf("breakdown by %s: %w", by, err)
	}
	b := Breakdown{By: by, Groups: []Group{}}
	for _, g := range groups {
		b.Groups = append(b.Groups, *g)
	}
	b.Groups, b.Other = top(b.Groups)
	return b, nil
}

// top sorts groups by hosts (most first, then by value) and cuts them to
// MaxGroups, returning the hosts of those cut.
func top(groups []Group) ([]Group, int) {
	slices.SortFunc(groups, func(a, b Group) int { return cmp.Or(cmp.Compare(b.Hosts, a.Hosts), strings.Compare(a.Value, b.Value)) })
	other := 0
	for _, g := range groups[min(len(groups), MaxGroups):] {
		other += g.Hosts
	}
	return groups[:min(len(groups), MaxGroups)], other
}

// breakdownVendors counts the restricted hosts by the vendors and
// products that are restricted on at least one of them: for each, the
// restricted hosts with a product of the vendor (the product) in any
// state, which is what the host list's state=restricted and vendor
// (product) filters select.
func (s *Store) breakdownVendors(ctx context.Context) (Breakdown, error) {
	b := Breakdown{By: ByVendor, Groups: []Group{}}
	rank := stateRank(HostRestricted)
	vendors := map[string]*Group{} // by vendor_lc
	var lcs []string
	err := queryEachR(ctx, s, `SELECT p.vendor_lc, MIN(p.vendor), COUNT(DISTINCT p.host_id) FROM host_products p
		JOIN hosts h ON h.id = p.host_id WHERE h.state_rank = $1 AND h.state = $2
		GROUP BY p.vendor_lc HAVING MAX(p.restricted) = 1`, []any{rank, HostRestricted}, func(scan func(...any) error) error {
		var lc string
		g := &Group{}
		if err := scan(&lc, &g.Value, &g.Hosts); err != nil {
			return err
		}
		vendors[lc] = g
		lcs = append(lcs, lc)
		return nil
	})
	if err != nil {
		return Breakdown{}, fmt.Errorf("counting restricted hosts by vendor: %w", err)
	}
	err = queryEachR(ctx, s, `SELECT p.product_id, MIN(p.vendor_lc), MIN(p.name), COUNT(DISTINCT p.host_id) FROM host_products p
		JOIN hosts h ON h.id = p.host_id WHERE h.state_rank = $1 AND h.state = $2
		GROUP BY p.product_id HAVING MAX(p.restricted) = 1`, []any{rank, HostRestricted}, func(scan func(...any) error) error {
		var p Group
		var lc string
		if err := scan(&p.Value, &lc, &p.Name, &p.Hosts); err != nil {
			return err
		}
		if v := vendors[lc]; v != nil {
			v.Products = append(v.Products, p)
		}
		return nil
	})
	if err != nil {
		return Breakdown{}, fmt.Errorf("counting restricted hosts by product: %w", err)
	}
	for _, lc := range lcs {
		g := vendors[lc]
		g.Products, _ = top(g.Products)
		b.Groups = append(b.Groups, *g)
	}
	b.Groups, b.Other = top(b.Groups)
	return b, nil
}

// TagKey is a tag key and how many hosts have it.
type TagKey struct {
	Key   string `json:"key"`
	Hosts int    `json:"hosts"`
}

// TagKeys lists the tag keys of the current hosts, most hosts first, at
// most [MaxTagKeys].
func (s *Store) TagKeys(ctx context.Context) ([]TagKey, error) {
	keys := []TagKey{}
	err := queryEachR(ctx, s, `SELECT tag_key, COUNT(*) AS n FROM host_tags GROUP BY tag_key ORDER BY n DESC, tag_key LIMIT $1`,
		[]any{int64(MaxTagKeys)}, func(scan func(...any) error) error {
			var k TagKey
			err := scan(&k.Key, &k.Hosts)
			keys = append(keys, k)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("listing tag keys: %w", err)
	}
	return keys, nil
}

// queryEachR runs query on the read pool and calls fn with each row's
// Scan.
func queryEachR(ctx context.Context, s *Store, query string, args []any, fn func(scan func(...any) error) error) error {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}
