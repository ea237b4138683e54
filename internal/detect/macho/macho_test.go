package macho_test

import (
	"bytes"
	dmacho "debug/macho"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/detect/macho"
	"github.com/avscout/avscout/internal/detect/macho/machotest"
)

const kasperskyTeam = "2Y8XE5CQ94"

func read(t *testing.T, b []byte) ([]macho.Signature, error) {
	t.Helper()
	return macho.Read(bytes.NewReader(b), int64(len(b)))
}

func sign(t *testing.T, bin []byte, ident, team string) []byte {
	t.Helper()
	out, err := machotest.Sign(bin, machotest.Options{Identifier: ident, TeamID: team})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// What Go's own linker writes: an ad-hoc signature on darwin/arm64 (the
// kernel refuses unsigned arm64 code), none on darwin/amd64.
func TestReadGoBinaries(t *testing.T) {
	arm := machotest.Build(t, "arm64")
	sigs, err := read(t, arm)
	if err != nil {
		t.Fatal(err)
	}
	if len(sigs) != 1 || !sigs[0].Signed || !sigs[0].AdHoc || sigs[0].TeamID != "" || sigs[0].Arch != "arm64" || sigs[0].Identifier == "" {
		t.Errorf("darwin/arm64 Go binary: %+v", sigs)
	}
	amd := machotest.Build(t, "amd64")
	sigs, err = read(t, amd)
	if err != nil {
		t.Fatal(err)
	}
	if want := []macho.Signature{{Arch: "x86_64"}}; !reflect.DeepEqual(sigs, want) {
		t.Errorf("darwin/amd64 Go binary: %+v, want %+v", sigs, want)
	}
}

func TestReadSigned(t *testing.T) {
	for _, arch := range []string{"arm64", "amd64"} {
		t.Run(arch, func(t *testing.T) {
			bin := sign(t, machotest.Build(t, arch), "com.kaspersky.kav", kasperskyTeam)
			checkStillMachO(t, bin)
			sigs, err := read(t, bin)
			if err != nil {
				t.Fatal(err)
			}
			want := macho.Signature{Arch: map[string]string{"arm64": "arm64", "amd64": "x86_64"}[arch],
				Signed: true, Identifier: "com.kaspersky.kav", TeamID: kasperskyTeam}
			if len(sigs) != 1 || sigs[0] != want {
				t.Errorf("got %+v, want %+v", sigs, want)
			}
			// Signing again replaces the signature rather than adding one.
			again := sign(t, bin, "com.acme.safeguard", "ABCDE12345")
			if got, _ := macho.TeamID(bytes.NewReader(again), int64(len(again))); got != "ABCDE12345" {
				t.Errorf("re-signed: team %q", got)
			}
			if len(again) != len(bin)+len("com.acme.safeguard")-len("com.kaspersky.kav") {
				t.Errorf("re-signed file is %d bytes, signed %d: the old signature was kept", len(again), len(bin))
			}
		})
	}
}

// checkStillMachO has the standard library confirm that a file the helper
// wrote is a well-formed Mach-O file whose __LINKEDIT covers its
// signature.
func checkStillMachO(t *testing.T, b []byte) {
	t.Helper()
	f, err := dmacho.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("debug/macho rejects the signed file: %v", err)
	}
	var sigEnd uint64
	for _, l := range f.Loads {
		raw := l.Raw()
		if binary.LittleEndian.Uint32(raw) == 0x1d {
			sigEnd = uint64(binary.LittleEndian.Uint32(raw[8:])) + uint64(binary.LittleEndian.Uint32(raw[12:]))
		}
	}
	seg := f.Segment("__LINKEDIT")
	if sigEnd == 0 || seg == nil || seg.Offset+seg.Filesz != sigEnd || sigEnd != uint64(len(b)) {
		t.Errorf("signature ends at %d, __LINKEDIT %+v, file %d bytes", sigEnd, seg, len(b))
	}
}

