package rootpath

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/host"
)

// peImage is the start of a PE image as linkers write it: the DOS header
// ("MZ", e_lfanew at 0x3c pointing past the DOS stub), the stub, and the
// "PE\0\0" signature followed by a COFF header for x86-64.
func peImage() string {
	b := make([]byte, 0x200)
	copy(b, "MZ\x90\x00")
	binary.LittleEndian.PutUint32(b[0x3c:], 0xf8)
	copy(b[0x40:], "This program cannot be run in DOS mode.\r\r\n$")
	copy(b[0xf8:], "PE\x00\x00\x64\x86")
	return string(b)
}

// elfImage is the start of an x86-64 ELF executable.
const elfImage = "\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00"

// Mach-O headers: a thin 64-bit image as on disk (little-endian
// MH_MAGIC_64) and a universal one with two architectures.
const (
	machOThin = "\xcf\xfa\xed\xfe\x07\x00\x00\x01\x03\x00\x00\x00\x02\x00\x00\x00"
	machOFat  = "\xca\xfe\xba\xbe\x00\x00\x00\x02\x01\x00\x00\x07\x00\x00\x00\x03"
	// javaClass shares the universal magic; its version makes it no Mach-O.
	javaClass = "\xca\xfe\xba\xbe\x00\x00\x00\x34\x00\x1d\x0a\x00\x06\x00\x0f\x09"
)

func TestFormat(t *testing.T) {
	pe := peImage()
	badOffset := []byte(pe)
	binary.LittleEndian.PutUint32(badOffset[0x3c:], 0x1000)
	for _, tt := range []struct {
		name string
		head string
		os   host.OS
		want string
	}{
		{"PE on Windows", pe, host.Windows, "PE"},
		{"MZ without a PE header", "MZ" + strings.Repeat("\x00", 0x100), host.Windows, ""},
		{"PE header offset past the head", string(badOffset), host.Windows, ""},
		{"text named like a program", "@echo off\r\nstart avp.exe\r\n", host.Windows, ""},
		{"script on Windows", "#!/bin/sh\n", host.Windows, ""},
		{"ELF on Windows", elfImage, host.Windows, ""},
		{"ELF on Linux", elfImage, host.Linux, "ELF"},
		{"script on Linux", "#!/bin/sh\nexec /opt/kaspersky/kesl/libexec/kesl\n", host.Linux, "script"},
		{"PE on Linux", pe, host.Linux, ""},
		{"empty", "", host.Linux, ""},
		{"one byte", "#", host.Linux, ""},
		{"truncated ELF magic", "\x7fEL", host.Linux, ""},
		{"Mach-O thin", machOThin, host.Darwin, "Mach-O"},
		{"Mach-O 32-bit big-endian", "\xfe\xed\xfa\xce\x00\x00\x00\x12", host.Darwin, "Mach-O"},
		{"Mach-O universal", machOFat, host.Darwin, "Mach-O universal"},
		{"Java class file", javaClass, host.Darwin, ""},
		{"script on macOS", "#!/bin/bash\n", host.Darwin, "script"},
		{"ELF on macOS", elfImage, host.Darwin, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Format([]byte(tt.head), tt.os); got != tt.want {
				t.Errorf("Format = %q, want %q", got, tt.want)
			}
		})
	}
}
