// Package macho reads the code-signing identity of a Mach-O file — the
// Team ID and the signing identifier in the CodeDirectory of its embedded
// code signature — for thin 32- and 64-bit files and for universal (fat)
// files.
//
// It exists because on macOS the Team ID is the one mark a vendor cannot
// rebrand: a white-labelled build may carry any name, bundle id and
// folder, but its executables are still signed by the Apple developer
// team that built them (Kaspersky's is 2Y8XE5CQ94). The parser is pure Go
// over an [io.ReaderAt], so it reads a mounted image on Linux exactly as it
// reads the running Mac.
//
// Everything is bounded. Only the Mach-O headers, the load commands and
// the headers and strings of the CodeDirectory are read, never the hash
// slots; every count, size and offset is checked against the file before
// it is used, so a truncated signature, an absurd offset or a file that is
// not Mach-O at all gives an error wrapping [ErrMalformed] or
// [ErrNotMachO], never a panic or a large allocation.
//
// It does not verify signatures: neither the CMS blob nor the certificate
// chain is checked, so the Team ID is the one the file claims. For finding
// restricted software that errs on the safe side — a forged team ID can
// only make a file look like the team's, and the real vendor's files carry
// their real one.
package macho

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Errors. Read wraps them with what was wrong and where.
var (
	// ErrNotMachO means the file does not start like a Mach-O or
	// universal file (a script, a Java class file, anything else).
	ErrNotMachO = errors.New("not a Mach-O file")
	// ErrMalformed means the file starts like a Mach-O file but a header,
	// a load command or the code signature is truncated or inconsistent.
	ErrMalformed = errors.New("malformed Mach-O file")
)

// Signature is the code signature of one architecture of a Mach-O file.
type Signature struct {
	Arch string // "arm64", "x86_64", …
	// Signed is true when the file has an LC_CODE_SIGNATURE load command;
	// the fields below are empty otherwise.
	Signed bool
	// Identifier is the signing identifier (usually the bundle id).
	Identifier string
	// TeamID is the Apple developer team identifier; empty for ad-hoc and
	// platform (Apple) signatures and CodeDirectories older than 2.2.
	TeamID string
	// AdHoc is true when the CodeDirectory carries the CS_ADHOC flag: the
	// signature names no identity at all.
	AdHoc bool
}

// Magic numbers and load commands, from Apple's <mach-o/loader.h>,
// <mach-o/fat.h> and xnu's osfmk/kern/cs_blobs.h.
const (
	magic32    = 0xfeedface
	magic64    = 0xfeedfacf
	fatMagic   = 0xcafebabe // also the magic of Java class files
	fatMagic64 = 0xcafebabf

	lcCodeSignature = 0x1d

	csMagicEmbeddedSignature = 0xfade0cc0
	csMagicCodeDirectory     = 0xfade0c02
	csSlotCodeDirectory      = 0
	csSlotAlternateFirst     = 0x1000
	csSlotAlternateLast      = 0x1004
	csAdhoc                  = 0x2
	// cdVersionTeamID is the first CodeDirectory version with a team
	// identifier offset.
	cdVersionTeamID = 0x20200
)

// Bounds on what a file may claim.
const (
	// maxFatArches bounds a universal file's architectures. A Java class
	// file, which shares the 0xcafebabe magic, has its version (45 and
	// up) where the count would be, so it is rejected here as not Mach-O.
	maxFatArches = 32
	// maxLoadCommands bounds the size of the load commands read at once.
	maxLoadCommands = 4 << 20
	// maxBlobs bounds the blobs of a code signature (real ones have 3-8).
	maxBlobs = 256
	// maxString bounds an identifier or team identifier.
	maxString = 1024
	// cdHeaderSize is the CodeDirectory header up to and including the
	// team offset; cdMinSize the part every version has.
	cdHeaderSize = 52
	cdMinSize    = 44
)