func TestReadFat(t *testing.T) {
	amd := sign(t, machotest.Build(t, "amd64"), "com.crowdstrike.falcon.App", "X9E956P446")
	arm := sign(t, machotest.Build(t, "arm64"), "com.crowdstrike.falcon.App", "X9E956P446")
	for name, mk := range map[string]func(...[]byte) ([]byte, error){"fat32": machotest.Fat, "fat64": machotest.Fat64} {
		t.Run(name, func(t *testing.T) {
			fat, err := mk(amd, arm)
			if err != nil {
				t.Fatal(err)
			}
			if name == "fat32" {
				if _, err := dmacho.NewFatFile(bytes.NewReader(fat)); err != nil {
					t.Fatalf("debug/macho rejects the universal file: %v", err)
				}
			}
			sigs, err := read(t, fat)
			if err != nil {
				t.Fatal(err)
			}
			if len(sigs) != 2 || sigs[0].Arch != "x86_64" || sigs[1].Arch != "arm64" || sigs[0].TeamID != "X9E956P446" || sigs[1].TeamID != "X9E956P446" {
				t.Errorf("got %+v", sigs)
			}
		})
	}
	// One slice ad-hoc, the other with a team: the team is found.
	mixed, err := machotest.Fat(machotest.Build(t, "arm64"), amd)
	if err != nil {
		t.Fatal(err)
	}
	if team, err := macho.TeamID(bytes.NewReader(mixed), int64(len(mixed))); team != "X9E956P446" || err != nil {
		t.Errorf("mixed: %q, %v", team, err)
	}
}

func TestReadMinimal(t *testing.T) {
	for _, arch := range []string{"arm64", "amd64"} {
		bin, err := machotest.Minimal(arch)
		if err != nil {
			t.Fatal(err)
		}
		if sigs, err := read(t, bin); err != nil || len(sigs) != 1 || sigs[0].Signed {
			t.Errorf("%s unsigned: %+v, %v", arch, sigs, err)
		}
		signed := sign(t, bin, "com.example.app", "")
		checkStillMachO(t, signed)
		sigs, err := read(t, signed)
		if err != nil || len(sigs) != 1 || !sigs[0].Signed || !sigs[0].AdHoc || sigs[0].TeamID != "" || sigs[0].Identifier != "com.example.app" {
			t.Errorf("%s ad-hoc: %+v, %v", arch, sigs, err)
		}
	}
}

// sigOffset returns where the signature of a thin signed file starts.
func sigOffset(t *testing.T, b []byte) int {
	t.Helper()
	f, err := dmacho.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range f.Loads {
		raw := l.Raw()
		if binary.LittleEndian.Uint32(raw) == 0x1d {
			return int(binary.LittleEndian.Uint32(raw[8:]))
		}
	}
	t.Fatal("no LC_CODE_SIGNATURE")
	return 0
}

