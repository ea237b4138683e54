package host

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"

	"github.com/avscout/avscout/internal/plist"
	"github.com/avscout/avscout/internal/safefs"
)

// Info identifies a host in reports.
type Info struct {
	ID        string // stable across scans and reboots, not the raw machine id
	Hostname  string
	OS        OS
	OSVersion string
	Arch      string
	Root      string
}

// Describe gathers the identity of the host. Missing facts stay empty: a
// report is still useful without an OS version.
func (h *Host) Describe() Info {
	info := Info{OS: h.OS, Root: h.Root}
	if h.Live {
		info.Hostname, _ = os.Hostname()
		info.Arch = runtime.GOARCH
	} else {
		switch h.OS {
		case Windows:
			info.Hostname = windowsHostname(h.Registry)
			info.Arch = "" // set below from the registry when it says
		case Darwin:
			info.Hostname = macHostname(h.FS)
			info.Arch = machOArch(h.FS)
		default:
			info.Hostname = firstLine(readSmall(h.FS, "etc/hostname"))
			info.Arch = elfArch(h.FS)
		}
	}
	switch h.OS {
	case Linux:
		for _, name := range []string{"etc/os-release", "usr/lib/os-release"} {
			f, err := safefs.Open(context.Background(), h.FS, name, safefs.Text)
			if err != nil {
				continue
			}
			rel, _ := ParseOSRelease(f)
			f.Close()
			info.OSVersion = rel.PrettyName
			if info.OSVersion == "" {
				info.OSVersion = strings.TrimSpace(rel.Name + " " + rel.VersionID)
			}
			break
		}
	case Darwin:
		info.OSVersion = macOSVersion(readSmall(h.FS, "System/Library/CoreServices/SystemVersion.plist"))
	}
	var machineID string
	if h.OS == Windows {
		info.OSVersion, machineID = windowsIdentity(h.Registry)
		if !h.Live {
			info.Arch = windowsArch(h.Registry)
		}
	}
	if h.OS == Darwin && !h.Live {
		machineID = macVolumeID(h.FS)
	}
	if machineID == "" {
		machineID = firstLine(readSmall(h.FS, "etc/machine-id"))
	}
	if machineID == "" {
		machineID = firstLine(readSmall(h.FS, "var/lib/dbus/machine-id"))
	}
	info.ID = StableID(machineID, info.Hostname)
	return info
}

// StableID derives the report's host id from the machine id (or, lacking
// one, the hostname), keyed so the raw machine id never leaves the host, as
// machine-id(5) recommends.
func StableID(machineID, hostname string) string {
	seed := machineID
	if seed == "" {
		seed = "hostname:" + hostname
	}
	m := hmac.New(sha256.New, []byte("avscout host id v1"))
	m.Write([]byte(seed))
	s := m.Sum(nil)
	return fmt.Sprintf("%x-%x-%x-%x-%x", s[0:4], s[4:6], s[6:8], s[8:10], s[10:16])
}

// readSmall reads a file of a few lines (a hostname, a machine id, a
// property list of a few keys), nothing when it is missing, not a regular
// file or larger than 64 KiB.
func readSmall(fsys fs.FS, name string) []byte {
	b, _ := safefs.ReadFile(context.Background(), fsys, name, safefs.Small)
	return b
}

func firstLine(b []byte) string {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	return strings.TrimSpace(string(line))
}

// macOSVersion reads ProductName and ProductVersion from SystemVersion.plist.
func macOSVersion(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	v, err := plist.Decode(b, plist.Limits{})
	if err != nil {
		return ""
	}
	d, _ := v.(map[string]any)
	name, _ := d["ProductName"].(string)
	version, _ := d["ProductVersion"].(string)
	return strings.TrimSpace(name + " " + version)
}

// elfArch tells a Linux root's architecture from its shell's ELF header.
func elfArch(fsys fs.FS) string {
	for _, name := range []string{"usr/bin/sh", "bin/sh", "usr/bin/busybox", "bin/busybox"} {
		f, err := safefs.Open(context.Background(), fsys, name, safefs.Executable)
		if err != nil {
			continue
		}
		if !f.RandomAccess() {
			f.Close()
			continue
		}
		e, err := elf.NewFile(f)
		if err != nil {
			f.Close()
			continue
		}
		m := e.Machine
		f.Close()
		switch m {
		case elf.EM_X86_64:
			return "amd64"
		case elf.EM_AARCH64:
			return "arm64"
		case elf.EM_386:
			return "386"
		case elf.EM_ARM:
			return "arm"
		case elf.EM_RISCV:
			return "riscv64"
		case elf.EM_PPC64:
			return "ppc64le"
		case elf.EM_S390:
			return "s390x"
		}
		return strings.ToLower(strings.TrimPrefix(m.String(), "EM_"))
	}
	return ""
}
