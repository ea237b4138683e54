package agentkey

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// Fixtures are written in the Security Descriptor Definition Language
// (learn.microsoft.com, "Security Descriptor String Format" and "ACE
// Strings"): "O:owner D:flags(ace)(ace)…", each ACE
// "type;flags;rights;object;inherited object;trustee[;condition]". Only
// what the decision reads is parsed. ME stands for the user running the
// agent, U2 for another user (SIDs in the form of a local account's).
const (
	sidMe    = "S-1-5-21-1004336348-1177238915-682003330-1001"
	sidOther = "S-1-5-21-1004336348-1177238915-682003330-1002"
)

var sddlSIDs = map[string]string{
	"SY": sidSystem, "BA": sidAdministrators, "BU": "S-1-5-32-545", "WD": "S-1-1-0", "AU": "S-1-5-11",
	"OW": "S-1-3-4", "CO": "S-1-3-0", "ME": sidMe, "U2": sidOther,
}

var sddlTypes = map[string]uint8{
	"A": aceAllowed, "D": aceDenied, "OA": aceAllowedObject, "OD": aceDeniedObject,
	"XA": aceAllowedCallback, "XD": aceDeniedCallback, "ZA": aceAllowedCallbackObject, "AU": 0x02,
}

var sddlRights = map[string]uint32{"FA": 0x1F01FF, "FR": 0x120089, "GR": 0x80000000, "GA": 0x10000000, "RC": 0x20000, "WD": 0x40000}

func parseSDDL(t *testing.T, s string) fileSecurity {
	t.Helper()
	sid := func(v string) string {
		if strings.HasPrefix(v, "S-1-") {
			return v
		}
		if v == "" {
			return ""
		}
		full, ok := sddlSIDs[v]
		if !ok {
			t.Fatalf("%q: unknown SID alias %q", s, v)
		}
		return full
	}
	var sec fileSecurity
	rest := s
	if o, ok := strings.CutPrefix(rest, "O:"); ok {
		owner, after, _ := strings.Cut(o, "D:")
		sec.Owner, rest = sid(owner), "D:"+after
	}
	d, ok := strings.CutPrefix(rest, "D:")
	if !ok {
		t.Fatalf("%q: no DACL part", s)
	}
	if d == "NO_ACCESS_CONTROL" {
		sec.NullDACL = true
		return sec
	}
	// ACEs are the top-level parenthesised groups; conditions nest.
	depth, start := 0, 0
	for i, c := range d {
		switch c {
		case '(':
			if depth == 0 {
				start = i + 1
			}
			depth++
		case ')':
			depth--
			if depth == 0 {
				f := strings.SplitN(d[start:i], ";", 7)
				if len(f) < 6 {
					t.Fatalf("%q: ACE %q", s, d[start:i])
				}
				typ, ok := sddlTypes[f[0]]
				if !ok {
					t.Fatalf("%q: ACE type %q", s, f[0])
				}
				mask, ok := sddlRights[f[2]]
				if !ok {
					m, err := strconv.ParseUint(strings.TrimPrefix(f[2], "0x"), 16, 32)
					if err != nil {
						t.Fatalf("%q: rights %q", s, f[2])
					}
					mask = uint32(m)
				}
				e := aclEntry{Type: typ, Mask: mask, SID: sid(f[5])}
				if typ == aceAllowedObject || typ == aceAllowedCallbackObject {
					e.SID = "" // the adapter does not read object entries' trustees
				}
				sec.DACL = append(sec.DACL, e)
			}
		}
	}
	return sec
}

