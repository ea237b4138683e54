package pe

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"
)

func TestNameString(t *testing.T) {
	oid := func(n ...int) asn1.ObjectIdentifier { return asn1.ObjectIdentifier(n) }
	str := func(tag int, b []byte) asn1.RawValue {
		return asn1.RawValue{Class: asn1.ClassUniversal, Tag: tag, Bytes: b}
	}
	tests := []struct {
		name     string
		rdns     []any // pkix.RDNSequence, or a hand-built SEQUENCE OF SET
		want     string
		cn, org  string
		parseErr bool
	}{
		{
			name: "kaspersky_full_dn",
			rdns: []any{kasperskyRDNs()},
			want: kasperskyDN, cn: "AO Kaspersky Lab", org: "AO Kaspersky Lab",
		},
		{
			name: "comma_in_value_is_quoted",
			rdns: []any{otherRDNs()},
			want: otherDN, cn: "Other Vendor, Inc.", org: "Other Vendor, Inc.",
		},
		{
			name: "quote_in_value_is_doubled",
			rdns: []any{pkix.RDNSequence{{{Type: oid(2, 5, 4, 3), Value: `The "Best" AV`}}}},
			want: `CN="The ""Best"" AV"`, cn: `The "Best" AV`,
		},
		{
			name: "multi_valued_rdn_and_unknown_oid",
			rdns: []any{pkix.RDNSequence{
				{{Type: oid(1, 3, 6, 1, 4, 1, 311, 60, 2, 1, 3), Value: "RU"}},
				{{Type: oid(2, 5, 4, 10), Value: "Org"}, {Type: oid(2, 5, 4, 11), Value: "Unit"}},
				{{Type: oid(2, 5, 4, 3), Value: "Name"}},
			}},
			want: "CN=Name, O=Org + OU=Unit, OID.1.3.6.1.4.1.311.60.2.1.3=RU", cn: "Name", org: "Org",
		},
		{
			name: "bmp_t61_and_universal_strings",
			rdns: []any{pkix.RDNSequence{
				{{Type: oid(2, 5, 4, 7), Value: str(asn1.TagT61String, []byte("M\xfcnchen"))}},
				{{Type: oid(2, 5, 4, 10), Value: str(asn1.TagBMPString, utf16be("Лаборатория"))}},
				{{Type: oid(2, 5, 4, 3), Value: str(28, []byte{0, 0, 0, 'A', 0, 0, 0, 'V'})}},
			}},
			want: "CN=AV, O=Лаборатория, L=München", cn: "AV", org: "Лаборатория",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			der, err := asn1.Marshal(tc.rdns[0])
			if err != nil {
				t.Fatal(err)
			}
			n, err := parseName(der)
			if err != nil {
				t.Fatal(err)
			}
			if got := n.String(); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			if n.first("CN") != tc.cn || n.first("O") != tc.org {
				t.Errorf("CN %q, O %q", n.first("CN"), n.first("O"))
			}
		})
	}
}

func TestParseNameErrors(t *testing.T) {
	for _, der := range [][]byte{nil, {0x30}, {0x31, 0x00}, {0x30, 0x02, 0x30, 0x00}, {0x30, 0x03, 0x31, 0x01, 0xff}} {
		if _, err := parseName(der); err == nil {
			t.Errorf("% x: no error", der)
		}
	}
}

func TestTrustReasonAndVerdict(t *testing.T) {
	if got := trustReason(0x800B0109); got != "untrusted root" {
		t.Errorf("got %q", got)
	}
	if got := trustReason(0x12345678); got != "error 0x12345678" {
		t.Errorf("got %q", got)
	}
	for _, tc := range []struct {
		v    Verdict
		want string
	}{
		{Verdict{}, "chain not checked"},
		{Verdict{Reason: "no file"}, "chain not checked: no file"},
		{Verdict{Checked: true, Trusted: true}, "chain trusted by Windows"},
		{Verdict{Checked: true, Reason: "untrusted root"}, "chain not trusted by Windows: untrusted root"},
	} {
		if got := tc.v.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.v, got, tc.want)
		}
	}
}
