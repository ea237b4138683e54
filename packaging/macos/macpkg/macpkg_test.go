package macpkg

import (
	"bytes"
	"debug/macho"
	"encoding/binary"
	"errors"
	"io/fs"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

var epoch = time.Unix(1700000000, 0).UTC()

// sampleTree is a small payload with every entry type.
func sampleTree() []File {
	return []File{
		{Path: ".", Mode: fs.ModeDir | 0o755, ModTime: epoch},
		{Path: "opt", Mode: fs.ModeDir | 0o755, ModTime: epoch},
		{Path: "opt/app", Mode: fs.ModeDir | 0o750, GID: 80, ModTime: epoch},
		{Path: "opt/app/tool", Mode: 0o755, ModTime: epoch, Data: []byte("#!/bin/sh\necho hi\n")},
		{Path: "opt/app/empty", Mode: 0o600, ModTime: epoch},
		{Path: "opt/app/link", Mode: fs.ModeSymlink | 0o755, ModTime: epoch, Target: "tool"},
	}
}

func TestCksumMatchesPOSIX(t *testing.T) {
	// Values printed by GNU coreutils 9.1 `cksum` (the POSIX algorithm).
	for _, tc := range []struct {
		in   string
		want uint32
	}{{"", 4294967295}, {"a", 1220704766}, {"123456789", 930766865}} {
		if got := Cksum([]byte(tc.in)); got != tc.want {
			t.Errorf("Cksum(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestCPIORoundTrip(t *testing.T) {
	files := sampleTree()
	var buf bytes.Buffer
	if err := WriteCPIO(&buf, files); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "070707") || !strings.Contains(buf.String(), "./opt/app/tool\x00") {
		t.Fatalf("not an odc archive with ./ names: %q", buf.String()[:80])
	}
	got, err := ReadCPIO(&buf, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for i := range files {
		if files[i].Data == nil && got[i].Data != nil && len(got[i].Data) == 0 {
			got[i].Data = nil
		}
	}
	if !reflect.DeepEqual(got, files) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, files)
	}
}

func TestBomRoundTrip(t *testing.T) {
	files := sampleTree()
	var buf bytes.Buffer
	if err := WriteBom(&buf, files); err != nil {
		t.Fatal(err)
	}
	got, err := ReadBom(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	want := []BomEntry{
		{Path: ".", Type: BomDirectory, Mode: 0o40755, ModTime: epoch},
		{Path: "./opt", Type: BomDirectory, Mode: 0o40755, ModTime: epoch},
		{Path: "./opt/app", Type: BomDirectory, Mode: 0o40750, GID: 80, ModTime: epoch},
		{Path: "./opt/app/tool", Type: BomFile, Mode: 0o100755, ModTime: epoch, Size: 18, Checksum: Cksum([]byte("#!/bin/sh\necho hi\n"))},
		{Path: "./opt/app/empty", Type: BomFile, Mode: 0o100600, ModTime: epoch, Checksum: Cksum(nil)},
		{Path: "./opt/app/link", Type: BomLink, Mode: 0o120755, ModTime: epoch, Size: 4, Checksum: Cksum([]byte("tool")), Target: "tool"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("bom:\n got %+v\nwant %+v", got, want)
	}
}

// TestBomManyPaths crosses the one-leaf limit, so the Paths tree gets a
// meta node and chained leaves.
func TestBomManyPaths(t *testing.T) {
	files := []File{{Path: ".", Mode: fs.ModeDir | 0o755}}
	for i := range 1200 {
		files = append(files, File{Path: "f" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + "-" + strconv.Itoa(i), Mode: 0o644, Data: []byte(strconv.Itoa(i))})
	}
	var buf bytes.Buffer
	if err := WriteBom(&buf, files); err != nil {
		t.Fatal(err)
	}
	got, err := ReadBom(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(files) {
		t.Fatalf("%d paths read back, want %d", len(got), len(files))
	}
	for i, e := range got {
		if want := cpioName(files[i].Path); e.Path != want || e.Size != uint32(files[i].size()) {
			t.Fatalf("path %d: %q size %d, want %q size %d", i, e.Path, e.Size, want, files[i].size())
		}
	}
}

func TestBadTrees(t *testing.T) {
	for name, files := range map[string][]File{
		"empty":          nil,
		"no root":        {{Path: "opt", Mode: fs.ModeDir | 0o755}},
		"orphan":         {{Path: ".", Mode: fs.ModeDir | 0o755}, {Path: "a/b", Mode: 0o644}},
		"parent is file": {{Path: ".", Mode: fs.ModeDir | 0o755}, {Path: "a", Mode: 0o644}, {Path: "a/b", Mode: 0o644}},
		"dup":            {{Path: ".", Mode: fs.ModeDir | 0o755}, {Path: "a", Mode: 0o644}, {Path: "a", Mode: 0o644}},
		"absolute":       {{Path: ".", Mode: fs.ModeDir | 0o755}, {Path: "/a", Mode: 0o644}},
		"dotdot":         {{Path: ".", Mode: fs.ModeDir | 0o755}, {Path: "../a", Mode: 0o644}},
		"device":         {{Path: ".", Mode: fs.ModeDir | 0o755}, {Path: "a", Mode: fs.ModeDevice | 0o644}},
	} {
		if err := WriteBom(&bytes.Buffer{}, files); err == nil {
			t.Errorf("%s: WriteBom accepted it", name)
		}
	}
}

func TestXarRoundTrip(t *testing.T) {
	files := []XarFile{
		{Name: "Distribution", Mode: 0o644, User: "root", Group: "wheel", ModTime: epoch, Data: []byte("<xml/>\n"), Compress: true},
		{Name: "base.pkg", Dir: true, Mode: 0o755, User: "root", Group: "wheel", ModTime: epoch, Children: []XarFile{
			{Name: "Payload", Mode: 0o644, ModTime: epoch, Data: bytes.Repeat([]byte("payload"), 1000)},
			{Name: "Empty", Mode: 0o600, ModTime: epoch},
		}},
	}
	var buf bytes.Buffer
	if err := WriteXar(&buf, files, epoch); err != nil {
		t.Fatal(err)
	}
	if got := binary.BigEndian.Uint16(buf.Bytes()[4:]); string(buf.Bytes()[:4]) != "xar!" || got != 28 {
		t.Fatalf("header: %q size %d", buf.Bytes()[:4], got)
	}
	x, err := OpenXar(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range x.Entries {
		paths = append(paths, e.Path)
	}
	if want := []string{"Distribution", "base.pkg", "base.pkg/Payload", "base.pkg/Empty"}; !reflect.DeepEqual(paths, want) {
		t.Fatalf("entries %q, want %q", paths, want)
	}
	for p, want := range map[string][]byte{"Distribution": []byte("<xml/>\n"), "base.pkg/Payload": files[1].Children[0].Data, "base.pkg/Empty": {}} {
		got, err := x.ReadFile(p)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("ReadFile(%s) = %d bytes, %v; want %d bytes", p, len(got), err, len(want))
		}
	}
	if e, _ := x.Entry("Distribution"); e.Encoding != xarZlib || e.User != "root" || e.Mode != 0o644 || !e.ModTime.Equal(epoch) {
		t.Errorf("Distribution entry %+v", e)
	}
	if _, err := x.ReadFile("nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing member: %v", err)
	}
	// A flipped heap byte is caught by the archived checksum.
	bad := bytes.Clone(buf.Bytes())
	bad[len(bad)-1] ^= 1
	xb, err := OpenXar(bytes.NewReader(bad), int64(len(bad)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := xb.ReadFile("base.pkg/Payload"); !errors.Is(err, ErrXar) {
		t.Errorf("corrupt payload read: %v", err)
	}
	// Same input, same bytes.
	var again bytes.Buffer
	if err := WriteXar(&again, files, epoch); err != nil || !bytes.Equal(again.Bytes(), buf.Bytes()) {
		t.Errorf("WriteXar is not deterministic (%v)", err)
	}
}

// thinMachO is a minimal 64-bit Mach-O header (no load commands) that
// debug/macho accepts, padded with a marker.
func thinMachO(cpu macho.Cpu, sub uint32, marker string) []byte {
	b := make([]byte, 32)
	binary.LittleEndian.PutUint32(b[0:], macho.Magic64)
	binary.LittleEndian.PutUint32(b[4:], uint32(cpu))
	binary.LittleEndian.PutUint32(b[8:], sub)
	binary.LittleEndian.PutUint32(b[12:], uint32(macho.TypeExec))
	return append(b, marker...)
}

func TestUniversal(t *testing.T) {
	amd := thinMachO(macho.CpuAmd64, 3, "amd64 slice")
	arm := thinMachO(macho.CpuArm64, 0, "arm64 slice")
	fat, err := Universal(amd, arm)
	if err != nil {
		t.Fatal(err)
	}
	ff, err := macho.NewFatFile(bytes.NewReader(fat))
	if err != nil {
		t.Fatal(err)
	}
	if len(ff.Arches) != 2 {
		t.Fatalf("%d arches", len(ff.Arches))
	}
	for i, want := range []struct {
		cpu   macho.Cpu
		align uint32
		data  []byte
	}{{macho.CpuAmd64, 12, amd}, {macho.CpuArm64, 14, arm}} {
		a := ff.Arches[i]
		if a.Cpu != want.cpu || a.Align != want.align || a.Offset%(1<<want.align) != 0 || !bytes.Equal(fat[a.Offset:a.Offset+a.Size], want.data) {
			t.Errorf("arch %d: %+v", i, a.FatArchHeader)
		}
	}
	if _, err := Universal(amd, amd); err == nil {
		t.Error("the same CPU twice was accepted")
	}
	if _, err := Universal([]byte("not mach-o")); err == nil {
		t.Error("a non-Mach-O slice was accepted")
	}
	// The Bom describes a universal file by its slices.
	arches, typ := machOArches(fat)
	if typ != bomBinaryUniversal || len(arches) != 2 || arches[1].Checksum != Cksum(arm) {
		t.Errorf("bom arches %+v type %d", arches, typ)
	}
}

func TestProductValidation(t *testing.T) {
	ok := Product{Identifier: "io.example.app", Version: "1.2.3", Title: "x", MinOS: "12.0", Files: sampleTree(), ModTime: epoch}
	if err := ok.Write(&bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*Product){
		"identifier": func(p *Product) { p.Identifier = "bad id\"" },
		"version":    func(p *Product) { p.Version = "1.2.3+g123" },
		"min os":     func(p *Product) { p.MinOS = "" },
		"title":      func(p *Product) { p.Title = " " },
		"script":     func(p *Product) { p.Scripts = map[string][]byte{"evil": nil} },
		"tree":       func(p *Product) { p.Files = p.Files[1:] },
	} {
		p := ok
		mut(&p)
		if err := p.Write(&bytes.Buffer{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestVersionLess(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{{"11.7", "12.0", true}, {"12", "12.0", false}, {"12.0", "11.7.10", false}, {"10.15", "10.9", false}} {
		if got := VersionLess(tc.a, tc.b); got != tc.want {
			t.Errorf("VersionLess(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}