func TestCheckFileSecurity(t *testing.T) {
	for _, tc := range []struct {
		name, sddl string
		want       string // in the error; "" for accepted
		self       string // the agent's user; "" for ME
	}{
		// As the agent creates it (FileSDDL), owned by SYSTEM (the
		// service) or Administrators (an elevated admin).
		{"created_by_service", "O:SYD:P(A;;FA;;;SY)(A;;FA;;;BA)", "", ""},
		{"created_by_admin", "O:BAD:P(A;;FA;;;SY)(A;;FA;;;BA)", "", ""},
		// Run as a plain user (a developer's test): owner and grantee.
		{"own_user", "O:MED:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FA;;;ME)", "", ""},
		// What Wine 8 shows for a file the agent made (mode 0600), read
		// back under Wine: owned by the prefix's user, no DACL flags.
		{"wine_0600", "O:S-1-5-21-0-0-0-1000D:(A;;FA;;;SY)(A;;FA;;;S-1-5-21-0-0-0-1000)", "", "S-1-5-21-0-0-0-1000"},
		{"deny_everyone_ignored", "O:SYD:P(D;;FA;;;WD)(A;;FA;;;SY)", "", ""},
		{"empty_grant_ignored", "O:SYD:P(A;;0x0;;;BU)(A;;FA;;;SY)", "", ""},

		// Planted: a user made the file, owns it, and lists only SYSTEM
		// and Administrators; they know the key.
		{"planted_by_user", "O:U2D:P(A;;FA;;;SY)(A;;FA;;;BA)", "owned by " + sidOther, ""},
		{"owned_by_users", "O:BUD:P(A;;FA;;;SY)(A;;FA;;;BA)", "owned by S-1-5-32-545", ""},
		{"owner_unknown", "D:P(A;;FA;;;SY)(A;;FA;;;BA)", "owner cannot be read", ""},
		{"null_dacl", "O:SYD:NO_ACCESS_CONTROL", "no DACL", ""},
		{"users_read", "O:SYD:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;GR;;;BU)", "grants S-1-5-32-545", ""},
		{"everyone_read_control", "O:SYD:P(A;;FA;;;SY)(A;;RC;;;WD)", "grants S-1-1-0", ""},
		{"another_user", "O:SYD:P(A;;FA;;;SY)(A;;FR;;;U2)", "grants " + sidOther, ""},
		// The agent's own user is trusted as owner only.
		{"own_user_not_owner", "O:SYD:P(A;;FA;;;SY)(A;;FA;;;ME)", "grants " + sidMe, ""},
		{"owner_rights", "O:SYD:P(A;;FA;;;SY)(A;;FA;;;OW)", "grants S-1-3-4", ""},
		// Conditional (callback) grants count as grants.
		{"conditional_everyone", "O:SYD:P(A;;FA;;;SY)(XA;;FA;;;WD;(Member_of {SID(BA)}))", "grants S-1-1-0 access (conditionally)", ""},
		{"conditional_system", "O:SYD:P(XA;;FA;;;SY;(Exists Device))", "", ""},
		{"conditional_deny_ignored", "O:SYD:P(XD;;FA;;;WD;(Exists x))(A;;FA;;;SY)", "", ""},
		// Entry types a file does not carry are refused.
		{"object_grant", "O:SYD:P(A;;FA;;;SY)(OA;;FA;bf967aba-0de6-11d0-a285-00aa003049e2;;WD)", "type 0x5", ""},
		{"callback_object_grant", "O:SYD:P(ZA;;FA;bf967aba-0de6-11d0-a285-00aa003049e2;;SY;(Exists x))", "type 0xb", ""},
		{"audit_in_dacl", "O:SYD:P(A;;FA;;;SY)(AU;SA;FA;;;WD)", "type 0x2", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sec := parseSDDL(t, tc.sddl)
			sec.Self = sidMe
			if tc.self != "" {
				sec.Self = tc.self
			}
			err := checkFileSecurity(sec, nil)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			case err != nil && !strings.Contains(err.Error(), "host rekey"):
				t.Errorf("err = %v, without the advice", err)
			}
		})
	}
}

// Names in messages come from the adapter's lookup.
func TestCheckFileSecurityNames(t *testing.T) {
	sec := parseSDDL(t, "O:U2D:P(A;;FA;;;SY)")
	sec.Self = sidMe
	err := checkFileSecurity(sec, func(sid string) string { return fmt.Sprintf(`HOST\mallory (%s)`, sid) })
	if err == nil || !strings.Contains(err.Error(), `owned by HOST\mallory (`+sidOther+`)`) || !strings.Contains(err.Error(), "/setowner") {
		t.Errorf("err = %v", err)
	}
	if errors.Is(err, ErrNotPrivate) {
		t.Errorf("checkFileSecurity wraps ErrNotPrivate itself; readPrivate does")
	}
}
