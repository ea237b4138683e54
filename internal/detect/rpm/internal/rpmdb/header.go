package rpmdb

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

// maxString bounds a string read from a header: names, versions, vendors
// and packagers are short. A string's end is looked for this far and no
// further, so 65,535 entries pointing into megabytes without a NUL cost
// 65,535 short scans rather than a terabyte of reading.
const maxString = 4096

// Package is what a header says of one installed package.
type Package struct {
	Name, Version, Release, Arch string
	Vendor, Packager             string
	Epoch                        int // 0 when absent
}

// EVR is the version as rpm prints it: [EPOCH:]VERSION-RELEASE.
func (p Package) EVR() string {
	v := p.Version
	if p.Release != "" {
		v += "-" + p.Release
	}
	if p.Epoch > 0 {
		v = strconv.Itoa(p.Epoch) + ":" + v
	}
	return v
}

// Detail is the evidence as a person reads it:
// "kesl 12.1.0-2968 (vendor AO Kaspersky Lab, x86_64)".
func (p Package) Detail() string {
	s := p.Name
	if v := p.EVR(); v != "" {
		s += " " + v
	}
	switch {
	case p.Vendor != "" && p.Arch != "":
		s += " (vendor " + p.Vendor + ", " + p.Arch + ")"
	case p.Vendor != "":
		s += " (vendor " + p.Vendor + ")"
	case p.Arch != "":
		s += " (" + p.Arch + ")"
	}
	return s
}

// ParseHeader reads the few tags avscout needs from an rpm header blob as
// the package database stores it: a big-endian index count and data length,
// the index entries, then the data store. Every offset is checked against
// the data store, so a damaged blob gives an error, never a panic or a read
// outside the blob.
//
// Entries after the immutable region ("dribble" entries rpm adds at install
// time) replace earlier ones with the same tag, as in rpm's headerImport, so
// the last entry for a tag wins.
func ParseHeader(blob []byte) (Package, error) {
	var p Package
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
			dst = &p.Name
		case tagVersion:
			dst = &p.Version
		case tagRelease:
			dst = &p.Release
		case tagVendor:
			dst = &p.Vendor
		case tagPackager:
			dst = &p.Packager
		case tagArch:
			dst = &p.Arch
		case tagEpoch:
			n, err := int32At(data, typ, off, count)
			if err != nil {
				return p, fmt.Errorf("header tag %d (epoch): %w", tag, err)
			}
			p.Epoch = int(n)
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
	if p.Name == "" {
		return p, errors.New("header has no package name")
	}
	if p.Vendor == "(none)" { // what some tools store for "no vendor"
		p.Vendor = ""
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
	s = s[:min(len(s), maxString+1)]
	end := bytes.IndexByte(s, 0)
	switch {
	case end < 0 && len(s) > maxString:
		return "", fmt.Errorf("string at offset %d longer than %d bytes", off, maxString)
	case end < 0:
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