func TestReadBadInput(t *testing.T) {
	base, err := machotest.Minimal("arm64")
	if err != nil {
		t.Fatal(err)
	}
	signed := sign(t, base, "com.kaspersky.kav", kasperskyTeam)
	so := sigOffset(t, signed)
	be, le := binary.BigEndian, binary.LittleEndian
	// cdOff is where the helper puts the CodeDirectory: after the
	// SuperBlob header and its three index entries.
	cdOff := so + 12 + 3*8
	patch := func(f func(b []byte)) []byte {
		b := bytes.Clone(signed)
		f(b)
		return b
	}
	fat, err := machotest.Fat(signed)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		data []byte
		want error
		msg  string // part of the message
	}{
		{"empty", nil, macho.ErrNotMachO, "0 bytes"},
		{"shell_script", []byte("#!/bin/sh\nexec /usr/bin/true\n"), macho.ErrNotMachO, `"#!/b"`},
		{"elf", []byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00"), macho.ErrNotMachO, ""},
		{"java_class", []byte("\xca\xfe\xba\xbe\x00\x00\x00\x34\x00\x10"), macho.ErrNotMachO, "Java"},
		{"fat_no_arches", []byte("\xca\xfe\xba\xbe\x00\x00\x00\x00"), macho.ErrNotMachO, ""},
		{"truncated_header", signed[:20], macho.ErrMalformed, "header"},
		{"truncated_signature", signed[:so+100], macho.ErrMalformed, "truncated"},
		{"signature_past_end", patch(func(b []byte) {
			// dataoff of LC_CODE_SIGNATURE, the third load command
			le.PutUint32(b[32+2*72+8:], 0xfffffff0)
		}), macho.ErrMalformed, "runs past the end"},
		{"huge_load_commands", patch(func(b []byte) { le.PutUint32(b[20:], 0x7fffffff) }), macho.ErrMalformed, "load commands"},
		{"too_many_load_commands", patch(func(b []byte) { le.PutUint32(b[16:], 0xffffffff) }), macho.ErrMalformed, "cannot fit"},
		{"zero_size_load_command", patch(func(b []byte) { le.PutUint32(b[32+4:], 0) }), macho.ErrMalformed, "size 0"},
		{"bad_superblob_magic", patch(func(b []byte) { be.PutUint32(b[so:], 0xdeadbeef) }), macho.ErrMalformed, "magic"},
		{"superblob_too_long", patch(func(b []byte) { be.PutUint32(b[so+4:], 0xffffff) }), macho.ErrMalformed, "truncated"},
		{"absurd_blob_count", patch(func(b []byte) { be.PutUint32(b[so+8:], 0x7fffffff) }), macho.ErrMalformed, "blobs"},
		{"no_codedirectory", patch(func(b []byte) { be.PutUint32(b[so+12:], 7) }), macho.ErrMalformed, "no CodeDirectory"},
		{"codedirectory_outside", patch(func(b []byte) { be.PutUint32(b[so+16:], 0xfffff) }), macho.ErrMalformed, "outside"},
		{"bad_codedirectory_magic", patch(func(b []byte) { be.PutUint32(b[cdOff:], 1) }), macho.ErrMalformed, "CodeDirectory has magic"},
		{"codedirectory_too_long", patch(func(b []byte) { be.PutUint32(b[cdOff+4:], 0xffffff) }), macho.ErrMalformed, "truncated"},
		{"team_offset_outside", patch(func(b []byte) { be.PutUint32(b[cdOff+48:], 0xffffff) }), macho.ErrMalformed, "team identifier"},
		{"team_unterminated", patch(func(b []byte) {
			// point the team at the hash slots, which hold no NUL for
			// a while but run into the end of the CodeDirectory
			cdLen := be.Uint32(b[cdOff+4:])
			be.PutUint32(b[cdOff+48:], cdLen-4)
			copy(b[cdOff+int(cdLen)-4:], "ABCD")
		}), macho.ErrMalformed, "not terminated"},
		{"team_control_chars", patch(func(b []byte) {
			i := bytes.Index(b[cdOff:], []byte(kasperskyTeam))
			b[cdOff+i] = '\n'
		}), macho.ErrMalformed, "control"},
		{"fat_slice_outside", func() []byte {
			b := bytes.Clone(fat)
			be.PutUint32(b[8+8:], 0x7ffffff0)
			return b
		}(), macho.ErrMalformed, "outside the file"},
		{"fat_slice_not_macho", func() []byte {
			b := bytes.Clone(fat)
			off := be.Uint32(b[8+8:])
			copy(b[off:], "#!/bin/sh\n")
			return b
		}(), macho.ErrMalformed, "does not start"},
		{"fat_header_cut", fat[:20], macho.ErrMalformed, "cut short"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sigs, err := read(t, tt.data)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v (sigs %+v), want %v", err, sigs, tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %q, want it to mention %q", err, tt.msg)
			}
			for _, s := range sigs {
				if s.TeamID != "" {
					t.Errorf("team %q read from a broken file", s.TeamID)
				}
			}
		})
	}
}

// A universal file with one broken slice still gives the good one's team.
func TestReadFatPartlyBroken(t *testing.T) {
	good := sign(t, machotest.Build(t, "arm64"), "com.kaspersky.kav", kasperskyTeam)
	bad := sign(t, machotest.Build(t, "amd64"), "com.kaspersky.kav", kasperskyTeam)
	so := sigOffset(t, bad)
	bad = bad[:so+40] // the amd64 slice's signature cut short
	fat, err := machotest.Fat(bad, good)
	if err != nil {
		t.Fatal(err)
	}
	team, err := macho.TeamID(bytes.NewReader(fat), int64(len(fat)))
	if team != kasperskyTeam || !errors.Is(err, macho.ErrMalformed) || !strings.Contains(err.Error(), "x86_64 slice") {
		t.Errorf("team %q, err %v", team, err)
	}
}