// Read returns the code signature of each architecture of the Mach-O file
// r of size bytes: one for a thin file, one per slice, in file order, for
// a universal file. An unsigned architecture gives a Signature with Signed
// false. When some slices of a universal file are malformed, the
// signatures of the others are returned together with the error.
func Read(r io.ReaderAt, size int64) ([]Signature, error) {
	var b [8]byte
	if size < 8 {
		return nil, fmt.Errorf("%w: only %d bytes", ErrNotMachO, size)
	}
	if err := readAt(r, b[:], 0); err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	switch m := binary.BigEndian.Uint32(b[:]); m {
	case fatMagic, fatMagic64:
		return readFat(r, size, m == fatMagic64, binary.BigEndian.Uint32(b[4:]))
	}
	if _, _, ok := thinMagic(b[:4]); !ok {
		return nil, fmt.Errorf("%w: starts with %q", ErrNotMachO, printable(b[:4]))
	}
	sig, err := readThin(r, size)
	if err != nil {
		return nil, err
	}
	return []Signature{sig}, nil
}

// TeamID returns the first team identifier found among the architectures
// of the Mach-O file r, or "" when none has one (unsigned, ad-hoc or
// Apple-signed). Errors are those of [Read]; a team identifier found in
// one slice is returned even when another slice is malformed.
func TeamID(r io.ReaderAt, size int64) (string, error) {
	sigs, err := Read(r, size)
	for _, s := range sigs {
		if s.TeamID != "" {
			return s.TeamID, err
		}
	}
	return "", err
}

// thinMagic reports whether b starts a thin Mach-O file, and its byte
// order and word size.
func thinMagic(b []byte) (binary.ByteOrder, bool, bool) {
	switch binary.LittleEndian.Uint32(b) {
	case magic32:
		return binary.LittleEndian, false, true
	case magic64:
		return binary.LittleEndian, true, true
	}
	switch binary.BigEndian.Uint32(b) {
	case magic32:
		return binary.BigEndian, false, true
	case magic64:
		return binary.BigEndian, true, true
	}
	return nil, false, false
}

func readFat(r io.ReaderAt, size int64, is64 bool, n uint32) ([]Signature, error) {
	if n == 0 || n > maxFatArches {
		return nil, fmt.Errorf("%w: universal header with %d architectures (a Java class file?)", ErrNotMachO, n)
	}
	entry := int64(20)
	if is64 {
		entry = 32
	}
	end := 8 + int64(n)*entry
	if end > size {
		return nil, fmt.Errorf("%w: universal header of %d architectures is cut short at %d bytes", ErrMalformed, n, size)
	}
	tab := make([]byte, end-8)
	if err := readAt(r, tab, 8); err != nil {
		return nil, fmt.Errorf("read universal header: %w", err)
	}
	var sigs []Signature
	var errs []error
	for i := range int64(n) {
		e := tab[i*entry:]
		cpu := binary.BigEndian.Uint32(e)
		var off, sz uint64
		if is64 {
			off, sz = binary.BigEndian.Uint64(e[8:]), binary.BigEndian.Uint64(e[16:])
		} else {
			off, sz = uint64(binary.BigEndian.Uint32(e[8:])), uint64(binary.BigEndian.Uint32(e[12:]))
		}
		arch := archName(cpu)
		if off < uint64(end) || sz > uint64(size) || off > uint64(size)-sz {
			errs = append(errs, fmt.Errorf("%w: %s slice at %d+%d lies outside the file (%d bytes)", ErrMalformed, arch, off, sz, size))
			continue
		}
		if sz < 28 {
			errs = append(errs, fmt.Errorf("%w: %s slice of %d bytes is too small for a Mach-O header", ErrMalformed, arch, sz))
			continue
		}
		sr := io.NewSectionReader(r, int64(off), int64(sz))
		var b [4]byte
		if err := readAt(sr, b[:], 0); err != nil {
			errs = append(errs, fmt.Errorf("%s slice: %w", arch, err))
			continue
		}
		if _, _, ok := thinMagic(b[:]); !ok {
			errs = append(errs, fmt.Errorf("%w: %s slice at %d does not start with a Mach-O header", ErrMalformed, arch, off))
			continue
		}
		s, err := readThin(sr, int64(sz))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s slice: %w", arch, err))
			continue
		}
		sigs = append(sigs, s)
	}
	return sigs, errors.Join(errs...)
}

