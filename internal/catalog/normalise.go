package catalog

import (
	"path"
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
// of a maintainer ("Name <a@b>") dropped, case and spacing folded, and
// quotation marks read as spaces. Legal names quote the name proper in
// several styles (АО "Лаборатория Касперского", АО «Лаборатория
// Касперского», and unquoted), which name one organisation.
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
		case ' ', '\t', '\n', '\v', '\f', '\r', // unicode.IsSpace, in ASCII
			'"': // isQuote, in ASCII
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
	for f := range strings.FieldsFuncSeq(s, isOrgSpace) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		for _, r := range f {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// isOrgSpace reports whether r separates the words of an organisation's
// name: a space, or a quotation mark.
func isOrgSpace(r rune) bool { return unicode.IsSpace(r) || isQuote(r) }

// isQuote reports whether r is a double quotation mark of a legal name:
// straight, guillemets, or the German and English curly pairs. The
// apostrophe is not one: it belongs to names (O'Neil).
func isQuote(r rune) bool {
	switch r {
	case '"', '«', '»', '„', '“', '”':
		return true
	}
	return false
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
	for _, v := range dnValues(s) {
		names = append(names, strings.Trim(strings.TrimSpace(v), `"`))
	}
	return names
}

// dnValues returns the values of the CN and O attributes of a
// distinguished name, in order: what the regular expression
// (?i)(?:^|,)\s*(CN|O)\s*=\s*("[^"]*"|[^,]*) finds, written out so that no
// process compiles it at start-up. An attribute begins the string or
// follows a comma; a value is a double-quoted string when it is one,
// otherwise everything up to the next comma.
func dnValues(s string) []string {
	var vals []string
	for i := 0; i < len(s); {
		// A match begins at the start (after nothing, then after a
		// leading comma) or at a comma.
		end, v, ok := -1, "", false
		if i == 0 {
			end, v, ok = dnAttrAt(s, 0)
		}
		if !ok && s[i] == ',' {
			end, v, ok = dnAttrAt(s, i+1)
		}
		if !ok {
			next := strings.IndexByte(s[i+1:], ',')
			if next < 0 {
				break
			}
			i += 1 + next
			continue
		}
		vals = append(vals, v)
		i = end
	}
	return vals
}

// dnAttrAt matches \s*(CN|O)\s*=\s*("[^"]*"|[^,]*) at s[i:] and returns
// where the match ends and the value.
func dnAttrAt(s string, i int) (end int, value string, ok bool) {
	i = skipSpace(s, i)
	switch {
	case i+1 < len(s) && (s[i] == 'c' || s[i] == 'C') && (s[i+1] == 'n' || s[i+1] == 'N'):
		i += 2
	case i < len(s) && (s[i] == 'o' || s[i] == 'O'):
		i++
	default:
		return 0, "", false
	}
	i = skipSpace(s, i)
	if i >= len(s) || s[i] != '=' {
		return 0, "", false
	}
	i = skipSpace(s, i+1)
	if i < len(s) && s[i] == '"' {
		if q := strings.IndexByte(s[i+1:], '"'); q >= 0 {
			end = i + 1 + q + 1
			return end, s[i:end], true
		}
	}
	end = len(s)
	if c := strings.IndexByte(s[i:], ','); c >= 0 {
		end = i + c
	}
	return end, s[i:end], true
}

// skipSpace skips what \s matches (ASCII space, tab, newline, form feed,
// carriage return) from s[i:].
func skipSpace(s string, i int) int {
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\n', '\f', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// slug writes s in lower case with every run of characters other than
// a–z and 0–9 as one hyphen, and no hyphen at either end.
func slug(s string) string {
	s = strings.ToLower(s)
	b := make([]byte, 0, len(s))
	gap := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' {
			if gap && len(b) > 0 {
				b = append(b, '-')
			}
			gap = false
			b = append(b, c)
			continue
		}
		gap = true
	}
	return string(b)
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
