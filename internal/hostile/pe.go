package hostile

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
)

// PE returns a minimal 64-bit Windows executable whose one section,
// .rsrc, holds rsrc (the resource directory, at RVA 0x1000), padded to
// size bytes.
func PE(rsrc []byte, size int) []byte {
	const (
		peOff     = 0x40
		rsrcFile  = 0x200
		rsrcRVA   = 0x1000
		alignFile = 0x200
	)
	raw := (len(rsrc) + alignFile - 1) &^ (alignFile - 1)
	var b bytes.Buffer
	dos := make([]byte, peOff)
	dos[0], dos[1] = 'M', 'Z'
	binary.LittleEndian.PutUint32(dos[0x3c:], peOff)
	b.Write(dos)
	b.WriteString("PE\x00\x00")
	mustWrite(&b, binary.LittleEndian, pe.FileHeader{
		Machine:              pe.IMAGE_FILE_MACHINE_AMD64,
		NumberOfSections:     1,
		SizeOfOptionalHeader: uint16(binary.Size(pe.OptionalHeader64{})),
		Characteristics:      pe.IMAGE_FILE_EXECUTABLE_IMAGE | pe.IMAGE_FILE_LARGE_ADDRESS_AWARE,
	})
	oh := pe.OptionalHeader64{
		Magic:                 0x20b,
		ImageBase:             0x140000000,
		SectionAlignment:      0x1000,
		FileAlignment:         alignFile,
		MajorSubsystemVersion: 6,
		SizeOfImage:           uint32(rsrcRVA + (raw+0xfff)&^0xfff),
		SizeOfHeaders:         rsrcFile,
		Subsystem:             pe.IMAGE_SUBSYSTEM_WINDOWS_GUI,
		NumberOfRvaAndSizes:   16,
	}
	if len(rsrc) > 0 {
		oh.DataDirectory[pe.IMAGE_DIRECTORY_ENTRY_RESOURCE] = pe.DataDirectory{VirtualAddress: rsrcRVA, Size: uint32(len(rsrc))}
	}
	mustWrite(&b, binary.LittleEndian, oh)
	sec := pe.SectionHeader32{
		VirtualSize:      uint32(len(rsrc)),
		VirtualAddress:   rsrcRVA,
		SizeOfRawData:    uint32(raw),
		PointerToRawData: rsrcFile,
		Characteristics:  pe.IMAGE_SCN_CNT_INITIALIZED_DATA | pe.IMAGE_SCN_MEM_READ,
	}
	copy(sec.Name[:], ".rsrc")
	mustWrite(&b, binary.LittleEndian, sec)
	b.Write(make([]byte, rsrcFile-b.Len()))
	b.Write(rsrc)
	b.Write(make([]byte, raw-len(rsrc)))
	if b.Len() < size {
		b.Write(make([]byte, size-b.Len()))
	}
	return b.Bytes()
}

// resourceDir encodes an IMAGE_RESOURCE_DIRECTORY of ID entries, each
// pointing (as a subdirectory when sub) at offset in the resource section.
func resourceDir(ids []uint32, offsets []uint32, sub bool) []byte {
	b := make([]byte, 16+8*len(ids))
	binary.LittleEndian.PutUint16(b[14:], uint16(len(ids)))
	for i, id := range ids {
		binary.LittleEndian.PutUint32(b[16+8*i:], id)
		off := offsets[i]
		if sub {
			off |= 0x80000000
		}
		binary.LittleEndian.PutUint32(b[20+8*i:], off)
	}
	return b
}

// QuadraticResources is the 1 MiB executable of the issue: 4,096
// RT_VERSION type entries, all pointing at one directory of 4,096 names,
// each pointing at an empty language directory. A walk that reads every
// directory it is pointed at reads 16 million of them.
func QuadraticResources() []byte {
	const n = 4096
	const rtVersion = 16
	namesOff := uint32(16 + 8*n)
	langsOff := namesOff + 16 + 8*n
	ids := make([]uint32, n)
	to := make([]uint32, n)
	for i := range ids {
		ids[i], to[i] = rtVersion, namesOff
	}
	root := resourceDir(ids, to, true)
	for i := range ids {
		ids[i], to[i] = uint32(i+1), langsOff
	}
	names := resourceDir(ids, to, true)
	langs := resourceDir(nil, nil, true)
	rsrc := append(append(root, names...), langs...)
	return PE(rsrc, 1<<20)
}

// mustWrite appends v's fixed-size encoding to b. binary.Write fails only
// for a value without a fixed size, a mistake in this package, and a
// bytes.Buffer never fails to write: so a failure panics.
func mustWrite(b *bytes.Buffer, order binary.ByteOrder, v any) {
	if err := binary.Write(b, order, v); err != nil {
		panic("hostile: " + err.Error())
	}
}