// readThin reads the signature of a thin Mach-O file, whose magic has
// been checked.
func readThin(r io.ReaderAt, size int64) (Signature, error) {
	var h [32]byte
	if size < 28 {
		return Signature{}, fmt.Errorf("%w: header cut short at %d bytes", ErrMalformed, size)
	}
	n := min(size, 32)
	if err := readAt(r, h[:n], 0); err != nil {
		return Signature{}, fmt.Errorf("read header: %w", err)
	}
	bo, is64, _ := thinMagic(h[:4])
	hdr := int64(28)
	if is64 {
		hdr = 32
	}
	if size < hdr {
		return Signature{}, fmt.Errorf("%w: header cut short at %d bytes", ErrMalformed, size)
	}
	sig := Signature{Arch: archName(bo.Uint32(h[4:]))}
	ncmds, sizeofcmds := bo.Uint32(h[16:]), bo.Uint32(h[20:])
	if sizeofcmds > maxLoadCommands || int64(sizeofcmds) > size-hdr {
		return sig, fmt.Errorf("%w: %d bytes of load commands in a %d-byte file", ErrMalformed, sizeofcmds, size)
	}
	if uint64(ncmds)*8 > uint64(sizeofcmds) {
		return sig, fmt.Errorf("%w: %d load commands cannot fit in %d bytes", ErrMalformed, ncmds, sizeofcmds)
	}
	cmds := make([]byte, sizeofcmds)
	if err := readAt(r, cmds, hdr); err != nil {
		return sig, fmt.Errorf("read load commands: %w", err)
	}
	for i, off := uint32(0), uint32(0); i < ncmds; i++ {
		if len(cmds)-int(off) < 8 {
			return sig, fmt.Errorf("%w: load command %d is cut short", ErrMalformed, i)
		}
		cmd, cmdsize := bo.Uint32(cmds[off:]), bo.Uint32(cmds[off+4:])
		if cmdsize < 8 || cmdsize > uint32(len(cmds))-off {
			return sig, fmt.Errorf("%w: load command %d has size %d", ErrMalformed, i, cmdsize)
		}
		if cmd == lcCodeSignature {
			if cmdsize < 16 {
				return sig, fmt.Errorf("%w: LC_CODE_SIGNATURE has size %d", ErrMalformed, cmdsize)
			}
			dataoff, datasize := bo.Uint32(cmds[off+8:]), bo.Uint32(cmds[off+12:])
			if uint64(dataoff)+uint64(datasize) > uint64(size) {
				return sig, fmt.Errorf("%w: code signature at %d+%d runs past the end of the file (%d bytes): truncated", ErrMalformed, dataoff, datasize, size)
			}
			sig.Signed = true
			err := readSuperBlob(io.NewSectionReader(r, int64(dataoff), int64(datasize)), int64(datasize), &sig)
			return sig, err
		}
		off += cmdsize
	}
	return sig, nil
}

// readSuperBlob reads the embedded signature (a big-endian SuperBlob) of
// n bytes and fills sig from its CodeDirectory.
func readSuperBlob(r io.ReaderAt, n int64, sig *Signature) error {
	if n < 12 {
		return fmt.Errorf("%w: code signature of %d bytes", ErrMalformed, n)
	}
	var h [12]byte
	if err := readAt(r, h[:], 0); err != nil {
		return fmt.Errorf("read code signature: %w", err)
	}
	if m := binary.BigEndian.Uint32(h[:]); m != csMagicEmbeddedSignature {
		return fmt.Errorf("%w: code signature has magic %#08x, not an embedded signature", ErrMalformed, m)
	}
	length, count := int64(binary.BigEndian.Uint32(h[4:])), binary.BigEndian.Uint32(h[8:])
	if length > n || length < 12 {
		return fmt.Errorf("%w: code signature claims %d bytes, has %d: truncated", ErrMalformed, length, n)
	}
	if count > maxBlobs || 12+int64(count)*8 > length {
		return fmt.Errorf("%w: code signature claims %d blobs in %d bytes", ErrMalformed, count, length)
	}
	index := make([]byte, 8*count)
	if err := readAt(r, index, 12); err != nil {
		return fmt.Errorf("read code signature index: %w", err)
	}
	// The primary CodeDirectory, else the first alternate one (xnu looks
	// at both; their identifiers and team identifiers are the same).
	var cdOff int64 = -1
	for i := range int(count) {
		typ, off := binary.BigEndian.Uint32(index[8*i:]), binary.BigEndian.Uint32(index[8*i+4:])
		if typ == csSlotCodeDirectory {
			cdOff = int64(off)
			break
		}
		if typ >= csSlotAlternateFirst && typ <= csSlotAlternateLast && cdOff < 0 {
			cdOff = int64(off)
		}
	}
	if cdOff < 0 {
		return fmt.Errorf("%w: code signature has no CodeDirectory", ErrMalformed)
	}
	return readCodeDirectory(r, cdOff, length, sig)
}

