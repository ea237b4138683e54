package hostile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Case is one hostile input planted in a root beside a Kaspersky product
// that a scan of the root must still report as restricted.
type Case struct {
	Name string
	// OS is the target OS, as --os takes it.
	OS string
	// What the attacker planted, for reports.
	What string
	// Planted is the hostile file, slash separated, relative to the root.
	Planted string
	// Source is the source (or enricher) that reads it, and Item whether
	// the failure is that source's warning (one item lost, the rest seen,
	// and the item could not have been the product) rather than its error
	// (the planted file is the whole database, or a package record that
	// may have been the product).
	Source string
	Item   bool
	// Says is what the warning or error must say about it.
	Says string
	// Product is the catalog id of the planted Kaspersky product.
	Product string
	// Needs names what the case needs beyond this package ("device" when
	// the planted link must lead to a real /dev/zero inside the root,
	// which only root can make; the link is planted anyway).
	Needs string
	// Build lays the root out in dir, which must exist and be empty.
	Build func(dir string) error
}

// Kaspersky products planted beside the hostile files.
const (
	ProductKESL   = "kaspersky-endpoint-security-linux"
	ProductKAVMac = "kaspersky-anti-virus-mac"
	ProductKESWin = "kaspersky-endpoint-security-windows"
)

// Cases returns the hostile corpus, in a fixed order.
func Cases() []Case {
	return []Case{
		{Name: "plist-bomb-binary", OS: "darwin", What: "641-byte-class binary plist bomb (60 levels of arrays, two references each) as an app's Info.plist",
			Planted: "Applications/AAA.app/Contents/Info.plist", Source: "apps", Item: true,
			Says: "expands to more than", Product: ProductKAVMac,
			Build: mac(func(dir string) error { return app(dir, "Applications/AAA.app", PlistBomb(60)) })},
		{Name: "plist-deep-xml", OS: "darwin", What: "4.99 MiB XML plist of nested <array> as a user's LaunchAgent",
			Planted: "Users/bob/Library/LaunchAgents/com.evil.agent.plist", Source: "launchd", Item: true,
			Says: "nested deeper than", Product: ProductKAVMac,
			Build: mac(func(dir string) error {
				return write(dir, "Users/bob/Library/LaunchAgents/com.evil.agent.plist", DeepXMLPlist(5<<20-10<<10))
			})},
		{Name: "plist-fifo", OS: "darwin", What: "named pipe as an app's Info.plist",
			Planted: "Applications/AAA.app/Contents/Info.plist", Source: "apps", Item: true,
			Says: "not a regular file (a named pipe)", Product: ProductKAVMac,
			Build: mac(func(dir string) error {
				if err := app(dir, "Applications/AAA.app", nil); err != nil {
					return err
				}
				return Fifo(filepath.Join(dir, "Applications/AAA.app/Contents/Info.plist"))
			})},
		{Name: "plist-socket", OS: "darwin", What: "unix socket as a LaunchDaemon",
			Planted: "Library/LaunchDaemons/com.evil.sock.plist", Source: "launchd", Item: true,
			Says: "not a regular file (a socket)", Product: ProductKAVMac,
			Build: mac(func(dir string) error {
				return Socket(filepath.Join(dir, "Library/LaunchDaemons/com.evil.sock.plist"))
			})},
		{Name: "plist-devzero", OS: "darwin", What: "symbolic link to /dev/zero as an app's Info.plist",
			Planted: "Applications/AAA.app/Contents/Info.plist", Source: "apps", Item: true,
			Says: "dev/zero: not a regular file (a character device)", Product: ProductKAVMac, Needs: "device",
			Build: mac(func(dir string) error {
				if err := app(dir, "Applications/AAA.app", nil); err != nil {
					return err
				}
				return DevZero(dir, "Applications/AAA.app/Contents/Info.plist")
			})},
		{Name: "plist-sparse-2g", OS: "darwin", What: "2 GiB sparse file as a LaunchDaemon",
			Planted: "Library/LaunchDaemons/com.evil.big.plist", Source: "launchd", Item: true,
			Says: "over the 5 MiB limit", Product: ProductKAVMac,
			Build: mac(func(dir string) error {
				return Sparse(filepath.Join(dir, "Library/LaunchDaemons/com.evil.big.plist"), 2<<30)
			})},

		{Name: "dpkg-status-fifo", OS: "linux", What: "named pipe as var/lib/dpkg/status (KESL in status.d)",
			Planted: "var/lib/dpkg/status", Source: "dpkg",
			Says: "var/lib/dpkg/status: not a regular file (a named pipe)", Product: ProductKESL,
			Build: linux(func(dir string) error {
				if err := write(dir, "var/lib/dpkg/status.d/kesl", []byte(keslStanza)); err != nil {
					return err
				}
				return Fifo(filepath.Join(dir, "var/lib/dpkg/status"))
			})},
		{Name: "dpkg-status-sparse-2g", OS: "linux", What: "2 GiB sparse var/lib/dpkg/status (KESL in status.d)",
			Planted: "var/lib/dpkg/status", Source: "dpkg",
			Says: "over the 512 MiB limit", Product: ProductKESL,
			Build: linux(func(dir string) error {
				if err := write(dir, "var/lib/dpkg/status.d/kesl", []byte(keslStanza)); err != nil {
					return err
				}
				return Sparse(filepath.Join(dir, "var/lib/dpkg/status"), 2<<30)
			})},
		{Name: "dpkg-status-devzero", OS: "linux", What: "var/lib/dpkg/status linked to /dev/zero (KESL in status.d)",
			Planted: "var/lib/dpkg/status", Source: "dpkg",
			Says: "var/lib/dpkg/status", Product: ProductKESL, Needs: "device",
			Build: linux(func(dir string) error {
				if err := write(dir, "var/lib/dpkg/status.d/kesl", []byte(keslStanza)); err != nil {
					return err
				}
				return DevZero(dir, "var/lib/dpkg/status")
			})},
		{Name: "dpkg-statusd-fifo", OS: "linux", What: "named pipe among the status.d entries, beside KESL's",
			Planted: "var/lib/dpkg/status.d/evil", Source: "dpkg", Item: true,
			Says: "var/lib/dpkg/status.d/evil: not a regular file (a named pipe)", Product: ProductKESL,
			Build: linux(func(dir string) error {
				if err := write(dir, "var/lib/dpkg/status.d/kesl", []byte(keslStanza)); err != nil {
					return err
				}
				return Fifo(filepath.Join(dir, "var/lib/dpkg/status.d/evil"))
			})},
		{Name: "apk-installed-fifo", OS: "linux", What: "named pipe as lib/apk/db/installed (KESL in dpkg)",
			Planted: "lib/apk/db/installed", Source: "apk",
			Says: "lib/apk/db/installed: not a regular file (a named pipe)", Product: ProductKESL,
			Build: linux(func(dir string) error {
				if err := write(dir, "var/lib/dpkg/status", []byte(keslStanza)); err != nil {
					return err
				}
				return Fifo(filepath.Join(dir, "lib/apk/db/installed"))
			})},
		{Name: "os-release-fifo", OS: "linux", What: "named pipe as etc/os-release and etc/hostname (KESL in dpkg)",
			Planted: "etc/os-release", Product: ProductKESL,
			Build: func(dir string) error {
				if err := write(dir, "var/lib/dpkg/status", []byte(keslStanza)); err != nil {
					return err
				}
				if err := Fifo(filepath.Join(dir, "etc/os-release")); err != nil {
					return err
				}
				return Fifo(filepath.Join(dir, "etc/hostname"))
			}},
		{Name: "unit-fifo", OS: "linux", What: "named pipe as a systemd unit (KESL in dpkg)",
			Planted: "etc/systemd/system/evil.service", Source: "units", Item: true,
			Says: "evil.service: not a regular file", Product: ProductKESL,
			Build: linux(func(dir string) error {
				if err := write(dir, "var/lib/dpkg/status", []byte(keslStanza)); err != nil {
					return err
				}
				return Fifo(filepath.Join(dir, "etc/systemd/system/evil.service"))
			})},
		{Name: "rpm-header-huge-counts", OS: "linux", What: "rpm ndb database with a 65,535-entry header claiming 2^32-1 strings in 16 MiB without a NUL, beside KESL's",
			Planted: "var/lib/rpm/Packages.db", Source: "rpm",
			Says: "ndb slot 1 (package 2): header tag 1000: string at offset 0 longer than 4096 bytes", Product: ProductKESL,
			Build: linux(func(dir string) error {
				return write(dir, "var/lib/rpm/Packages.db", NDB(KESLHeader(), RPMHeaderHugeCounts()))
			})},
		{Name: "rpm-ndb-huge-slot", OS: "linux", What: "1 GiB sparse rpm ndb database whose second slot claims a 1 GiB blob, beside KESL's",
			Planted: "var/lib/rpm/Packages.db", Source: "rpm",
			Says: "ndb slot 1 (package 2): blob of 1071644672 bytes: over the 64 MiB limit of an rpm header", Product: ProductKESL,
			Build: linux(func(dir string) error {
				db := NDB(KESLHeader())
				NDBHugeSlot(db, 1, 2, 1<<16, (1<<30-2<<20)/ndbBlockSize)
				name := filepath.Join(dir, "var/lib/rpm/Packages.db")
				if err := write(dir, "var/lib/rpm/Packages.db", db); err != nil {
					return err
				}
				return Sparse(name, 1<<30-1<<20)
			})},

		{Name: "pe-quadratic-resources", OS: "windows", What: "1 MiB executable with 4,096 RT_VERSION entries over one 4,096-name directory, in KES's folder",
			Planted: "Program Files (x86)/Kaspersky Lab/KES.12.1/avpsus.exe", Source: "pe", Item: true,
			Says: "version resource: malformed PE image: resource directory at 0x10020 reached twice", Product: ProductKESWin,
			Build: windows(func(dir string) error {
				return write(dir, "Program Files (x86)/Kaspersky Lab/KES.12.1/avpsus.exe", QuadraticResources())
			})},
		{Name: "pe-fifo", OS: "windows", What: "an executable in KES's folder linked to a named pipe",
			Planted: "Program Files (x86)/Kaspersky Lab/KES.12.1/avpsus.exe", Source: "paths", Item: true,
			Says: "not a regular file (a named pipe)", Product: ProductKESWin,
			Build: windows(func(dir string) error {
				pipe := filepath.Join(dir, "Program Files (x86)/Kaspersky Lab/KES.12.1/pipe")
				if err := Fifo(pipe); err != nil {
					return err
				}
				return os.Symlink("pipe", filepath.Join(dir, "Program Files (x86)/Kaspersky Lab/KES.12.1/avpsus.exe"))
			})},
	}
}

