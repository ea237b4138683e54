package agentkey

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// FileSDDL is the key file's security descriptor: a protected DACL (not
// inherited from the state folder, which lets users read the status)
// granting full control to SYSTEM and Administrators only. SDDL:
// learn.microsoft.com "Security Descriptor String Format".
const FileSDDL = "D:P(A;;FA;;;SY)(A;;FA;;;BA)"

// openNoFollow opens path for reading; a reparse point (symbolic link,
// junction) or a folder is opened itself, and then refused as not a
// regular file.
func openNoFollow(path string) (*os.File, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ|windows.READ_CONTROL,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_DELETE, nil, windows.OPEN_EXISTING,
		windows.FILE_ATTRIBUTE_NORMAL|windows.FILE_FLAG_OPEN_REPARSE_POINT|windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}

// checkPrivate refuses a key file whose DACL lets anyone but SYSTEM and
// Administrators in (or that has no DACL, which lets everyone in). An
// entry for the file's owner is allowed too when that owner is this
// process's own user: the creator of the file, who holds the key anyway.
// (Wine keeps no DACL: it shows one made from the Unix mode, granting
// SYSTEM and the prefix's user, plus Everyone when others may read.)
func checkPrivate(f *os.File, _ fs.FileInfo) error {
	sd, err := windows.GetSecurityInfo(windows.Handle(f.Fd()), windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("read its ACL: %w", err)
	}
	var self *windows.SID
	if owner, _, err := sd.Owner(); err == nil && owner != nil {
		if u, err := windows.GetCurrentProcessToken().GetTokenUser(); err == nil && windows.EqualSid(owner, u.User.Sid) {
			self = owner
		}
	}
	dacl, _, err := sd.DACL()
	if err != nil || dacl == nil {
		return errors.New("it has no DACL, so everyone may read it: delete it (a new key is made, and an administrator must run `avscout-collector host rekey`)")
	}
	for i := range uint32(dacl.AceCount) {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return fmt.Errorf("read its ACL entry %d: %w", i, err)
		}
		if ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE || ace.Mask == 0 {
			continue // deny entries and empty grants take nothing away from privacy
		}
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
		if sid.IsWellKnown(windows.WinLocalSystemSid) || sid.IsWellKnown(windows.WinBuiltinAdministratorsSid) ||
			self != nil && windows.EqualSid(sid, self) {
			continue
		}
		who := sid.String()
		if acct, dom, _, err := sid.LookupAccount(""); err == nil {
			if dom != "" {
				acct = dom + `\` + acct
			}
			who = acct + " (" + who + ")"
		}
		return fmt.Errorf("its ACL grants %s access, so it may have been copied: if it was not, restrict it to "+
			"SYSTEM and Administrators (icacls FILE /inheritance:r /grant:r SYSTEM:F Administrators:F); otherwise "+
			"delete it (a new key is made, and an administrator must run `avscout-collector host rekey`)", who)
	}
	return nil
}

// securityAttributes create a file with [FileSDDL].
func securityAttributes() (*windows.SecurityAttributes, error) {
	sd, err := windows.SecurityDescriptorFromString(FileSDDL)
	if err != nil {
		return nil, fmt.Errorf("parse SDDL %s: %w", FileSDDL, err)
	}
	sa := &windows.SecurityAttributes{SecurityDescriptor: sd}
	sa.Length = uint32(unsafe.Sizeof(*sa))
	return sa, nil
}

// writeNew writes data to path only if path does not exist: to a
// temporary file created with the private DACL from the start, flushed,
// then moved to path without replacing (fs.ErrExist if it is there).
func writeNew(path string, data []byte) error {
	sa, err := securityAttributes()
	if err != nil {
		return err
	}
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	tmp := path + "." + hex.EncodeToString(rnd[:]) + ".tmp"
	p, err := windows.UTF16PtrFromString(tmp)
	if err != nil {
		return err
	}
	h, err := windows.CreateFile(p, windows.GENERIC_WRITE, 0, sa, windows.CREATE_NEW,
		windows.FILE_ATTRIBUTE_NORMAL|windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
	if err != nil {
		return &fs.PathError{Op: "create", Path: tmp, Err: err}
	}
	f := os.NewFile(uintptr(h), tmp)
	defer os.Remove(tmp) // fails harmlessly after the move
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	return moveNoReplace(tmp, path)
}

// moveNoReplace renames from to to, failing with fs.ErrExist when to
// exists.
func moveNoReplace(from, to string) error {
	pf, err := windows.UTF16PtrFromString(from)
	if err != nil {
		return err
	}
	pt, err := windows.UTF16PtrFromString(to)
	if err != nil {
		return err
	}
	if err := windows.MoveFileEx(pf, pt, windows.MOVEFILE_WRITE_THROUGH); err != nil {
		if errors.Is(err, windows.ERROR_ALREADY_EXISTS) || errors.Is(err, windows.ERROR_FILE_EXISTS) {
			return fmt.Errorf("create %s: %w", to, fs.ErrExist)
		}
		return &os.LinkError{Op: "move", Old: from, New: to, Err: err}
	}
	return nil
}

// linkBack puts the file at from back at to, unless to exists.
func linkBack(from, to string) error { return moveNoReplace(from, to) }
