package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// The security descriptors, in SDDL: owner SYSTEM, protected DACL (not
// inherited from C:\ProgramData, which lets every user create files), full
// control for SYSTEM and Administrators. The folder also lets users read
// and list (0x1200a9: read, execute, list), so that `avscout status` and
// MDM scripts can read the service's status; the config and token files
// give users nothing. SDDL and access masks: learn.microsoft.com "Security
// Descriptor String Format" and "File Security and Access Rights".
const (
	dirSDDL  = "O:SYD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)"
	fileSDDL = "O:SYD:P(A;;FA;;;SY)(A;;FA;;;BA)"
)

// securityAttributes are the attributes that create an object with the
// security descriptor sddl.
func securityAttributes(sddl string) (*windows.SecurityAttributes, error) {
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		return nil, fmt.Errorf("parse SDDL %s: %w", sddl, err)
	}
	sa := &windows.SecurityAttributes{SecurityDescriptor: sd}
	sa.Length = uint32(unsafe.Sizeof(*sa))
	return sa, nil
}

// mkdirPrivate creates dir with owner SYSTEM and the private DACL, or, when
// it exists, checks that it is a real folder (no junction or symbolic link)
// owned by SYSTEM or Administrators and resets its owner and DACL. A folder
// that fails the check is refused, not repaired: whoever made it could
// have put anything in it (README.md, "A pre-existing config folder").
// The checks and the reset go through one handle opened without following
// a reparse point, so the folder cannot be swapped between them.
func mkdirPrivate(dir string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return err
	}
	sa, err := securityAttributes(dirSDDL)
	if err != nil {
		return err
	}
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return err
	}
	created := true
	if err := windows.CreateDirectory(p, sa); err != nil {
		if !errors.Is(err, windows.ERROR_ALREADY_EXISTS) {
			return err
		}
		created = false
	}
	h, err := openNoFollow(dir, windows.READ_CONTROL|windows.WRITE_DAC|windows.WRITE_OWNER)
	if err != nil {
		return err
	}
	defer windows.CloseHandle(h)
	var fi windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &fi); err != nil {
		return fmt.Errorf("attributes: %w", err)
	}
	if fi.FileAttributes&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0 {
		return fmt.Errorf("%s is a junction or symbolic link, not a folder: refusing to install through it (delete it, then install again)", dir)
	}
	if fi.FileAttributes&windows.FILE_ATTRIBUTE_DIRECTORY == 0 {
		return fmt.Errorf("%s is not a folder", dir)
	}
	if !created {
		if err := checkOwner(h, dir); err != nil {
			return err
		}
	}
	owner, _, err := sa.SecurityDescriptor.Owner()
	if err != nil {
		return err
	}
	dacl, _, err := sa.SecurityDescriptor.DACL()
	if err != nil {
		return err
	}
	if err := windows.SetSecurityInfo(h, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION,
		owner, nil, dacl, nil); err != nil {
		return fmt.Errorf("set the owner and ACL of %s: %w", dir, err)
	}
	return nil
}

// openNoFollow opens a file or folder itself, a reparse point included.
func openNoFollow(name string, access uint32) (windows.Handle, error) {
	p, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return 0, err
	}
	h, err := windows.CreateFile(p, access|windows.FILE_READ_ATTRIBUTES,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, nil,
		windows.OPEN_EXISTING, windows.FILE_FLAG_BACKUP_SEMANTICS|windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
	if err != nil {
		return 0, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return h, nil
}

// checkOwner refuses an object whose owner is not SYSTEM, Administrators
// or the helper's own user.
func checkOwner(h windows.Handle, name string) error {
	sd, err := windows.GetSecurityInfo(h, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("owner of %s: %w", name, err)
	}
	owner, _, err := sd.Owner()
	if err != nil || owner == nil {
		return fmt.Errorf("owner of %s: %v", name, err)
	}
	if owner.IsWellKnown(windows.WinLocalSystemSid) || owner.IsWellKnown(windows.WinBuiltinAdministratorsSid) {
		return nil
	}
	// The helper's own user: as the MSI's custom action that is
	// LocalSystem, i.e. SYSTEM again; it differs only when an
	// administrator runs the helper by hand (their own files) and under
	// Wine, which runs everything as the prefix's user and does not keep
	// the owner set below.
	if u, err := windows.GetCurrentProcessToken().GetTokenUser(); err == nil && windows.EqualSid(owner, u.User.Sid) {
		return nil
	}
	who := owner.String()
	if acct, dom, _, err := owner.LookupAccount(""); err == nil {
		who = dom + `\` + acct + " (" + who + ")"
	}
	return fmt.Errorf("%s already exists and is owned by %s, not by SYSTEM or Administrators: refusing to trust it (check it, delete it, then install again)", name, who)
}

// checkOwned refuses name if it is a reparse point or is not owned by
// SYSTEM or Administrators.
func checkOwned(name string) error {
	h, err := openNoFollow(name, windows.READ_CONTROL)
	if err != nil {
		return err
	}
	defer windows.CloseHandle(h)
	var fi windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &fi); err != nil {
		return fmt.Errorf("attributes of %s: %w", name, err)
	}
	if fi.FileAttributes&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0 {
		return fmt.Errorf("%s is a junction or symbolic link: refusing to trust it (check it, delete it, then install again)", name)
	}
	return checkOwner(h, name)
}

// writePrivate creates name, which must not exist, with owner SYSTEM and
// the private DACL from the start, then writes it, so that the data never
// sits under the folder's inherited ACL.
func writePrivate(name string, data []byte) error {
	sa, err := securityAttributes(fileSDDL)
	if err != nil {
		return err
	}
	p, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return err
	}
	h, err := windows.CreateFile(p, windows.GENERIC_WRITE, 0, sa, windows.CREATE_NEW,
		windows.FILE_ATTRIBUTE_NORMAL|windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
	if err != nil {
		return &fs.PathError{Op: "create", Path: name, Err: err}
	}
	f := os.NewFile(uintptr(h), name)
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(name)
		return err
	}
	return f.Close()
}

// isLink says whether an os.Lstat result is a reparse point (junction,
// symbolic link or other), which purge deletes itself, never entering it.
func isLink(fi fs.FileInfo) bool {
	if fi.Mode()&(fs.ModeSymlink|fs.ModeIrregular) != 0 {
		return true
	}
	if a, ok := fi.Sys().(*syscall.Win32FileAttributeData); ok {
		return a.FileAttributes&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0
	}
	return false
}
