// Package machotest makes Mach-O files for tests, since no Mac builds
// them here: it cross-builds a tiny darwin program with the Go toolchain,
// writes a code signature whose CodeDirectory carries a chosen Team ID
// into a thin 64-bit Mach-O file, makes small synthetic executables for
// tests that need thousands, and joins thin files into universal ones.
//
// The signatures it writes have the layout codesign gives (a SuperBlob
// holding a version 2.4 CodeDirectory with real SHA-256 page hashes, an
// empty requirements set and an empty CMS wrapper), but no CMS signature:
// they are what avscout reads, not something macOS would accept as
// Developer ID signed.
package machotest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Constants from <mach-o/loader.h> and xnu's cs_blobs.h.
const (
	magic64         = 0xfeedfacf
	lcSegment64     = 0x19
	lcCodeSignature = 0x1d
	headerSize64    = 32
	segmentCmdSize  = 72
	sectionSize64   = 80

	csMagicEmbeddedSignature = 0xfade0cc0
	csMagicCodeDirectory     = 0xfade0c02
	csMagicRequirements      = 0xfade0c01
	csMagicBlobWrapper       = 0xfade0b01
	csSlotRequirements       = 2
	csSlotCMSSignature       = 0x10000
	csAdhoc                  = 0x2
	cdVersion                = 0x20400
	cdHeaderSize             = 88
	hashSize                 = 32 // SHA-256
	hashTypeSHA256           = 2
	pageShift                = 12
	nSpecialSlots            = 2 // requirements (-2) and Info.plist (-1)
	execSegMainBinary        = 1
)

// CPU types of the architectures tests use.
var cpuTypes = map[string][2]uint32{
	"amd64": {0x01000007, 3}, // CPU_TYPE_X86_64, CPU_SUBTYPE_X86_64_ALL
	"arm64": {0x0100000c, 0}, // CPU_TYPE_ARM64, CPU_SUBTYPE_ARM64_ALL
}

// built caches Build's executables for the life of the test binary:
// linking costs seconds, and the bytes never change.
var built struct {
	sync.Mutex
	bins map[string][]byte
}

// Build returns a tiny Go program cross-built for darwin/goarch ("amd64"
// or "arm64") with CGO_ENABLED=0. Go's linker gives the arm64 executable
// an ad-hoc code signature without a Team ID and the amd64 one none. The
// result is shared between callers and must not be modified; [Sign]
// returns a copy. It fails t when the go command is missing or the build
// fails.
func Build(t testing.TB, goarch string) []byte {
	t.Helper()
	built.Lock()
	defer built.Unlock()
	if b, ok := built.bins[goarch]; ok {
		return b
	}
	if _, ok := cpuTypes[goarch]; !ok {
		t.Fatalf("machotest: cannot build for darwin/%s", goarch)
	}
	// go test puts its own GOROOT/bin first on PATH.
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("machotest: find the go tool: %v", err)
	}
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":  "module hello\n\ngo 1.21\n",
		"main.go": "package main\n\nfunc main() {}\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "hello")
	cmd := exec.Command(goTool, "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=darwin", "GOARCH="+goarch, "CGO_ENABLED=0",
		"GOFLAGS=", "GOWORK=off", "GOTOOLCHAIN=local")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("machotest: go build for darwin/%s: %v\n%s", goarch, err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if built.bins == nil {
		built.bins = map[string][]byte{}
	}
	built.bins[goarch] = b
	return b
}

