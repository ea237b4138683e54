package pe

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509/pkix"
	"debug/pe"
	"encoding/asn1"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/detect/pe/petest"
)

// This file builds the test inputs this package needs beyond what petest
// (version resources, a real Go binary cross-compiled for Windows,
// throwaway code-signing identities, signatures by osslsigncode) makes:
// synthetic PE images, PE32 among them, and the test identities' subjects.

// ---------------------------------------------------------------- version

// kesVersion is the version resource of a Kaspersky Endpoint Security
// avp.exe, as its Properties → Details tab shows it (values from the
// product's public documentation and fingerprints.md §4).
func kesVersion() []byte {
	return petest.VersionResource(petest.Version{
		CompanyName:      "AO Kaspersky Lab",
		FileDescription:  "Kaspersky Endpoint Security for Windows",
		FileVersion:      "12.3.0.493",
		InternalName:     "avp",
		LegalCopyright:   "© 2023 AO Kaspersky Lab",
		OriginalFilename: "avp.exe",
		ProductName:      "Kaspersky Endpoint Security for Windows",
		ProductVersion:   "12.3.0.493",
	})
}

// english is a US English string table of a version resource.
func english(kv ...[2]string) petest.Table { return petest.Table{Lang: "040904b0", Strings: kv} }

// ---------------------------------------------------------------- images

// Layout of the synthetic images.
const (
	synthPEOffset  = 0x80
	synthHeaders   = 0x400
	synthFileAlign = 0x200
	synthSectAlign = 0x1000
)

type section struct {
	name  string
	data  []byte
	chars uint32
}

// buildPE builds a PE image (PE32+ for AMD64, or PE32 for I386) with a .text
// section holding text and, when version is not nil, a .rsrc section
// holding it as the version resource.
func buildPE(t testing.TB, text, version []byte, pe32 bool) []byte {
	t.Helper()
	secs := []section{{".text", text, 0x60000020}}
	if version != nil {
		secs = append(secs, section{".rsrc", nil, 0x40000040})
	}
	// Addresses first, so the resource section knows its own.
	rva := uint32(synthSectAlign)
	raw := uint32(synthHeaders)
	type placed struct {
		section
		rva, raw, rawSize uint32
	}
	var ps []placed
	for _, s := range secs {
		if s.name == ".rsrc" {
			s.data = petest.ResourceSection(rva, version)
		}
		size := alignUp(uint32(len(s.data)), synthFileAlign)
		ps = append(ps, placed{s, rva, raw, size})
		rva += alignUp(max(uint32(len(s.data)), 1), synthSectAlign)
		raw += size
	}
	var buf bytes.Buffer
	put := func(v any) {
		if err := binary.Write(&buf, binary.LittleEndian, v); err != nil {
			t.Fatalf("buildPE: encode %T: %v", v, err)
		}
	}
	dos := make([]byte, synthPEOffset)
	dos[0], dos[1] = 'M', 'Z'
	binary.LittleEndian.PutUint32(dos[0x3c:], synthPEOffset)
	buf.Write(dos)
	buf.WriteString("PE\x00\x00")
	fh := pe.FileHeader{
		Machine:              pe.IMAGE_FILE_MACHINE_AMD64,
		NumberOfSections:     uint16(len(ps)),
		SizeOfOptionalHeader: 240,
		Characteristics:      pe.IMAGE_FILE_EXECUTABLE_IMAGE | pe.IMAGE_FILE_LARGE_ADDRESS_AWARE,
	}
	if pe32 {
		fh.Machine, fh.SizeOfOptionalHeader = pe.IMAGE_FILE_MACHINE_I386, 224
		fh.Characteristics = pe.IMAGE_FILE_EXECUTABLE_IMAGE | pe.IMAGE_FILE_32BIT_MACHINE
	}
	put(fh)
	var dirs [16]pe.DataDirectory
	for _, p := range ps {
		if p.name == ".rsrc" {
			dirs[dirResource] = pe.DataDirectory{VirtualAddress: p.rva, Size: uint32(len(p.data))}
		}
	}
	if pe32 {
		put(pe.OptionalHeader32{
			Magic: 0x10b, AddressOfEntryPoint: synthSectAlign, BaseOfCode: synthSectAlign,
			ImageBase: 0x400000, SectionAlignment: synthSectAlign, FileAlignment: synthFileAlign,
			MajorOperatingSystemVersion: 6, MajorSubsystemVersion: 6,
			SizeOfImage: rva, SizeOfHeaders: synthHeaders, Subsystem: 3,
			SizeOfStackReserve: 0x100000, SizeOfStackCommit: 0x1000,
			SizeOfHeapReserve: 0x100000, SizeOfHeapCommit: 0x1000,
			NumberOfRvaAndSizes: 16, DataDirectory: dirs,
		})
	} else {
		put(pe.OptionalHeader64{
			Magic: 0x20b, AddressOfEntryPoint: synthSectAlign, BaseOfCode: synthSectAlign,
			ImageBase: 0x140000000, SectionAlignment: synthSectAlign, FileAlignment: synthFileAlign,
			MajorOperatingSystemVersion: 6, MajorSubsystemVersion: 6,
			SizeOfImage: rva, SizeOfHeaders: synthHeaders, Subsystem: 3,
			DllCharacteristics: 0x8160,
			SizeOfStackReserve: 0x100000, SizeOfStackCommit: 0x1000,
			SizeOfHeapReserve: 0x100000, SizeOfHeapCommit: 0x1000,
			NumberOfRvaAndSizes: 16, DataDirectory: dirs,
		})
	}
	for _, p := range ps {
		var sh pe.SectionHeader32
		copy(sh.Name[:], p.name)
		sh.VirtualSize, sh.VirtualAddress = uint32(len(p.data)), p.rva
		sh.SizeOfRawData, sh.PointerToRawData = p.rawSize, p.raw
		sh.Characteristics = p.chars
		put(sh)
	}
	out := make([]byte, synthHeaders, raw)
	copy(out, buf.Bytes())
	for _, p := range ps {
		out = append(out, p.data...)
		out = append(out, make([]byte, int(p.rawSize)-len(p.data))...)
	}
	return out
}

