// Package pe reads what a Windows executable says about itself: the
// version resource (CompanyName, ProductName, OriginalFilename…) and the
// Authenticode signature (who signed it, and whether the signature still
// matches the file), and provides the "pe" enricher that does so for every
// executable the other sources point at.
//
// It exists because names lie and signatures do not: a white-labelled build
// can call itself anything, but only Kaspersky can sign with Kaspersky's
// certificate, and version resources are kept by integrators far more
// often than not. Everything here is pure Go over an [io.ReaderAt], so the
// Windows parsing runs in `go test` on Linux against files signed by
// osslsigncode; only the optional chain-trust question goes to the OS
// (WinVerifyTrust, in trust_windows.go).
//
// The parsers are written for hostile input: every count, offset and size
// read from a file is checked against the file and against fixed caps
// before it is used, nothing recurses on file data, and a file is never
// read whole into memory. The package knows no vendor.
package pe

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Errors returned by [Open], [Image.VersionInfo] and [Image.Signatures].
var (
	// ErrNotPE means the file is not a PE image (no MZ/PE signatures, or
	// no optional header: an object file).
	ErrNotPE = errors.New("not a PE image")
	// ErrMalformed means the file claims to be a PE image but its
	// structures do not fit the file or the caps.
	ErrMalformed = errors.New("malformed PE image")
	// ErrNoVersionInfo means the image has no RT_VERSION resource.
	ErrNoVersionInfo = errors.New("no version resource")
	// ErrNotSigned means the image has no embedded Authenticode signature
	// (it may still be signed through a Windows catalog file).
	ErrNotSigned = errors.New("no embedded signature")
)

// Caps on what a header may claim. The Windows loader refuses more than 96
// sections; the others are far above anything real.
const (
	maxSections           = 96
	maxOptionalHeaderSize = 4096
	maxDataDirectories    = 16
)

// Offsets inside the optional header, the same for PE32 and PE32+.
const (
	checksumOffset = 64  // OptionalHeader.CheckSum
	dirsOffset32   = 96  // DataDirectory[0] in a PE32 optional header
	dirsOffset64   = 112 // DataDirectory[0] in a PE32+ optional header
	dataDirSize    = 8
)

// Data directory indexes.
const (
	dirResource = pe.IMAGE_DIRECTORY_ENTRY_RESOURCE // 2
	dirSecurity = pe.IMAGE_DIRECTORY_ENTRY_SECURITY // 4
)

// Image is an opened PE file: its headers, parsed and checked, and the
// reader to fetch the rest from on demand.
type Image struct {
	r    io.ReaderAt
	size int64

	// Machine is the COFF machine type (pe.IMAGE_FILE_MACHINE_AMD64, …).
	Machine uint16
	// Characteristics are the COFF characteristics (pe.IMAGE_FILE_DLL, …).
	Characteristics uint16
	// Is64 is true for a PE32+ image.
	Is64 bool

	sizeOfHeaders uint32
	fileAlignment uint32
	sections      []pe.SectionHeader32
	dirs          []pe.DataDirectory

	checksumOff int64 // file offset of OptionalHeader.CheckSum
	secDirOff   int64 // file offset of DataDirectory[4]; -1 when the header has no room for it
}