// Minimal returns a small synthetic Mach-O executable for goarch ("amd64"
// or "arm64"): a header, a 4 KiB __TEXT segment holding it and an empty
// __LINKEDIT segment, unsigned. Tests that need thousands of executables
// sign it with [Sign].
func Minimal(goarch string) ([]byte, error) {
	cpu, ok := cpuTypes[goarch]
	if !ok {
		return nil, fmt.Errorf("machotest: unknown architecture %q", goarch)
	}
	const textSize = 0x1000
	b := make([]byte, textSize)
	le := binary.LittleEndian
	le.PutUint32(b[0:], magic64)
	le.PutUint32(b[4:], cpu[0])
	le.PutUint32(b[8:], cpu[1])
	le.PutUint32(b[12:], 2) // MH_EXECUTE
	le.PutUint32(b[16:], 2)
	le.PutUint32(b[20:], 2*segmentCmdSize)
	le.PutUint32(b[24:], 0x00200085) // NOUNDEFS | DYLDLINK | TWOLEVEL | PIE
	seg := func(off int, name string, vmaddr, vmsize, fileoff, filesize uint64, prot uint32) {
		le.PutUint32(b[off:], lcSegment64)
		le.PutUint32(b[off+4:], segmentCmdSize)
		copy(b[off+8:off+24], name)
		le.PutUint64(b[off+24:], vmaddr)
		le.PutUint64(b[off+32:], vmsize)
		le.PutUint64(b[off+40:], fileoff)
		le.PutUint64(b[off+48:], filesize)
		le.PutUint32(b[off+56:], prot)
		le.PutUint32(b[off+60:], prot)
	}
	seg(headerSize64, "__TEXT", 0x100000000, textSize, 0, textSize, 5)
	seg(headerSize64+segmentCmdSize, "__LINKEDIT", 0x100000000+textSize, 0, textSize, 0, 1)
	return b, nil
}

// Options says what signature [Sign] writes.
type Options struct {
	// Identifier is the signing identifier, usually the bundle id;
	// "a.out" when empty.
	Identifier string
	// TeamID is the team identifier; empty writes an ad-hoc signature
	// (flag CS_ADHOC, no team).
	TeamID string
}

// macho64 is what Sign needs to know of a thin 64-bit Mach-O file.
type macho64 struct {
	ncmds, sizeofcmds uint32
	sigCmd            int // offset of LC_CODE_SIGNATURE, -1 if none
	linkedit, text    int // offsets of those segment commands, -1 if none
	firstData         int // lowest file offset of section or segment data after the header
}

func parse64(b []byte) (macho64, error) {
	le := binary.LittleEndian
	if len(b) < headerSize64 || le.Uint32(b) != magic64 {
		return macho64{}, errors.New("machotest: not a thin 64-bit little-endian Mach-O file")
	}
	m := macho64{ncmds: le.Uint32(b[16:]), sizeofcmds: le.Uint32(b[20:]), sigCmd: -1, linkedit: -1, text: -1, firstData: len(b)}
	if headerSize64+int(m.sizeofcmds) > len(b) {
		return m, errors.New("machotest: load commands run past the end of the file")
	}
	off := headerSize64
	for i := uint32(0); i < m.ncmds; i++ {
		if off+8 > headerSize64+int(m.sizeofcmds) {
			return m, errors.New("machotest: load commands cut short")
		}
		cmd, size := le.Uint32(b[off:]), int(le.Uint32(b[off+4:]))
		if size < 8 || off+size > headerSize64+int(m.sizeofcmds) {
			return m, fmt.Errorf("machotest: load command %d has size %d", i, size)
		}
		switch cmd {
		case lcCodeSignature:
			m.sigCmd = off
		case lcSegment64:
			name := string(bytes.TrimRight(b[off+8:off+24], "\x00"))
			switch name {
			case "__LINKEDIT":
				m.linkedit = off
			case "__TEXT":
				m.text = off
			}
			if fo := int(le.Uint64(b[off+40:])); fo > 0 && fo < m.firstData {
				m.firstData = fo
			}
			nsects := int(le.Uint32(b[off+64:]))
			for s := range nsects {
				so := off + segmentCmdSize + s*sectionSize64
				if so+sectionSize64 > off+size {
					break
				}
				if fo := int(le.Uint32(b[so+48:])); fo > 0 && fo < m.firstData {
					m.firstData = fo
				}
			}
		}
		off += size
	}
	return m, nil
}

