package agentkey

import (
	"errors"
	"fmt"
)

// The decision whether a Windows key file is private, over its security
// descriptor as the Windows adapter (file_windows.go) reads it: pure, so
// that it is tested on every OS. Types and SIDs: [MS-DTYP] 2.4.4.1
// (ACE_HEADER) and 2.4.2.4 (well-known SIDs).

// Well-known SIDs a key file may be owned by, and grant access to.
const (
	sidSystem         = "S-1-5-18"
	sidAdministrators = "S-1-5-32-544"
)

// ACE types ([MS-DTYP] 2.4.4.1).
const (
	aceAllowed               = 0x00
	aceDenied                = 0x01
	aceAllowedCompound       = 0x04
	aceAllowedObject         = 0x05
	aceDeniedObject          = 0x06
	aceAllowedCallback       = 0x09 // conditional ACEs are callback ACEs
	aceDeniedCallback        = 0x0A
	aceAllowedCallbackObject = 0x0B
	aceDeniedCallbackObject  = 0x0C
)

// aclEntry is one entry of a DACL.
type aclEntry struct {
	Type uint8
	Mask uint32
	// SID is the trustee, "S-1-…"; "" when the adapter does not read it
	// (object and compound entries, which files do not use).
	SID string
}

// fileSecurity is what decides whether a key file is private.
type fileSecurity struct {
	Owner string // the file's owner SID, "" if unknown
	Self  string // the SID of the user running the agent, "" if unknown
	// NullDACL: the file has no DACL, which lets everyone in.
	NullDACL bool
	DACL     []aclEntry
}

// aclAdvice ends the errors of a key file that may have been copied or
// planted.
const aclAdvice = "delete it (a new key is made, and an administrator must run `avscout-collector host rekey`)"

// checkFileSecurity refuses a key file that someone other than SYSTEM,
// Administrators and the user running the agent may read, or may have
// planted:
//   - its owner must be SYSTEM, Administrators or the agent's own user
//     (an owner can always read the file's ACL and rewrite it; one who
//     planted the file knows the key, whatever its ACL says);
//   - it must have a DACL;
//   - every entry that grants something must name SYSTEM, Administrators,
//     or the owner when that is the agent's own user. Callback
//     (conditional) entries grant like plain ones; object, compound and
//     unknown entry types are refused, as files do not carry them. Deny
//     entries and empty grants take nothing away from privacy.
//
// name renders a SID for the message (nil: the SID itself).
func checkFileSecurity(sec fileSecurity, name func(sid string) string) error {
	if name == nil {
		name = func(sid string) string { return sid }
	}
	switch sec.Owner {
	case "":
		return errors.New("its owner cannot be read: " + aclAdvice)
	case sidSystem, sidAdministrators, sec.Self:
	default:
		return fmt.Errorf("it is owned by %s, not by SYSTEM, Administrators or the user running the agent, so it may have been "+
			"planted or copied: if it was not, give it to Administrators (icacls FILE /setowner Administrators); otherwise %s",
			name(sec.Owner), aclAdvice)
	}
	if sec.NullDACL {
		return errors.New("it has no DACL, so everyone may read it: " + aclAdvice)
	}
	for i, e := range sec.DACL {
		switch e.Type {
		case aceDenied, aceDeniedObject, aceDeniedCallback, aceDeniedCallbackObject:
			continue
		}
		if e.Mask == 0 {
			continue
		}
		switch e.Type {
		case aceAllowed, aceAllowedCallback:
		default:
			return fmt.Errorf("its ACL entry %d is of type %#x, which the agent does not read: restrict it to "+
				"SYSTEM and Administrators (icacls FILE /inheritance:r /grant:r SYSTEM:F Administrators:F), or %s", i, e.Type, aclAdvice)
		}
		switch {
		case e.SID == sidSystem, e.SID == sidAdministrators, e.SID != "" && e.SID == sec.Self && sec.Owner == sec.Self:
			continue
		}
		who := "an unknown trustee"
		if e.SID != "" {
			who = name(e.SID)
		}
		kind := ""
		if e.Type == aceAllowedCallback {
			kind = " (conditionally)"
		}
		return fmt.Errorf("its ACL grants %s access%s, so it may have been copied: if it was not, restrict it to "+
			"SYSTEM and Administrators (icacls FILE /inheritance:r /grant:r SYSTEM:F Administrators:F); otherwise %s", who, kind, aclAdvice)
	}
	return nil
}
