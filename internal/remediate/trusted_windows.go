//go:build windows

package remediate

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/windows"
)

// ProgramCheck returns the live check [ExecOptions.CheckProgram] makes
// right before an uninstall program runs: the program is a regular file
// (no link, junction or other reparse point), and neither it nor its
// folder can be changed by anyone but SYSTEM, Administrators and
// TrustedInstaller.
func ProgramCheck() func(string) error {
	return func(path string) error {
		fi, err := os.Lstat(path)
		if err != nil {
			return fmt.Errorf("uninstall program: %w", err)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("uninstall program %s is not a regular file (%s)", path, fi.Mode().Type())
		}
		for _, p := range []string{path, filepath.Dir(path)} {
			sec, err := securityOf(p)
			if err != nil {
				return err
			}
			if err := checkWriters(p, sec); err != nil {
				return err
			}
		}
		return nil
	}
}

// logDirSDDL is the security descriptor of the msiexec log folder: a
// protected DACL (nothing inherited) giving SYSTEM and Administrators
// full control, to the folder and what is created in it. SDDL:
// learn.microsoft.com "Security Descriptor String Format".
const logDirSDDL = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"

// PrepareLogDir returns the [ExecOptions.PrepareLogDir] of Windows: it
// creates the folder with [logDirSDDL] (its parent as usual), or, when it
// is there, checks that it is a plain folder (no junction) only SYSTEM
// and Administrators can read or change.
func PrepareLogDir() func(string) error {
	return func(dir string) error {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return fmt.Errorf("msiexec log folder: %w", err)
		}
		sd, err := windows.SecurityDescriptorFromString(logDirSDDL)
		if err != nil {
			return fmt.Errorf("parse SDDL %s: %w", logDirSDDL, err)
		}
		sa := &windows.SecurityAttributes{SecurityDescriptor: sd}
		sa.Length = uint32(unsafe.Sizeof(*sa))
		p, err := windows.UTF16PtrFromString(dir)
		if err != nil {
			return fmt.Errorf("msiexec log folder %s: %w", dir, err)
		}
		if err := windows.CreateDirectory(p, sa); err != nil && !errors.Is(err, windows.ERROR_ALREADY_EXISTS) {
			return fmt.Errorf("create msiexec log folder %s: %w", dir, err)
		}
		fi, err := os.Lstat(dir)
		if err != nil {
			return fmt.Errorf("msiexec log folder: %w", err)
		}
		if !fi.IsDir() || fi.Mode()&os.ModeSymlink != 0 || fi.Mode()&os.ModeIrregular != 0 {
			return fmt.Errorf("msiexec log folder %s is not a plain folder (%s)", dir, fi.Mode().Type())
		}
		sec, err := securityOf(dir)
		if err != nil {
			return err
		}
		return checkPrivate(dir, sec)
	}
}

// securityOf reads the owner and DACL of the file or folder p.
func securityOf(p string) (Security, error) {
	sd, err := windows.GetNamedSecurityInfo(p, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return Security{}, fmt.Errorf("read the security of %s: %w", p, err)
	}
	var sec Security
	if u, err := windows.GetCurrentProcessToken().GetTokenUser(); err == nil {
		sec.Self = u.User.Sid.String()
	}
	owner, _, err := sd.Owner()
	if err != nil || owner == nil {
		return Security{}, fmt.Errorf("read the owner of %s: %w", p, err)
	}
	sec.Owner = owner.String()
	dacl, _, err := sd.DACL()
	switch {
	case errors.Is(err, windows.ERROR_OBJECT_NOT_FOUND) || err == nil && dacl == nil:
		sec.NullDACL = true
		return sec, nil
	case err != nil:
		return Security{}, fmt.Errorf("read the DACL of %s: %w", p, err)
	}
	for i := range uint32(dacl.AceCount) {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return Security{}, fmt.Errorf("read access entry %d of %s: %w", i, p, err)
		}
		a := ACE{Mask: uint32(ace.Mask), InheritOnly: ace.Header.AceFlags&windows.INHERIT_ONLY_ACE != 0}
		switch ace.Header.AceType {
		case windows.ACCESS_ALLOWED_ACE_TYPE:
			a.Type = "allow"
		case windows.ACCESS_DENIED_ACE_TYPE:
			a.Type = "deny"
		default:
			a.Type = fmt.Sprintf("%d", ace.Header.AceType)
		}
		if a.Type == "allow" || a.Type == "deny" {
			a.SID = (*windows.SID)(unsafe.Pointer(&ace.SidStart)).String()
		}
		sec.ACEs = append(sec.ACEs, a)
	}
	return sec, nil
}
