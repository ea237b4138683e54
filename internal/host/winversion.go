package host

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/avscout/avscout/internal/winreg"
)

// windowsIdentity reads a Windows host's version ("Windows 11 Pro 23H2
// (build 22631)") and machine GUID from its registry, or lacking a GUID
// the installation's identity (see installIdentity); what cannot be read
// stays empty.
func windowsIdentity(r winreg.Registry) (version, machineID string) {
	var install string
	if r == nil {
		return "", ""
	}
	if k, err := r.OpenKey(winreg.LocalMachine, `SOFTWARE\Microsoft\Windows NT\CurrentVersion`, winreg.View64); err == nil {
		get := func(name string) string { s, _ := winreg.String(k, name); return strings.TrimSpace(s) }
		build := get("CurrentBuild")
		if build == "" {
			build = get("CurrentBuildNumber") // Windows before 8.1 has only this
		}
		// The update build revision (UBR): 22631.4317 is 22631 patched.
		if ubr, err := winreg.Uint(k, "UBR"); err == nil && build != "" {
			build = fmt.Sprintf("%s.%d", build, ubr)
		}
		version = windowsVersion(get("ProductName"), get("DisplayVersion"), get("CSDVersion"), build)
		install = installIdentity(get("ProductId"), k)
		k.Close()
	}
	if k, err := r.OpenKey(winreg.LocalMachine, `SOFTWARE\Microsoft\Cryptography`, winreg.View64); err == nil {
		machineID, _ = winreg.String(k, "MachineGuid")
		k.Close()
	}
	if machineID = strings.TrimSpace(machineID); machineID == "" {
		// No machine GUID (an image taken before its first boot, a hive
		// trimmed by a cleaner): the installation's own product id and
		// install time still tell one installation from another, where
		// a constant would give every such image the same host id.
		machineID = install
	}
	return version, machineID
}

// installIdentity names one Windows installation by the product id and
// install time its CurrentVersion key k records; "" when it records none.
func installIdentity(productID string, k winreg.Key) string {
	date, _ := winreg.Uint(k, "InstallDate") // seconds since 1970
	at, _ := winreg.Uint(k, "InstallTime")   // FILETIME, Windows 10 and later
	if productID == "" && date == 0 && at == 0 {
		return ""
	}
	return fmt.Sprintf("windows-install:%s:%d:%d", productID, date, at)
}

// windowsHostname reads the computer name a Windows installation boots
// with from its registry: what a scan of its disk names it by.
func windowsHostname(r winreg.Registry) string {
	if r == nil {
		return ""
	}
	k, err := r.OpenKey(winreg.LocalMachine, `SYSTEM\CurrentControlSet\Control\ComputerName\ComputerName`, winreg.View64)
	if err != nil {
		return ""
	}
	defer k.Close()
	s, _ := winreg.String(k, "ComputerName")
	return strings.TrimSpace(s)
}

// windowsVersion composes the version text. Windows 11 still records its
// ProductName as "Windows 10 …"; its build number (22000 and later) tells.
func windowsVersion(product, display, servicePack, build string) string {
	major, _, _ := strings.Cut(build, ".")
	if n, err := strconv.Atoi(major); err == nil && n >= 22000 && strings.HasPrefix(product, "Windows 10") {
		product = "Windows 11" + strings.TrimPrefix(product, "Windows 10")
	}
	parts := []string{}
	for _, s := range []string{product, display, servicePack} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	v := strings.Join(parts, " ")
	if build != "" {
		v = strings.TrimSpace(fmt.Sprintf("%s (build %s)", v, build))
	}
	return v
}

// windowsArch reads the processor architecture a Windows installation was
// set up for (Session Manager\Environment's PROCESSOR_ARCHITECTURE), as
// Go names it; "" when the registry does not say.
func windowsArch(r winreg.Registry) string {
	if r == nil {
		return ""
	}
	k, err := r.OpenKey(winreg.LocalMachine, `SYSTEM\CurrentControlSet\Control\Session Manager\Environment`, winreg.View64)
	if err != nil {
		return ""
	}
	defer k.Close()
	s, _ := winreg.String(k, "PROCESSOR_ARCHITECTURE")
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "AMD64":
		return "amd64"
	case "ARM64":
		return "arm64"
	case "X86":
		return "386"
	}
	return ""
}