// keslStanza is KESL's record in a dpkg status file.
const keslStanza = `Package: kesl
Status: install ok installed
Priority: optional
Section: non-free/admin
Maintainer: AO Kaspersky Lab <support@kaspersky.com>
Architecture: amd64
Version: 12.1.0-2968
Description: Kaspersky Endpoint Security for Linux

`

// linux wraps a case's builder: a Debian root with os-release and
// hostname, then the case's files.
func linux(then func(string) error) func(string) error {
	return func(dir string) error {
		if err := write(dir, "etc/os-release", []byte("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n")); err != nil {
			return err
		}
		if err := write(dir, "etc/hostname", []byte("hostile\n")); err != nil {
			return err
		}
		return then(dir)
	}
}

// mac wraps a case's builder: a macOS root with SystemVersion.plist and
// Kaspersky Anti-Virus in /Applications, then the case's files.
func mac(then func(string) error) func(string) error {
	return func(dir string) error {
		sv := []byte(`<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict><key>ProductName</key><string>macOS</string><key>ProductVersion</key><string>14.2.1</string></dict></plist>
`)
		if err := write(dir, "System/Library/CoreServices/SystemVersion.plist", sv); err != nil {
			return err
		}
		if err := app(dir, "Applications/Kaspersky Anti-Virus.app",
			InfoPlistXML("com.kaspersky.kav", "Kaspersky Anti-Virus", "21.0.29", "Kaspersky Anti-Virus")); err != nil {
			return err
		}
		return then(dir)
	}
}

