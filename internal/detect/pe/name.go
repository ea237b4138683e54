package pe

import (
	"encoding/asn1"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// maxNameAttrs bounds the attributes read from one distinguished name.
const maxNameAttrs = 64

// name is a distinguished name as encoded: RDNs in order, each a set of
// attribute type and value pairs.
type name [][]nameAttr

type nameAttr struct {
	typ   string // short name as Windows writes it ("CN", "S"), or "OID.1.2.3"
	value string
}

// String writes the name the way Windows shows a certificate subject:
// most specific RDN first (the reverse of the encoding), "CN=…, O=…",
// multi-valued RDNs joined by " + ", and values holding separators or
// quotes put in double quotes with inner quotes doubled.
func (n name) String() string {
	var b strings.Builder
	for i := len(n) - 1; i >= 0; i-- {
		for j, a := range n[i] {
			switch {
			case j > 0:
				b.WriteString(" + ")
			case b.Len() > 0:
				b.WriteString(", ")
			}
			b.WriteString(a.typ)
			b.WriteByte('=')
			b.WriteString(quoteDNValue(a.value))
		}
	}
	return b.String()
}

// first returns the value of the first attribute of type typ in the most
// specific RDN holding one.
func (n name) first(typ string) string {
	for i := len(n) - 1; i >= 0; i-- {
		for _, a := range n[i] {
			if a.typ == typ {
				return a.value
			}
		}
	}
	return ""
}

func quoteDNValue(v string) string {
	if v == "" || strings.ContainsAny(v, ",+=\"\n\r<>#;") || v[0] == ' ' || v[len(v)-1] == ' ' {
		return `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
	}
	return v
}

// parseName parses the DER of an X.501 Name.
func parseName(der []byte) (name, error) {
	var seq asn1.RawValue
	if _, err := asn1.Unmarshal(der, &seq); err != nil {
		return nil, err
	}
	if seq.Tag != asn1.TagSequence || !seq.IsCompound {
		return nil, fmt.Errorf("name is not a SEQUENCE")
	}
	var n name
	count := 0
	for rest := seq.Bytes; len(rest) > 0; {
		var set asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &set); err != nil {
			return nil, err
		}
		if set.Tag != asn1.TagSet {
			return nil, fmt.Errorf("RDN is not a SET")
		}
		var rdn []nameAttr
		for r2 := set.Bytes; len(r2) > 0; {
			if count++; count > maxNameAttrs {
				return nil, fmt.Errorf("more than %d name attributes", maxNameAttrs)
			}
			var atv struct {
				Type  asn1.ObjectIdentifier
				Value asn1.RawValue
			}
			if r2, err = asn1.Unmarshal(r2, &atv); err != nil {
				return nil, err
			}
			rdn = append(rdn, nameAttr{typ: attrTypeName(atv.Type), value: cleanString(decodeDirectoryString(atv.Value))})
		}
		n = append(n, rdn)
	}
	return n, nil
}

// attrTypeName is the short name Windows' CertNameToStr uses for an
// attribute type.
func attrTypeName(oid asn1.ObjectIdentifier) string {
	switch oid.String() {
	case "2.5.4.3":
		return "CN"
	case "2.5.4.4":
		return "SN"
	case "2.5.4.5":
		return "SERIALNUMBER"
	case "2.5.4.6":
		return "C"
	case "2.5.4.7":
		return "L"
	case "2.5.4.8":
		return "S"
	case "2.5.4.9":
		return "STREET"
	case "2.5.4.10":
		return "O"
	case "2.5.4.11":
		return "OU"
	case "2.5.4.12":
		return "T"
	case "2.5.4.42":
		return "G"
	case "2.5.4.43":
		return "I"
	case "2.5.4.17":
		return "PostalCode"
	case "0.9.2342.19200300.100.1.25":
		return "DC"
	case "1.2.840.113549.1.9.1":
		return "E"
	}
	return "OID." + oid.String()
}

// decodeDirectoryString decodes the string types certificates use; other
// values are shown as "#" and their DER in hex, as RFC 4514 does.
func decodeDirectoryString(v asn1.RawValue) string {
	if v.Class != asn1.ClassUniversal {
		return fmt.Sprintf("#%x", v.FullBytes)
	}
	switch v.Tag {
	case asn1.TagUTF8String, asn1.TagPrintableString, asn1.TagIA5String, 26 /* VisibleString */, asn1.TagNumericString, asn1.TagT61String:
		// T61String is in practice Latin-1 or, from some CAs, UTF-8.
		if utf8.Valid(v.Bytes) {
			return string(v.Bytes)
		}
		return latin1(v.Bytes)
	case asn1.TagBMPString:
		u := make([]uint16, len(v.Bytes)/2)
		for i := range u {
			u[i] = binary.BigEndian.Uint16(v.Bytes[2*i:])
		}
		return string(utf16.Decode(u))
	case 28: // UniversalString, UTF-32BE
		var b strings.Builder
		for i := 0; i+3 < len(v.Bytes); i += 4 {
			b.WriteRune(rune(binary.BigEndian.Uint32(v.Bytes[i:])))
		}
		return b.String()
	}
	return fmt.Sprintf("#%x", v.FullBytes)
}

func latin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}
