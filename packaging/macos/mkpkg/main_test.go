package main

import (
	"debug/macho"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// machO is a minimal 64-bit Mach-O executable whose only load command is
// LC_BUILD_VERSION (platform macOS) with minimum OS major.minor.
func machO(t *testing.T, dir, name string, cpu macho.Cpu, major, minor uint32) string {
	t.Helper()
	b := make([]byte, 32+24)
	le := binary.LittleEndian
	le.PutUint32(b[0:], macho.Magic64)
	le.PutUint32(b[4:], uint32(cpu))
	le.PutUint32(b[12:], uint32(macho.TypeExec))
	le.PutUint32(b[16:], 1)  // ncmds
	le.PutUint32(b[20:], 24) // sizeofcmds
	lc := b[32:]
	le.PutUint32(lc[0:], 0x32) // LC_BUILD_VERSION
	le.PutUint32(lc[4:], 24)
	le.PutUint32(lc[8:], 1) // PLATFORM_MACOS
	le.PutUint32(lc[12:], major<<16|minor<<8)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	plist := filepath.Join(dir, "p.plist")
	if err := os.WriteFile(plist, []byte("<plist/>"), 0o644); err != nil {
		t.Fatal(err)
	}
	amd := machO(t, dir, "amd", macho.CpuAmd64, 12, 0)
	arm := machO(t, dir, "arm", macho.CpuArm64, 12, 0)
	arm13 := machO(t, dir, "arm13", macho.CpuArm64, 13, 0)
	out := filepath.Join(dir, "out.pkg")
	base := func(amd64, arm64 string) []string {
		return []string{"-amd64", amd64, "-arm64", arm64, "-plist", plist, "-scripts", "../scripts", "-version", "1.2.3", "-out", out}
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"builds", base(amd, arm), 0},
		{"missing flags", []string{"-amd64", amd}, 2},
		{"binary needs a newer macOS than the Distribution allows", base(amd, arm13), 1},
		{"same CPU twice", base(amd, amd), 1},
		{"not Mach-O", base(plist, arm), 1},
		{"version not numeric", append(base(amd, arm), "-version", "1.2.3+g1"), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(out)
			if code := run(tc.args); code != tc.code {
				t.Fatalf("exit %d, want %d", code, tc.code)
			}
			_, err := os.Stat(out)
			if (err == nil) != (tc.code == 0) {
				t.Errorf("output exists: %v, want %v", err == nil, tc.code == 0)
			}
		})
	}
}
