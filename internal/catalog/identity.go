package catalog

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/avscout/avscout/internal/detect"
)

// identities maps the organisation names observations carry — publishers,
// maintainers, e-mail domains, code signers, Apple team IDs — to vendors.
type identities struct {
	publishers map[string]*Vendor // normOrg → vendor
	emails     []vendorString
	signers    map[string]*Vendor // normOrg → vendor
	teamIDs    map[string]*Vendor // lower case → vendor
	orgs       *orgMemo
}

// orgMemoMax bounds how many organisation strings a Matcher remembers, so
// that a database of distinct made-up maintainers cannot grow it without
// end; past it, organisations are looked up each time.
const orgMemoMax = 4096

// orgMemo remembers which vendor (or none) each organisation string names.
// A Debian install has a few hundred maintainers for tens of thousands of
// packages, and [Matcher.Relevant] looks up every one. Sources call it
// concurrently; sync.Map suits keys written once and read many times.
type orgMemo struct {
	m sync.Map // raw organisation string → *Vendor, nil for none
	n atomic.Int32
}

type vendorString struct {
	s string
	v *Vendor
}

func newIdentities(c *Catalog) identities {
	ids := identities{publishers: map[string]*Vendor{}, signers: map[string]*Vendor{}, teamIDs: map[string]*Vendor{}, orgs: &orgMemo{}}
	for i := range c.Vendors {
		v := &c.Vendors[i]
		for _, p := range v.Publishers {
			ids.publishers[normOrg(p)] = v
		}
		for _, d := range v.EmailDomains {
			ids.emails = append(ids.emails, vendorString{strings.ToLower(d), v})
		}
		for _, s := range v.Signers {
			ids.signers[normOrg(s)] = v
		}
		for _, t := range v.TeamIDs {
			ids.teamIDs[strings.ToLower(t)] = v
		}
	}
	return ids
}

// organisation returns the vendor an organisation field (a publisher, a
// maintainer with its e-mail address, a file's CompanyName) names.
func (ids identities) organisation(s string) *Vendor {
	if s == "" {
		return nil
	}
	if ids.orgs == nil {
		return ids.lookupOrganisation(s)
	}
	if v, ok := ids.orgs.m.Load(s); ok {
		vendor, _ := v.(*Vendor) // only *Vendor is stored
		return vendor
	}
	v := ids.lookupOrganisation(s)
	if ids.orgs.n.Load() < orgMemoMax && ids.orgs.n.Add(1) <= orgMemoMax {
		// a copy, so the key does not pin the buffer s may lie in
		ids.orgs.m.Store(strings.Clone(s), v)
	}
	return v
}

// lookupOrganisation is [identities.organisation] without the memo.
func (ids identities) lookupOrganisation(s string) *Vendor {
	n := normOrg(s)
	if v := ids.publishers[n]; v != nil {
		return v
	}
	if v := ids.signers[n]; v != nil {
		return v
	}
	if domain := emailDomain(s); domain != "" {
		for _, e := range ids.emails {
			if domain == e.s || strings.HasSuffix(domain, "."+e.s) {
				return e.v
			}
		}
	}
	return nil
}

// signer returns the vendor a code-signing identity (a subject or a team
// ID) names.
func (ids identities) signer(s string) *Vendor {
	if s == "" {
		return nil
	}
	if v := ids.teamIDs[strings.ToLower(strings.TrimSpace(s))]; v != nil {
		return v
	}
	for _, name := range signerNames(s) {
		n := normOrg(name)
		if v := ids.signers[n]; v != nil {
			return v
		}
		if v := ids.publishers[n]; v != nil {
			return v
		}
	}
	return nil
}

// signedBy reports whether an observation's code signer (a certificate
// subject or a team ID) is v. A publisher or a file's CompanyName, which
// anyone can write, is not a signature.
func (m *Matcher) signedBy(o *detect.Observation, v *Vendor) bool {
	return v != nil && o.Signer != "" && m.ids.signer(o.Signer) == v
}

// identity returns the vendor an observation's publisher, maintainer or
// signer fields name, if any.
func (ids identities) identity(o *detect.Observation) *Vendor {
	for _, s := range []string{o.Vendor, o.Packager} {
		if v := ids.organisation(s); v != nil {
			return v
		}
	}
	return ids.signer(o.Signer)
}

// hasIdentity reports whether the catalog knows how a vendor's own files
// are signed or published; only then can another name contradict it.
func (v *Vendor) hasIdentity() bool {
	return len(v.Publishers)+len(v.Signers)+len(v.TeamIDs) > 0
}

// orgFact is one organisation a file names — the code signer, or the
// version resource's CompanyName as the pe enricher reads it — with the
// vendor it is, if the catalog knows it.
type orgFact struct {
	what   string // "signer", "version info"
	org    string
	vendor *Vendor
}

// factsOf reads the organisations a file observation names.
func (ids identities) factsOf(o *detect.Observation) []orgFact {
	var out []orgFact
	if o.Signer != "" {
		name := o.Signer
		if ns := signerNames(o.Signer); len(ns) > 0 {
			name = ns[0]
		}
		out = append(out, orgFact{what: "signer", org: name, vendor: ids.signer(o.Signer)})
	}
	if o.Kind == detect.KindSigner && o.Vendor != "" {
		out = append(out, orgFact{what: "version info", org: o.Vendor, vendor: ids.organisation(o.Vendor)})
	}
	return out
}