// Sign returns a copy of the thin 64-bit little-endian Mach-O file bin
// with its code signature replaced by one whose CodeDirectory names
// opt.Identifier and opt.TeamID. When bin has no LC_CODE_SIGNATURE (Go's
// darwin/amd64 executables, [Minimal]) one is added in the header's
// padding and the signature appended. __LINKEDIT is extended over the
// signature and the page hashes cover everything before it, as codesign
// does.
func Sign(bin []byte, opt Options) ([]byte, error) {
	m, err := parse64(bin)
	if err != nil {
		return nil, err
	}
	if m.linkedit < 0 {
		return nil, errors.New("machotest: no __LINKEDIT segment")
	}
	le := binary.LittleEndian
	out := bytes.Clone(bin)
	var codeLimit int
	if m.sigCmd >= 0 {
		codeLimit = int(le.Uint32(out[m.sigCmd+8:]))
		if codeLimit > len(out) {
			return nil, errors.New("machotest: existing signature starts past the end of the file")
		}
		out = out[:codeLimit]
	} else {
		end := headerSize64 + int(m.sizeofcmds)
		if end+16 > m.firstData {
			return nil, errors.New("machotest: no room in the header for LC_CODE_SIGNATURE")
		}
		if !bytes.Equal(out[end:end+16], make([]byte, 16)) {
			return nil, errors.New("machotest: the header padding is not empty")
		}
		le.PutUint32(out[end:], lcCodeSignature)
		le.PutUint32(out[end+4:], 16)
		le.PutUint32(out[16:], m.ncmds+1)
		le.PutUint32(out[20:], m.sizeofcmds+16)
		m.sigCmd = end
		codeLimit = (len(out) + 15) &^ 15
		out = append(out, make([]byte, codeLimit-len(out))...)
	}
	var textOff, textSize uint64
	if m.text >= 0 {
		textOff, textSize = le.Uint64(out[m.text+40:]), le.Uint64(out[m.text+48:])
	}
	sig := newSignature(opt, codeLimit, textOff, textSize)
	// The load commands hold the signature's place; they are hashed with
	// the rest, so they are written first.
	le.PutUint32(out[m.sigCmd+8:], uint32(codeLimit))
	le.PutUint32(out[m.sigCmd+12:], uint32(sig.size()))
	linkOff := le.Uint64(out[m.linkedit+40:])
	fileSize := uint64(codeLimit+sig.size()) - linkOff
	le.PutUint64(out[m.linkedit+48:], fileSize)
	le.PutUint64(out[m.linkedit+32:], (fileSize+0x3fff)&^0x3fff)
	return append(out, sig.bytes(out)...), nil
}

// signature lays out an embedded signature before its hashes are known.
type signature struct {
	ident, team         string
	codeLimit           int
	textOff, textSize   uint64
	nCodeSlots, cdBytes int
}

var requirements = []byte{0xfa, 0xde, 0x0c, 0x01, 0, 0, 0, 12, 0, 0, 0, 0}

func newSignature(opt Options, codeLimit int, textOff, textSize uint64) *signature {
	s := &signature{ident: opt.Identifier, team: opt.TeamID, codeLimit: codeLimit, textOff: textOff, textSize: textSize}
	if s.ident == "" {
		s.ident = "a.out"
	}
	s.nCodeSlots = (codeLimit + 1<<pageShift - 1) >> pageShift
	s.cdBytes = cdHeaderSize + len(s.ident) + 1 + (nSpecialSlots+s.nCodeSlots)*hashSize
	if s.team != "" {
		s.cdBytes += len(s.team) + 1
	}
	return s
}

const superBlobHeader = 12 + 3*8

func (s *signature) size() int { return superBlobHeader + s.cdBytes + len(requirements) + 8 }

