package catalog

import (
	"path"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file holds the normalisers: how patterns and observed values are
// written before they are compared, so that Windows and Unix paths, registry
// hive names, driver file names and organisation names compare alike.

// normPattern normalises a catalog pattern of kind k.
func normPattern(k fpKind, s string) string {
	switch k {
	case fpPaths:
		return normPath(s)
	case fpKeys:
		return normKey(s)
	case fpDrivers:
		return normDriver(s)
	}
	return strings.ToLower(strings.TrimSpace(s))
}

// normPath lower-cases a target path and writes it with forward slashes and
// without a drive letter, so Windows and Unix paths compare alike.
func normPath(p string) string {
	p = strings.TrimSpace(p)
	if p == "" {
		return ""
	}
	p = strings.ToLower(strings.ReplaceAll(p, `\`, "/"))
	if len(p) >= 2 && p[1] == ':' {
		p = p[2:]
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return path.Clean(p)
}

// installRoot returns the normalised folder p when it is narrow enough to
// stand for one product's files — not a drive's root nor a top-level
// folder such as C:\Program Files or /Applications — and false otherwise.
func installRoot(p string) (string, bool) {
	r := normPath(p)
	return r, strings.Count(r, "/") >= 2
}

// within reports whether the normalised path p is root or lies beneath it.
func within(p, root string) bool {
	return p != "" && root != "" && (p == root || strings.HasPrefix(p, root+"/"))
}

// normKey normalises a registry key path: lower case, forward slashes,
// short hive names ("HKEY_LOCAL_MACHINE\\SOFTWARE" → "/hklm/software").
func normKey(k string) string {
	k = strings.Trim(strings.ToLower(strings.ReplaceAll(strings.TrimSpace(k), `\`, "/")), "/")
	if k == "" {
		return ""
	}
	hive, rest, _ := strings.Cut(k, "/")
	switch hive {
	case "hkey_local_machine":
		hive = "hklm"
	case "hkey_users":
		hive = "hku"
	case "hkey_current_user":
		hive = "hkcu"
	}
	if rest == "" {
		return "/" + hive
	}
	return "/" + hive + "/" + rest
}

func normDriver(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.TrimSuffix(s, ".sys")
}

func baseName(p string) string {
	p = strings.ReplaceAll(p, `\`, "/")
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		p = p[i+1:]
	}
	return strings.ToLower(p)
}

// normOrg normalises an organisation name for comparison: the e-mail part
// of a maintainer ("Name <a@b>") dropped, case and spacing folded.
// It runs on the maintainer of every package of a database (see
// [Matcher.Relevant]): one pass, one allocation, and no rune decoding when
// the name is ASCII, as most are.
func normOrg(s string) string {
	if i := strings.IndexByte(s, '<'); i >= 0 {
		s = s[:i]
	}
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			return normOrgUnicode(s)
		}
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false // a space is pending before the next word
	for i := range len(s) {
		c := s[i]
		switch c {
		case ' ', '\t', '\n', '\v', '\f', '\r': // unicode.IsSpace, in ASCII
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// normOrgUnicode is [normOrg] for names outside ASCII, with the e-mail part
// already dropped.
func normOrgUnicode(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for f := range strings.FieldsSeq(s) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		for _, r := range f {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

func emailDomain(s string) string {
	i := strings.IndexByte(s, '<')
	j := strings.LastIndexByte(s, '>')
	if i < 0 || j < i {
		return ""
	}
	_, domain, ok := strings.Cut(s[i+1:j], "@")
	if !ok {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(domain))
}

// signerNames returns the names in a signer subject: the CN and O values
// of a distinguished name, or the whole string when it is a plain name.
func signerNames(s string) []string {
	if !strings.Contains(s, "=") {
		return []string{s}
	}
	var names []string
	for _, m := range dnAttr.FindAllStringSubmatch(s, -1) {
		names = append(names, strings.Trim(strings.TrimSpace(m[2]), `"`))
	}
	return names
}

var dnAttr = regexp.MustCompile(`(?i)(?:^|,)\s*(CN|O)\s*=\s*("[^"]*"|[^,]*)`)

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

func slug(s string) string {
	return strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(s), "-"), "-")
}

// showsBrand reports whether a displayed name carries one of the vendor's
// brands.
func showsBrand(display string, v *Vendor) bool {
	d := strings.ToLower(display)
	for _, b := range v.Brands {
		if strings.Contains(d, strings.ToLower(b)) {
			return true
		}
	}
	return false
}
