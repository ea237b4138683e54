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
		version = windowsVersion(get("ProductName"), get("DisplayVersion"), get("CSDVersion"), get("CurrentBuild"))
		k.Close()
	}
	if k, err := r.OpenKey(winreg.LocalMachine, `SOFTWARE\Microsoft\Cryptography`, winreg.View64); err == nil {
		machineID, _ = winreg.String(k, "MachineGuid")
		k.Close()
	}
	return version, strings.TrimSpace(machineID)
}

// windowsVersion composes the version text. Windows 11 still records its
// ProductName as "Windows 10 …"; its build number (22000 and later) tells.
func windowsVersion(product, display, servicePack, build string) string {
	if n, err := strconv.Atoi(build); err == nil && n >= 22000 && strings.HasPrefix(product, "Windows 10") {
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