// bytes writes the signature of code, which must be codeLimit bytes.
func (s *signature) bytes(code []byte) []byte {
	be := binary.BigEndian
	b := make([]byte, s.size())
	be.PutUint32(b[0:], csMagicEmbeddedSignature)
	be.PutUint32(b[4:], uint32(len(b)))
	be.PutUint32(b[8:], 3)
	cdOff := superBlobHeader
	reqOff := cdOff + s.cdBytes
	wrapOff := reqOff + len(requirements)
	for i, e := range [][2]uint32{{0, uint32(cdOff)}, {csSlotRequirements, uint32(reqOff)}, {csSlotCMSSignature, uint32(wrapOff)}} {
		be.PutUint32(b[12+8*i:], e[0])
		be.PutUint32(b[16+8*i:], e[1])
	}
	copy(b[reqOff:], requirements)
	be.PutUint32(b[wrapOff:], csMagicBlobWrapper)
	be.PutUint32(b[wrapOff+4:], 8)

	cd := b[cdOff : cdOff+s.cdBytes]
	flags := uint32(0)
	if s.team == "" {
		flags = csAdhoc
	}
	identOff := cdHeaderSize
	teamOff := 0
	strEnd := identOff + len(s.ident) + 1
	if s.team != "" {
		teamOff = strEnd
		strEnd += len(s.team) + 1
	}
	hashOff := strEnd + nSpecialSlots*hashSize
	be.PutUint32(cd[0:], csMagicCodeDirectory)
	be.PutUint32(cd[4:], uint32(len(cd)))
	be.PutUint32(cd[8:], cdVersion)
	be.PutUint32(cd[12:], flags)
	be.PutUint32(cd[16:], uint32(hashOff))
	be.PutUint32(cd[20:], uint32(identOff))
	be.PutUint32(cd[24:], nSpecialSlots)
	be.PutUint32(cd[28:], uint32(s.nCodeSlots))
	be.PutUint32(cd[32:], uint32(s.codeLimit))
	cd[36], cd[37], cd[38], cd[39] = hashSize, hashTypeSHA256, 0, pageShift
	be.PutUint32(cd[48:], uint32(teamOff))
	be.PutUint64(cd[64:], s.textOff)
	be.PutUint64(cd[72:], s.textSize)
	be.PutUint64(cd[80:], execSegMainBinary)
	copy(cd[identOff:], s.ident)
	if teamOff != 0 {
		copy(cd[teamOff:], s.team)
	}
	// Special slot -2 holds the requirements' hash; -1 (Info.plist) stays
	// zero as for a bare executable.
	req := sha256.Sum256(requirements)
	copy(cd[hashOff-2*hashSize:], req[:])
	for i := range s.nCodeSlots {
		page := code[i<<pageShift : min((i+1)<<pageShift, s.codeLimit)]
		h := sha256.Sum256(page)
		copy(cd[hashOff+i*hashSize:], h[:])
	}
	return b
}

// Fat joins thin Mach-O files into a universal file with the 32-bit
// header (magic 0xcafebabe), slices aligned to 16 KiB.
func Fat(thin ...[]byte) ([]byte, error) { return fat(false, thin) }

// Fat64 is [Fat] with the 64-bit header (magic 0xcafebabf).
func Fat64(thin ...[]byte) ([]byte, error) { return fat(true, thin) }

func fat(is64 bool, thin [][]byte) ([]byte, error) {
	const align = 14
	be, le := binary.BigEndian, binary.LittleEndian
	entry := 20
	magic := uint32(0xcafebabe)
	if is64 {
		entry, magic = 32, 0xcafebabf
	}
	hdr := make([]byte, 8+entry*len(thin))
	be.PutUint32(hdr[0:], magic)
	be.PutUint32(hdr[4:], uint32(len(thin)))
	out := hdr
	for i, t := range thin {
		if len(t) < 12 {
			return nil, fmt.Errorf("machotest: slice %d is not Mach-O", i)
		}
		off := (len(out) + 1<<align - 1) &^ (1<<align - 1)
		out = append(out, make([]byte, off-len(out))...)
		out = append(out, t...)
		e := out[8+entry*i:]
		be.PutUint32(e[0:], le.Uint32(t[4:]))
		be.PutUint32(e[4:], le.Uint32(t[8:]))
		if is64 {
			be.PutUint64(e[8:], uint64(off))
			be.PutUint64(e[16:], uint64(len(t)))
			be.PutUint32(e[24:], align)
		} else {
			be.PutUint32(e[8:], uint32(off))
			be.PutUint32(e[12:], uint32(len(t)))
			be.PutUint32(e[16:], align)
		}
	}
	return out, nil
}
