package remediate

import (
	"fmt"
	"slices"
)

// Security is what the live check reads of a file's or folder's
// security descriptor: its owner and the entries of its DACL, SIDs in
// their string form ("S-1-5-18").
type Security struct {
	// Self is the SID of the account running the check (the
	// administrator, or SYSTEM): trusted like SYSTEM, since it is who
	// runs the command anyway. Empty when unknown.
	Self  string
	Owner string
	// NullDACL is true when the object has no DACL at all: everyone may
	// do anything with it.
	NullDACL bool
	ACEs     []ACE
}

// ACE is one entry of a DACL.
type ACE struct {
	// Type is "allow", "deny", or another type's name, which the check
	// does not interpret and so does not trust.
	Type string
	SID  string
	Mask uint32
	// InheritOnly entries apply to the children, not to the object.
	InheritOnly bool
}

// The access rights that let their holder change what a program does:
// write or append to it (or add a file, a planted DLL, to its folder),
// delete or replace it (or a child of its folder), change its DACL or
// owner; and the generic rights that include them
// (https://learn.microsoft.com/en-us/windows/win32/fileio/file-access-rights-constants).
const writeRights = 0x2 | 0x4 | 0x40 | 0x10000 | 0x40000 | 0x80000 | 0x10000000 | 0x40000000

// readRights are those that let their holder read a file or list a
// folder: FILE_READ_DATA and GENERIC_READ (GENERIC_ALL is in writeRights).
const readRights = 0x1 | 0x80000000

// trustedSID reports whether sid is one of the principals allowed to
// change an uninstall program the plan runs as administrator: SYSTEM,
// the Administrators group and TrustedInstaller
// (https://learn.microsoft.com/en-us/windows/win32/secauthz/well-known-sids).
func trustedSID(sid string) bool {
	return slices.Contains([]string{
		"S-1-5-18",     // LocalSystem
		"S-1-5-32-544", // BUILTIN\Administrators
		"S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464", // NT SERVICE\TrustedInstaller
	}, sid)
}

// checkWriters says why path, whose security is sec, may be changed by
// someone other than SYSTEM, Administrators and TrustedInstaller: an
// untrusted owner (who may rewrite the DACL), no DACL, an entry of a
// type it does not know, or one granting an untrusted SID a write right.
func checkWriters(path string, sec Security) error {
	return checkAccess(path, sec, writeRights)
}

// checkPrivate is [checkWriters] for a folder that must also not be read
// by anyone else: where msiexec writes the verbose log of a SYSTEM
// uninstall.
func checkPrivate(path string, sec Security) error {
	return checkAccess(path, sec, writeRights|readRights)
}

// checkAccess says why path, whose security is sec, grants one of
// rights to someone other than SYSTEM, Administrators and
// TrustedInstaller (or lets them take such a right, as owner).
func checkAccess(path string, sec Security, rights uint32) error {
	trusted := func(sid string) bool { return trustedSID(sid) || sec.Self != "" && sid == sec.Self }
	if !trusted(sec.Owner) {
		return fmt.Errorf("%s is owned by %s, not SYSTEM, Administrators or TrustedInstaller", path, sec.Owner)
	}
	if sec.NullDACL {
		return fmt.Errorf("%s has no DACL: everyone may change it", path)
	}
	for _, a := range sec.ACEs {
		switch {
		case a.InheritOnly || a.Type == "deny":
		case a.Type != "allow":
			return fmt.Errorf("%s has an access entry of type %s, which the check does not interpret", path, a.Type)
		case a.Mask&rights != 0 && !trusted(a.SID):
			return fmt.Errorf("%s lets %s change or read it (access mask %#x)", path, a.SID, a.Mask)
		}
	}
	return nil
}