func alignUp(n, a uint32) uint32 { return (n + a - 1) &^ (a - 1) }

// withResource returns a linked PE32+ image (a Go binary has no
// resources) with version as its version resource.
func withResource(t testing.TB, exe, version []byte) []byte {
	t.Helper()
	out, err := petest.WithVersionResource(exe, version)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func write(t testing.TB, name string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// ---------------------------------------------------------------- signing

// Subjects of the test signers, encoded in the order real certificates use
// (country first), so the package must reverse them.
func kasperskyRDNs() pkix.RDNSequence {
	return pkix.RDNSequence{
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 5}, Value: "1027739867473"}},
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 6}, Value: "RU"}},
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 8}, Value: "Moscow"}},
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 7}, Value: "Moscow"}},
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 10}, Value: "AO Kaspersky Lab"}},
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "AO Kaspersky Lab"}},
	}
}

const kasperskyDN = "CN=AO Kaspersky Lab, O=AO Kaspersky Lab, L=Moscow, S=Moscow, C=RU, SERIALNUMBER=1027739867473"

func otherRDNs() pkix.RDNSequence {
	return pkix.RDNSequence{
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 6}, Value: "US"}},
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 10}, Value: "Other Vendor, Inc."}},
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "Other Vendor, Inc."}},
	}
}

const otherDN = `CN="Other Vendor, Inc.", O="Other Vendor, Inc.", C=US`

// newSigner makes a code-signing identity called name with the given
// subject and key type ("rsa" or "ecdsa"), its files in dir.
func newSigner(t testing.TB, dir, name string, subject pkix.RDNSequence, keyType string) petest.Signer {
	t.Helper()
	var key crypto.Signer
	var err error
	switch keyType {
	case "rsa":
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ecdsa":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		t.Fatalf("key type %q", keyType)
	}
	if err != nil {
		t.Fatal(err)
	}
	return petest.NewSignerFor(t, dir, name, subject, key)
}

// calculatedDigest asks osslsigncode for the Authenticode digest it
// computes for a signed file: an independent oracle for ours.
func calculatedDigest(t testing.TB, signed []byte) string {
	t.Helper()
	tool := petest.Osslsigncode(t)
	p := filepath.Join(t.TempDir(), "f.exe")
	write(t, p, signed)
	out, _ := exec.Command(tool, "verify", "-in", p).CombinedOutput() // fails on the untrusted chain
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "Calculated message digest" {
			return strings.ToLower(strings.TrimSpace(v))
		}
	}
	t.Fatalf("osslsigncode verify printed no calculated digest:\n%s", out)
	return ""
}

// certTable returns the offset and size of a signed image's certificate
// table.
func certTable(t testing.TB, b []byte) (int, int) {
	t.Helper()
	img, err := Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	d := img.dir(dirSecurity)
	if d.Size == 0 {
		t.Fatal("image is not signed")
	}
	return int(d.VirtualAddress), int(d.Size)
}

// pkcs7Of returns the PKCS#7 blob of a signed image's first certificate.
func pkcs7Of(t testing.TB, b []byte) []byte {
	t.Helper()
	off, _ := certTable(t, b)
	n := int(binary.LittleEndian.Uint32(b[off:]))
	return bytes.Clone(b[off+8 : off+n])
}