// readCodeDirectory reads the CodeDirectory at off, which must end by
// limit.
func readCodeDirectory(r io.ReaderAt, off, limit int64, sig *Signature) error {
	if off < 12 || off > limit-cdMinSize {
		return fmt.Errorf("%w: CodeDirectory at %d lies outside the %d-byte signature", ErrMalformed, off, limit)
	}
	var h [cdHeaderSize]byte
	n := min(int64(cdHeaderSize), limit-off)
	if err := readAt(r, h[:n], off); err != nil {
		return fmt.Errorf("read CodeDirectory: %w", err)
	}
	if m := binary.BigEndian.Uint32(h[:]); m != csMagicCodeDirectory {
		return fmt.Errorf("%w: CodeDirectory has magic %#08x", ErrMalformed, m)
	}
	length := int64(binary.BigEndian.Uint32(h[4:]))
	if length < cdMinSize || length > limit-off {
		return fmt.Errorf("%w: CodeDirectory of %d bytes at %d in a %d-byte signature: truncated", ErrMalformed, length, off, limit)
	}
	version, flags := binary.BigEndian.Uint32(h[8:]), binary.BigEndian.Uint32(h[12:])
	sig.AdHoc = flags&csAdhoc != 0
	ident, err := cString(r, off, length, binary.BigEndian.Uint32(h[20:]))
	if err != nil {
		return fmt.Errorf("identifier: %w", err)
	}
	sig.Identifier = ident
	if version < cdVersionTeamID || length < cdHeaderSize {
		return nil
	}
	teamOff := binary.BigEndian.Uint32(h[48:])
	if teamOff == 0 {
		return nil
	}
	team, err := cString(r, off, length, teamOff)
	if err != nil {
		return fmt.Errorf("team identifier: %w", err)
	}
	sig.TeamID = team
	return nil
}

// cString reads the NUL-terminated string at rel bytes into the blob of
// length bytes at base. It must end inside the blob, be at most maxString
// bytes and be printable UTF-8.
func cString(r io.ReaderAt, base, length int64, rel uint32) (string, error) {
	if int64(rel) >= length || rel < cdMinSize {
		return "", fmt.Errorf("%w: offset %d outside the %d-byte CodeDirectory", ErrMalformed, rel, length)
	}
	n := min(length-int64(rel), maxString+1)
	b := make([]byte, n)
	if err := readAt(r, b, base+int64(rel)); err != nil {
		return "", fmt.Errorf("read string: %w", err)
	}
	end := -1
	for i, c := range b {
		if c == 0 {
			end = i
			break
		}
	}
	if end < 0 {
		return "", fmt.Errorf("%w: string at offset %d is not terminated within %d bytes", ErrMalformed, rel, n)
	}
	s := b[:end]
	if !utf8.Valid(s) {
		return "", fmt.Errorf("%w: string at offset %d is not UTF-8", ErrMalformed, rel)
	}
	for _, c := range string(s) {
		if c < ' ' || c == 0x7f {
			return "", fmt.Errorf("%w: string at offset %d holds control characters", ErrMalformed, rel)
		}
	}
	return string(s), nil
}

// readAt fills b from off. The callers check their bounds first; should
// the file still end early (it shrank while being read) that is reported
// as a malformed file rather than a bare EOF.
func readAt(r io.ReaderAt, b []byte, off int64) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %d bytes at %d are cut short", ErrMalformed, len(b), off)
	}
	return err
}

// archName names a Mach-O CPU type as Apple's tools do.
func archName(cpu uint32) string {
	switch cpu {
	case 7:
		return "i386"
	case 7 | 0x01000000:
		return "x86_64"
	case 12:
		return "arm"
	case 12 | 0x01000000:
		return "arm64"
	case 12 | 0x02000000:
		return "arm64_32"
	case 18:
		return "ppc"
	case 18 | 0x01000000:
		return "ppc64"
	}
	return fmt.Sprintf("cpu %#x", cpu)
}

// printable shows the first bytes of a file in an error message.
func printable(b []byte) string {
	out := make([]rune, 0, len(b))
	for _, c := range b {
		if c < ' ' || c >= 0x7f {
			out = append(out, '.')
			continue
		}
		out = append(out, rune(c))
	}
	return string(out)
}