// windows wraps a case's builder: a Windows root with its kernel, and
// Kaspersky Endpoint Security's command-line tool in its program folder,
// then the case's files.
func windows(then func(string) error) func(string) error {
	return func(dir string) error {
		if err := write(dir, "Windows/System32/ntoskrnl.exe", PE(nil, 4096)); err != nil {
			return err
		}
		if err := write(dir, "Program Files (x86)/Kaspersky Lab/KES.12.1/kescli.exe", PE(nil, 4096)); err != nil {
			return err
		}
		return then(dir)
	}
}

// app writes a bundle dir with an Info.plist (none when nil) and a
// Mach-O executable named after the bundle.
func app(dir, bundle string, info []byte) error {
	if info != nil {
		if err := write(dir, bundle+"/Contents/Info.plist", info); err != nil {
			return err
		}
	} else if err := os.MkdirAll(filepath.Join(dir, bundle, "Contents"), 0o755); err != nil {
		return err
	}
	name := filepath.Base(bundle)
	name = name[:len(name)-len(filepath.Ext(name))]
	return write(dir, bundle+"/Contents/MacOS/"+name, MachO())
}

// MachO is the smallest thin 64-bit arm64 Mach-O executable: a header
// without load commands, so unsigned.
func MachO() []byte {
	b := make([]byte, 32)
	binary.LittleEndian.PutUint32(b[0:], 0xfeedfacf)
	binary.LittleEndian.PutUint32(b[4:], 0x0100000c) // CPU_TYPE_ARM64
	binary.LittleEndian.PutUint32(b[12:], 2)         // MH_EXECUTE
	return b
}

