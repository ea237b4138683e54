package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// The ACLs, in SDDL: protected (not inherited from C:\ProgramData, which
// lets every user create files), full control for SYSTEM and
// Administrators. The folder also lets users read and list (0x1200a9:
// read, execute, list), so that `avscout status` and MDM scripts can read
// the service's status; the config and token files give users nothing.
// SDDL and access masks: learn.microsoft.com "Security Descriptor String
// Format" and "File Security and Access Rights".
const (
	dirSDDL  = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)"
	fileSDDL = "D:P(A;;FA;;;SY)(A;;FA;;;BA)"
)

func mkdirPrivate(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return setDACL(dir, dirSDDL)
}

// writePrivate creates name empty, makes it private, then writes it, so
// that the data never sits under the folder's inherited ACL.
func writePrivate(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := setDACL(name, fileSDDL); err != nil {
		f.Close()
		os.Remove(name)
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(name)
		return err
	}
	return f.Close()
}

func setDACL(path, sddl string) error {
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		return fmt.Errorf("parse SDDL %s: %w", sddl, err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return fmt.Errorf("DACL of %s: %w", sddl, err)
	}
	if err := windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
		return fmt.Errorf("set the ACL of %s: %w", path, err)
	}
	return nil
}
