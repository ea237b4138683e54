package rootpath

import "github.com/avscout/avscout/internal/host"

// Format tells what kind of executable a file is from its first bytes
// (up to 4 KiB), as the target OS o would run it: on Windows a PE image
// ("MZ", and "PE\0\0" where its header offset points); on Linux an ELF
// file or a "#!" script; on macOS a Mach-O file, thin or universal, or a
// "#!" script. It returns "" for anything else — a text file, a
// truncated image, an executable for another OS — which is then not
// reported: a file named like a program that cannot run as one is no
// sign of an install.
func Format(head []byte, o host.OS) string {
	switch o {
	case host.Windows:
		if isPE(head) {
			return "PE"
		}
	case host.Linux:
		if len(head) >= 4 && string(head[:4]) == "\x7fELF" {
			return "ELF"
		}
	case host.Darwin:
		if f := machOFormat(head); f != "" {
			return f
		}
	}
	if o != host.Windows && len(head) >= 2 && head[0] == '#' && head[1] == '!' {
		return "script"
	}
	return ""
}

// isPE checks the DOS header's magic and the PE signature it points at.
func isPE(b []byte) bool {
	if len(b) < 0x40 || b[0] != 'M' || b[1] != 'Z' {
		return false
	}
	off := int(uint32(b[0x3c]) | uint32(b[0x3d])<<8 | uint32(b[0x3e])<<16 | uint32(b[0x3f])<<24)
	if off < 0x40 || off > len(b)-4 {
		return false
	}
	return string(b[off:off+4]) == "PE\x00\x00"
}

// machOFormat recognises the Mach-O magics (mach-o/loader.h, fat.h) in
// either byte order. A universal ("fat") header shares its magic with
// Java class files; its architecture count, which a class file's version
// would make 45 or more, tells them apart, as file(1) does.
func machOFormat(b []byte) string {
	if len(b) < 8 {
		return ""
	}
	switch string(b[:4]) {
	case "\xfe\xed\xfa\xce", "\xce\xfa\xed\xfe", "\xfe\xed\xfa\xcf", "\xcf\xfa\xed\xfe":
		return "Mach-O"
	case "\xca\xfe\xba\xbe", "\xca\xfe\xba\xbf":
		n := uint32(b[4])<<24 | uint32(b[5])<<16 | uint32(b[6])<<8 | uint32(b[7])
		if n >= 1 && n < 30 {
			return "Mach-O universal"
		}
	}
	return ""
}