// write writes b to name (slash separated) under dir.
func write(dir, name string, b []byte) error {
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, b, 0o644)
}

// Sparse makes name a file of size bytes that takes no disk space.
func Sparse(name string, size int64) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// DevZero makes name (under dir) a symbolic link to /dev/zero and, when
// this process may (it runs as root on Linux), dir/dev/zero the real
// device, so the link leads to a device inside the root as it would on a
// live system or a mounted image. It reports ErrNoDevice when it could
// not make the device; the link is made anyway.
func DevZero(dir, name string) error {
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := os.Symlink("/dev/zero", p); err != nil {
		return err
	}
	if err := mknodZero(filepath.Join(dir, "dev", "zero")); err != nil {
		return fmt.Errorf("%w: %w", ErrNoDevice, err)
	}
	return nil
}

// ErrNoDevice means a device node could not be made in a root.
var ErrNoDevice = errors.New("cannot make a device node")

// Records is a package database text in the record format of dpkg's
// status file (or, with apk's "X:" keys, its installed database) that a
// parser must step over: KESL's record, a line longer than any the
// parsers read whole, binary data, a record of continuation lines only
// and 1,000 empty fields.
func Records(apk bool) []byte {
	var b []byte
	if apk {
		b = append(b, "P:kesl\nV:12.1.0.2968-r0\nm:AO Kaspersky Lab <support@kaspersky.com>\n\n"...)
		b = append(b, "P:"...)
	} else {
		b = append(b, keslStanza...)
		b = append(b, "Package: "...)
	}
	b = append(b, make([]byte, 70<<10)...) // past the 64 KiB line bound, NULs
	b = append(b, '\n', '\n')
	for range 200 {
		b = append(b, " continued\n"...)
	}
	b = append(b, '\n')
	for range 1000 {
		if apk {
			b = append(b, "a:\n"...)
		} else {
			b = append(b, "X:\n"...)
		}
	}
	return b
}

// MachOFat is a universal Mach-O file of n slices that all point at one
// thin header claiming claims bytes of load commands in 8-byte commands.
// The file holds them (zeros): each slice costs the parser a read of the
// claimed load commands.
func MachOFat(n int, claims uint32) []byte {
	const thinAt = 4096
	b := make([]byte, thinAt+32+int(claims))
	binary.BigEndian.PutUint32(b[0:], 0xcafebabe)
	binary.BigEndian.PutUint32(b[4:], uint32(n))
	for i := range n {
		e := b[8+20*i:]
		binary.BigEndian.PutUint32(e[0:], 0x0100000c)
		binary.BigEndian.PutUint32(e[8:], thinAt)
		binary.BigEndian.PutUint32(e[12:], uint32(32+claims))
	}
	thin := b[thinAt:]
	binary.LittleEndian.PutUint32(thin[0:], 0xfeedfacf)
	binary.LittleEndian.PutUint32(thin[4:], 0x0100000c)
	binary.LittleEndian.PutUint32(thin[12:], 2)
	binary.LittleEndian.PutUint32(thin[16:], claims/8)
	binary.LittleEndian.PutUint32(thin[20:], claims)
	return b
}