// Open reads the headers of the PE image in r, which holds size bytes. It
// uses debug/pe's header types but not [pe.NewFile], which also reads the
// COFF symbol table: a hostile NumberOfSymbols makes it decode symbols one
// reflective read at a time up to the end of the file, while an image needs
// none of them.
func Open(r io.ReaderAt, size int64) (*Image, error) {
	img := &Image{r: r, size: size, secDirOff: -1}
	var dos [64]byte
	if err := img.readFull(dos[:], 0); err != nil || dos[0] != 'M' || dos[1] != 'Z' {
		return nil, ErrNotPE
	}
	peOff := int64(binary.LittleEndian.Uint32(dos[0x3c:]))
	var sig [4 + 20]byte
	if err := img.readFull(sig[:], peOff); err != nil || !bytes.Equal(sig[:4], []byte("PE\x00\x00")) {
		return nil, ErrNotPE
	}
	var fh pe.FileHeader
	if _, err := binary.Decode(sig[4:], binary.LittleEndian, &fh); err != nil {
		return nil, fmt.Errorf("%w: file header: %w", ErrMalformed, err)
	}
	if fh.SizeOfOptionalHeader < 2 {
		return nil, ErrNotPE // an object file
	}
	if fh.NumberOfSections > maxSections {
		return nil, fmt.Errorf("%w: %d sections (at most %d)", ErrMalformed, fh.NumberOfSections, maxSections)
	}
	img.Machine, img.Characteristics = fh.Machine, fh.Characteristics

	optOff := peOff + 4 + 20
	ohSize := min(int64(fh.SizeOfOptionalHeader), maxOptionalHeaderSize)
	oh := make([]byte, ohSize)
	if err := img.readFull(oh, optOff); err != nil {
		return nil, fmt.Errorf("%w: optional header: %w", ErrMalformed, err)
	}
	// Decode into debug/pe's types from a zero-padded copy, so a short
	// header reads as zeros rather than failing: NumberOfRvaAndSizes and
	// the header's real size decide which directories exist.
	padded := make([]byte, max(len(oh), binary.Size(pe.OptionalHeader64{})))
	copy(padded, oh)
	var dirsAt int64
	var numDirs uint32
	var all [16]pe.DataDirectory
	switch magic := binary.LittleEndian.Uint16(oh); magic {
	case 0x10b:
		var h pe.OptionalHeader32
		if _, err := binary.Decode(padded, binary.LittleEndian, &h); err != nil {
			return nil, fmt.Errorf("%w: optional header: %w", ErrMalformed, err)
		}
		dirsAt, numDirs, all = dirsOffset32, h.NumberOfRvaAndSizes, h.DataDirectory
		img.sizeOfHeaders, img.fileAlignment = h.SizeOfHeaders, h.FileAlignment
	case 0x20b:
		var h pe.OptionalHeader64
		if _, err := binary.Decode(padded, binary.LittleEndian, &h); err != nil {
			return nil, fmt.Errorf("%w: optional header: %w", ErrMalformed, err)
		}
		dirsAt, numDirs, all = dirsOffset64, h.NumberOfRvaAndSizes, h.DataDirectory
		img.sizeOfHeaders, img.fileAlignment = h.SizeOfHeaders, h.FileAlignment
		img.Is64 = true
	default:
		return nil, fmt.Errorf("%w: optional header magic %#x", ErrMalformed, magic)
	}
	if ohSize < dirsAt {
		return nil, fmt.Errorf("%w: optional header of %d bytes", ErrMalformed, ohSize)
	}
	fit := uint32((ohSize - dirsAt) / dataDirSize)
	n := min(numDirs, fit, maxDataDirectories)
	img.dirs = all[:n]
	img.checksumOff = optOff + checksumOffset
	if n > dirSecurity {
		img.secDirOff = optOff + dirsAt + dirSecurity*dataDirSize
	}

	secOff := optOff + int64(fh.SizeOfOptionalHeader)
	raw := make([]byte, int(fh.NumberOfSections)*40)
	if err := img.readFull(raw, secOff); err != nil {
		return nil, fmt.Errorf("%w: section table: %w", ErrMalformed, err)
	}
	img.sections = make([]pe.SectionHeader32, fh.NumberOfSections)
	if _, err := binary.Decode(raw, binary.LittleEndian, img.sections); err != nil {
		return nil, fmt.Errorf("%w: section table: %w", ErrMalformed, err)
	}
	return img, nil
}

// Size is the size of the file the image was opened from.
func (img *Image) Size() int64 { return img.size }

// dir returns data directory i, or a zero one when the header has none.
func (img *Image) dir(i int) pe.DataDirectory {
	if i < len(img.dirs) {
		return img.dirs[i]
	}
	return pe.DataDirectory{}
}

// readFull reads len(p) bytes at off, failing rather than reading past the
// end of the file.
func (img *Image) readFull(p []byte, off int64) error {
	if off < 0 || off > img.size || int64(len(p)) > img.size-off {
		return io.ErrUnexpectedEOF
	}
	n, err := img.r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// rvaToOffset maps a relative virtual address to the file offset holding
// it and says how many bytes from there belong to the same section (or to
// the headers) and are present in the file.
func (img *Image) rvaToOffset(rva uint32) (int64, int64, error) {
	for _, s := range img.sections {
		if rva < s.VirtualAddress {
			continue
		}
		delta := rva - s.VirtualAddress
		if delta >= max(s.VirtualSize, s.SizeOfRawData) {
			continue
		}
		if delta >= s.SizeOfRawData {
			break // in the section, but in its zero-filled tail
		}
		start := int64(s.PointerToRawData)
		if img.fileAlignment >= 0x200 {
			start &^= 0x1ff // the loader rounds raw pointers down to 512
		}
		off := start + int64(delta)
		avail := min(int64(s.SizeOfRawData-delta), img.size-off)
		if avail <= 0 {
			break
		}
		return off, avail, nil
	}
	if rva < img.sizeOfHeaders && int64(rva) < img.size {
		return int64(rva), min(int64(img.sizeOfHeaders), img.size) - int64(rva), nil
	}
	return 0, 0, fmt.Errorf("%w: address %#x is not in the file", ErrMalformed, rva)
}
