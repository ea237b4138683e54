package hostile

import (
	"bytes"
	"encoding/binary"
	"hash/adler32"
)

// RPM header tags and types (rpm's lib/rpmtag.h).
const (
	tagName     = 1000
	tagVersion  = 1001
	tagRelease  = 1002
	tagVendor   = 1011
	tagArch     = 1022
	typeString  = 6
	typeStrings = 8
)

// RPMHeader encodes an rpm header blob as the package database stores
// it, with one STRING entry per tag.
func RPMHeader(tags map[int32]string) []byte {
	var data bytes.Buffer
	var index bytes.Buffer
	for _, tag := range []int32{tagName, tagVersion, tagRelease, tagVendor, tagArch} {
		s, ok := tags[tag]
		if !ok {
			continue
		}
		mustWrite(&index, binary.BigEndian, [4]uint32{uint32(tag), typeString, uint32(data.Len()), 1})
		data.WriteString(s)
		data.WriteByte(0)
	}
	var b bytes.Buffer
	mustWrite(&b, binary.BigEndian, [2]uint32{uint32(index.Len() / 16), uint32(data.Len())})
	b.Write(index.Bytes())
	b.Write(data.Bytes())
	return b.Bytes()
}

// KESLHeader is the header of Kaspersky Endpoint Security for Linux as
// its rpm package installs it (name, version and vendor as Kaspersky
// ships them).
func KESLHeader() []byte {
	return RPMHeader(map[int32]string{tagName: "kesl", tagVersion: "12.1.0", tagRelease: "2968", tagVendor: "AO Kaspersky Lab", tagArch: "x86_64"})
}

// RPMHeaderHugeCounts is a header of 65,535 index entries (rpm's own
// maximum), every one a NAME string array claiming 2^32-1 strings, the
// i-th at offset i of 16 MiB of data whose only NUL is the last byte: a
// reader that looks for each entry's string end across the data reads a
// terabyte.
func RPMHeaderHugeCounts() []byte { return RPMHeaderClaims(0xffff, 16<<20) }

// RPMHeaderClaims is [RPMHeaderHugeCounts] with il entries over dl bytes
// of data.
func RPMHeaderClaims(il, dl int) []byte {
	b := make([]byte, 8+il*16+dl)
	binary.BigEndian.PutUint32(b[0:], uint32(il))
	binary.BigEndian.PutUint32(b[4:], uint32(dl))
	for i := range il {
		e := b[8+i*16:]
		binary.BigEndian.PutUint32(e[0:], tagName)
		binary.BigEndian.PutUint32(e[4:], typeStrings)
		binary.BigEndian.PutUint32(e[8:], uint32(i%dl))
		binary.BigEndian.PutUint32(e[12:], 0xffffffff)
	}
	data := b[8+il*16:]
	for i := range data {
		data[i] = 'A'
	}
	data[len(data)-1] = 0
	return b
}

// ndb layout (rpm's lib/backend/ndb/rpmpkg.c): a 32-byte header, slot
// pages of 16-byte slots, blobs of 16-byte blocks.
const (
	ndbSlotPage  = 4096
	ndbBlockSize = 16
)

// NDB encodes an rpm "ndb" package database (Packages.db, as SUSE uses)
// holding blobs as packages 1, 2, …, with one slot page.
func NDB(blobs ...[]byte) []byte {
	out := make([]byte, ndbSlotPage)
	le := binary.LittleEndian
	copy(out, "RpmP")
	le.PutUint32(out[4:], 0) // version
	le.PutUint32(out[8:], 1) // generation
	le.PutUint32(out[12:], 1)
	for off := 32; off < ndbSlotPage; off += 16 {
		copy(out[off:], "Slot") // free: package 0
	}
	for i, blob := range blobs {
		pkg := uint32(i + 1)
		blkOff := uint32(len(out) / ndbBlockSize)
		n := 16 + len(blob) + 12
		blocks := (n + ndbBlockSize - 1) / ndbBlockSize
		buf := make([]byte, blocks*ndbBlockSize)
		copy(buf, "BlbS")
		le.PutUint32(buf[4:], pkg)
		le.PutUint32(buf[8:], 1)
		le.PutUint32(buf[12:], uint32(len(blob)))
		copy(buf[16:], blob)
		tail := buf[len(buf)-12:]
		le.PutUint32(tail[0:], adler32.Checksum(buf[:len(buf)-12]))
		le.PutUint32(tail[4:], uint32(len(blob)))
		copy(tail[8:], "BlbE")
		out = append(out, buf...)
		slot := out[32+16*i:]
		copy(slot, "Slot")
		le.PutUint32(slot[4:], pkg)
		le.PutUint32(slot[8:], blkOff)
		le.PutUint32(slot[12:], uint32(blocks))
	}
	return out
}

// NDBHugeSlot appends to an ndb database a slot for package pkg whose
// blob claims blocks 16-byte blocks from block blkOff: in a sparse file
// that far, a reader that allocates what the slot claims before checking
// anything allocates it all.
func NDBHugeSlot(db []byte, slot int, pkg, blkOff, blocks uint32) {
	s := db[32+16*slot:]
	copy(s, "Slot")
	binary.LittleEndian.PutUint32(s[4:], pkg)
	binary.LittleEndian.PutUint32(s[8:], blkOff)
	binary.LittleEndian.PutUint32(s[12:], blocks)
}
