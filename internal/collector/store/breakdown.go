package store

import (
	"cmp"
	"context"
	"database/sql"
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
	Value string `json:"value"`
	Name  string `json:"name,omitempty"` // a product's name; empty otherwise
	StateCounts
	Stale    int     `json:"stale"`
	Products []Group `json:"products,omitempty"` // a vendor's restricted products
}

// StateCounts counts hosts by state; a compliant host is unprotected or
// clean.
type StateCounts struct {
	Hosts       int `json:"hosts"`
	Compliant   int `json:"compliant"`
	Restricted  int `json:"restricted"`
	Incomplete  int `json:"incomplete"`
	Unprotected int `json:"unprotected"`
	Clean       int `json:"clean"`
}

// add counts n hosts in state (HostRestricted, HostIncomplete,
// HostUnprotected, or clean for any other).
func (c *StateCounts) add(state string, n int) {
	c.Hosts += n
	switch state {
	case HostRestricted:
		c.Restricted += n
	case HostIncomplete:
		c.Incomplete += n
	case HostUnprotected:
		c.Unprotected += n
	default:
		c.Clean += n
	}
	c.Compliant = c.Unprotected + c.Clean
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
	cutoff := micros(s.staleBefore(staleAfter))
	switch {
	case by == ByOS:
		return s.breakdownStates(ctx, by, dimOS, `SELECT os, state, COUNT(*) FROM hosts
			WHERE last_generated_at < $1 GROUP BY os, state`, cutoff)
	case strings.HasPrefix(by, ByTag):
		key := clean(strings.TrimPrefix(by, ByTag))
		if key == "" || len(key) > MaxIDLen {
			return Breakdown{}, fmt.Errorf("%w breakdown %q: want a tag key of 1 to %d bytes", ErrInvalid, by, MaxIDLen)
		}
		b, err := s.breakdownStates(ctx, ByTag+key, dimTag+key, `SELECT t.tag_value, h.state, COUNT(*)
			FROM hosts h JOIN host_tags t ON t.host_id = h.id AND t.tag_key = $2
			WHERE h.last_generated_at < $1 GROUP BY t.tag_value, h.state`, cutoff, key)
		if err != nil {
			return Breakdown{}, err
		}
		var hosts int
		if err := s.r.QueryRowContext(ctx, `SELECT COALESCE(SUM(hosts), 0) FROM fleet_counts WHERE dim = $1`, dimFleet).Scan(&hosts); err != nil {
			return Breakdown{}, fmt.Errorf("counting hosts: %w", err)
		}
		b.Without = hosts - b.Other
		for _, g := range b.Groups {
			b.Without -= g.Hosts
		}
		return b, nil
	case by == ByVendor:
		return s.breakdownVendors(ctx)
	}
	return Breakdown{}, fmt.Errorf("%w breakdown %q: want %s, %s or %s<key>", ErrInvalid, by, ByOS, ByVendor, ByTag)
}

// breakdownStates groups the counts of dim by value, and adds the stale
// hosts staleQuery returns as (value, state, hosts) rows: only the stale
// hosts are read, by the scan-time index.
func (s *Store) breakdownStates(ctx context.Context, by, dim, staleQuery string, args ...any) (Breakdown, error) {
	groups := map[string]*Group{}
	group := func(value string) *Group {
		g := groups[value]
		if g == nil {
			g = &Group{Value: value}
			groups[value] = g
		}
		return g
	}
	err := queryEachR(ctx, s, `SELECT value, state, hosts FROM fleet_counts WHERE dim = $1`, []any{dim}, func(scan func(...any) error) error {
		var value, state string
		var n int
		if err := scan(&value, &state, &n); err != nil {
			return err
		}
		group(value).add(state, n)
		return nil
	})
	if err != nil {
		return Breakdown{}, fmt.Errorf("breakdown by %s: %w", by, err)
	}
	err = queryEachR(ctx, s, staleQuery, args, func(scan func(...any) error) error {
		var value, state string
		var n int
		if err := scan(&value, &state, &n); err != nil {
			return err
		}
		group(value).Stale += n
		return nil
	})
	if err != nil {
		return Breakdown{}, fmt.Errorf("breakdown by %s: stale hosts: %w", by, err)
	}
	b := Breakdown{By: by, Groups: []Group{}}
	for _, g := range groups {
		if g.Hosts > 0 {
			b.Groups = append(b.Groups, *g)
		}
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
	// One pass over the products of the restricted hosts (found by the
	// list's index: rank 0 is restricted), host by host, so that each
	// host counts once per vendor and per product; memory holds the
	// vendors and products, not the hosts.
	type tally struct {
		g          Group
		restricted bool
		lc         string // a product's vendor
	}
	vendors, products := map[string]*tally{}, map[string]*tally{}
	var host string
	seenV, seenP := map[string]bool{}, map[string]bool{}
	err := queryEachR(ctx, s, `SELECT p.host_id, p.vendor_lc, p.vendor, p.product_id, p.name, p.restricted FROM host_products p
		JOIN hosts h ON h.id = p.host_id WHERE h.state_rank = $1 ORDER BY p.host_id`, []any{stateRank(HostRestricted)},
		func(scan func(...any) error) error {
			var id, lc, vendor, product, name string
			var restricted int64
			if err := scan(&id, &lc, &vendor, &product, &name, &restricted); err != nil {
				return err
			}
			if id != host {
				host = id
				clear(seenV)
				clear(seenP)
			}
			v := vendors[lc]
			if v == nil {
				v = &tally{g: Group{Value: vendor}}
				vendors[lc] = v
			}
			p := products[product]
			if p == nil {
				p = &tally{g: Group{Value: product, Name: name}, lc: lc}
				products[product] = p
			}
			// The names the database's MIN would give: one per value,
			// whichever order the rows come in.
			v.g.Value = min(v.g.Value, vendor)
			p.g.Name, p.lc = min(p.g.Name, name), min(p.lc, lc)
			v.restricted = v.restricted || restricted == 1
			p.restricted = p.restricted || restricted == 1
			if !seenV[lc] {
				seenV[lc] = true
				v.g.Hosts++
			}
			if !seenP[product] {
				seenP[product] = true
				p.g.Hosts++
			}
			return nil
		})
	if err != nil {
		return Breakdown{}, fmt.Errorf("counting restricted hosts by vendor and product: %w", err)
	}
	for _, p := range products {
		if v := vendors[p.lc]; p.restricted && v != nil && v.restricted {
			v.g.Products = append(v.g.Products, p.g)
		}
	}
	for _, v := range vendors {
		if v.restricted {
			v.g.Products, _ = top(v.g.Products)
			b.Groups = append(b.Groups, v.g)
		}
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
	// The dims of the tags start with "tag:". Compared by prefix, not as
	// a range ("tag:" <= dim < "tag;"): a PostgreSQL database with a
	// language collation sorts ";" before ":", and the range would be
	// empty.
	err := queryEachR(ctx, s, `SELECT dim, SUM(hosts) AS n FROM fleet_counts WHERE substr(dim, 1, $1) = $2
		GROUP BY dim HAVING SUM(hosts) > 0 ORDER BY n DESC, dim LIMIT $3`,
		[]any{int64(len(dimTag)), dimTag, int64(MaxTagKeys)}, func(scan func(...any) error) error {
			var k TagKey
			err := scan(&k.Key, &k.Hosts)
			k.Key = strings.TrimPrefix(k.Key, dimTag)
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
	return queryEach(ctx, s.r, query, args, func(rows *sql.Rows) error { return fn(rows.Scan) })
}
