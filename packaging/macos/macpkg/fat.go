package macpkg

import (
	"bytes"
	"debug/macho"
	"encoding/binary"
	"fmt"
)

// Universal ("fat") Mach-O: a big-endian header (magic 0xcafebabe, slice
// count) and one fat_arch per slice (cputype, cpusubtype, offset, size,
// log2 alignment), then the slices at aligned offsets (<mach-o/fat.h>).
// lipo aligns arm64 slices to 2^14 (16 KiB pages) and x86_64 to 2^12.
const (
	fatMagic     = 0xcafebabe
	fatArchSize  = 20
	alignARM64   = 14
	alignDefault = 12
)

// Universal joins thin 64-bit Mach-O binaries into one universal binary,
// slices in the order given. It fails on a slice that is not Mach-O, on
// a CPU type given twice, or past the 32-bit offsets of fat_arch.
func Universal(slices ...[]byte) ([]byte, error) {
	if len(slices) == 0 {
		return nil, fmt.Errorf("universal binary: no slices")
	}
	type arch struct {
		cpu    macho.Cpu
		sub    uint32
		align  uint32
		offset uint64
		data   []byte
	}
	arches := make([]arch, len(slices))
	seen := map[macho.Cpu]bool{}
	off := uint64(8 + fatArchSize*len(slices))
	for i, s := range slices {
		f, err := macho.NewFile(bytes.NewReader(s))
		if err != nil {
			return nil, fmt.Errorf("universal binary slice %d: %w", i, err)
		}
		if seen[f.Cpu] {
			return nil, fmt.Errorf("universal binary slice %d: CPU %v given twice", i, f.Cpu)
		}
		seen[f.Cpu] = true
		a := arch{cpu: f.Cpu, sub: f.SubCpu, align: alignDefault, data: s}
		if f.Cpu == macho.CpuArm64 {
			a.align = alignARM64
		}
		f.Close()
		step := uint64(1) << a.align
		off = (off + step - 1) &^ (step - 1)
		a.offset = off
		off += uint64(len(s))
		arches[i] = a
	}
	if off > 1<<32-1 {
		return nil, fmt.Errorf("universal binary: %d bytes is over the 4 GiB of fat_arch offsets", off)
	}
	out := make([]byte, off)
	binary.BigEndian.PutUint32(out[0:], fatMagic)
	binary.BigEndian.PutUint32(out[4:], uint32(len(arches)))
	for i, a := range arches {
		h := out[8+fatArchSize*i:]
		binary.BigEndian.PutUint32(h[0:], uint32(a.cpu))
		binary.BigEndian.PutUint32(h[4:], a.sub)
		binary.BigEndian.PutUint32(h[8:], uint32(a.offset))
		binary.BigEndian.PutUint32(h[12:], uint32(len(a.data)))
		binary.BigEndian.PutUint32(h[16:], a.align)
		copy(out[a.offset:], a.data)
	}
	return out, nil
}
