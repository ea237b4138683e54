package rpm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// Header tags read from each package (rpm's lib/rpmtag.h).
const (
	tagName     = 1000
	tagVersion  = 1001
	tagRelease  = 1002
	tagEpoch    = 1003
	tagVendor   = 1011
	tagPackager = 1015
	tagArch     = 1022
)

// Header entry data types (rpm's rpmTagType).
const (
	typeInt32       = 4
	typeString      = 6
	typeStringArray = 8
	typeI18NString  = 9
)

// Limits rpm itself enforces on a header blob (lib/header_internal.h).
const (
	headerTagsMax = 0x0000ffff
	headerDataMax = 0x0fffffff
	entrySize     = 16
)

// pkg is what the source reports of one installed package.
type pkg struct {
	name, version, release, arch string
	vendor, packager             string
	epoch                        int // 0 when absent
}

// evr is the version as rpm prints it: [EPOCH:]VERSION-RELEASE.
func (p pkg) evr() string {
	v := p.version
	if p.release != "" {
		v += "-" + p.release
	}
	if p.epoch > 0 {
		v = strconv.Itoa(p.epoch) + ":" + v
	}
	return v
}

// detail is the evidence as a person reads it:
// "kesl 12.1.0-2968 (vendor AO Kaspersky Lab, x86_64)".
func (p pkg) detail() string {
	s := p.name
	if v := p.evr(); v != "" {
		s += " " + v
	}
	switch {
	case p.vendor != "" && p.arch != "":
		s += " (vendor " + p.vendor + ", " + p.arch + ")"
	case p.vendor != "":
		s += " (vendor " + p.vendor + ")"
	case p.arch != "":
		s += " (" + p.arch + ")"
	}
	return s
}

// parseHeader reads the few tags the source needs from an rpm header blob as
// the package database stores it: a big-endian index count and data length,
// the index entries, then the data store. Every offset is checked against
// the data store, so a damaged blob gives an error, never a panic or a read
// outside the blob.
//
// Entries after the immutable region ("dribble" entries rpm adds at install
// time) replace earlier ones with the same tag, as in rpm's headerImport, so
// the last entry for a tag wins.
func parseHeader(blob []byte) (pkg, error) {
	var p pkg
	if len(blob) < 8 {
		return p, fmt.Errorf("header too short: %d bytes", len(blob))
	}
	il := uint64(binary.BigEndian.Uint32(blob[0:4]))
	dl := uint64(binary.BigEndian.Uint32(blob[4:8]))
	if il < 1 || il > headerTagsMax {
		return p, fmt.Errorf("header has %d index entries (want 1 to %d)", il, headerTagsMax)
	}
	if dl > headerDataMax {
		return p, fmt.Errorf("header data length %d exceeds %d", dl, headerDataMax)
	}
	dataStart := 8 + il*entrySize
	if need := dataStart + dl; uint64(len(blob)) < need {
		return p, fmt.Errorf("header truncated: %d bytes, index and data need %d", len(blob), need)
	}
	index := blob[8:dataStart]
	data := blob[dataStart : dataStart+dl]

	for i := uint64(0); i < il; i++ {
		e := index[i*entrySize : (i+1)*entrySize]
		tag := int32(binary.BigEndian.Uint32(e[0:4]))
		typ := binary.BigEndian.Uint32(e[4:8])
		off := int32(binary.BigEndian.Uint32(e[8:12]))
		count := binary.BigEndian.Uint32(e[12:16])

		var dst *string
		switch tag {
		case tagName:
			dst = &p.name
		case tagVersion:
			dst = &p.version
		case tagRelease:
			dst = &p.release
		case tagVendor:
			dst = &p.vendor
		case tagPackager:
			dst = &p.packager
		case tagArch:
			dst = &p.arch
		case tagEpoch:
			n, err := int32At(data, typ, off, count)
			if err != nil {
				return p, fmt.Errorf("header tag %d (epoch): %w", tag, err)
			}
			p.epoch = int(n)
			continue
		default:
			continue
		}
		s, err := stringAt(data, typ, off, count)
		if err != nil {
			return p, fmt.Errorf("header tag %d: %w", tag, err)
		}
		*dst = s
	}
	if p.name == "" {
		return p, errors.New("header has no package name")
	}
	if p.vendor == "(none)" { // what some tools store for "no vendor"
		p.vendor = ""
	}
	return p, nil
}

// stringAt returns the (first) string of an entry.
func stringAt(data []byte, typ uint32, off int32, count uint32) (string, error) {
	switch typ {
	case typeString:
		if count != 1 {
			return "", fmt.Errorf("string entry with count %d", count)
		}
	case typeStringArray, typeI18NString:
		if count < 1 {
			return "", errors.New("empty string array")
		}
	default:
		return "", fmt.Errorf("type %d, want a string", typ)
	}
	if off < 0 || int64(off) >= int64(len(data)) {
		return "", fmt.Errorf("offset %d outside data of %d bytes", off, len(data))
	}
	s := data[off:]
	end := bytes.IndexByte(s, 0)
	if end < 0 {
		return "", fmt.Errorf("unterminated string at offset %d", off)
	}
	return string(s[:end]), nil
}

// int32At returns the first value of an INT32 entry.
func int32At(data []byte, typ uint32, off int32, count uint32) (int32, error) {
	if typ != typeInt32 {
		return 0, fmt.Errorf("type %d, want int32", typ)
	}
	if count < 1 {
		return 0, errors.New("empty int32 entry")
	}
	if off < 0 || off%4 != 0 || int64(off)+4 > int64(len(data)) {
		return 0, fmt.Errorf("int32 offset %d outside data of %d bytes or misaligned", off, len(data))
	}
	return int32(binary.BigEndian.Uint32(data[off:])), nil
}
