package host

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/avscout/avscout/internal/winreg"
)

// windowsIdentity reads a Windows host's version ("Windows 11 Pro 23H2
// (build 22631)") and machine GUID from its registry; what cannot be read
// stays empty.
func windowsIdentity(r winreg.Registry) (version, machineID string) {
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
		k.Close()
	}
	if k, err := r.OpenKey(winreg.LocalMachine, `SOFTWARE\Microsoft\Cryptography`, winreg.View64); err == nil {
		machineID, _ = winreg.String(k, "MachineGuid")
		k.Close()
	}
	return version, strings.TrimSpace(machineID)
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
