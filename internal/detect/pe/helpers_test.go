package pe

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"debug/pe"
	"encoding/asn1"
	"encoding/binary"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

// This file builds the test inputs: PE images (synthetic ones, and a real
// Go binary cross-compiled for Windows), version resources, throwaway
// code-signing certificates, and signatures made by osslsigncode, the
// tool CI installs (scripts/install-deps.sh).

// ---------------------------------------------------------------- version

// vsNode is one block of a VS_VERSIONINFO tree.
type vsNode struct {
	key      string
	typ      uint16 // 1 text, 0 binary
	value    []byte
	valueLen uint16
	children []vsNode
}

func (n vsNode) bytes() []byte {
	b := make([]byte, 6)
	b = append(b, utf16le(n.key+"\x00")...)
	b = pad4(b)
	b = append(b, n.value...)
	for _, c := range n.children {
		b = pad4(b)
		b = append(b, c.bytes()...)
	}
	binary.LittleEndian.PutUint16(b[0:], uint16(len(b)))
	binary.LittleEndian.PutUint16(b[2:], n.valueLen)
	binary.LittleEndian.PutUint16(b[4:], n.typ)
	return b
}

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func strNode(k, v string) vsNode {
	return vsNode{key: k, typ: 1, value: utf16le(v + "\x00"), valueLen: uint16(len(utf16.Encode([]rune(v))) + 1)}
}

// versionBlob builds a VS_VERSIONINFO with the fixed versions and one
// string table per language, each a list of key, value pairs.
func versionBlob(fileVer, prodVer [4]uint16, tables map[string][][2]string) []byte {
	fixed := make([]byte, fixedInfoSize)
	le := binary.LittleEndian
	le.PutUint32(fixed[0:], fixedInfoSig)
	le.PutUint32(fixed[4:], 0x00010000)
	le.PutUint32(fixed[8:], uint32(fileVer[0])<<16|uint32(fileVer[1]))
	le.PutUint32(fixed[12:], uint32(fileVer[2])<<16|uint32(fileVer[3]))
	le.PutUint32(fixed[16:], uint32(prodVer[0])<<16|uint32(prodVer[1]))
	le.PutUint32(fixed[20:], uint32(prodVer[2])<<16|uint32(prodVer[3]))
	le.PutUint32(fixed[32:], 0x40004) // VOS_NT_WINDOWS32
	le.PutUint32(fixed[36:], 1)       // VFT_APP
	var sfi vsNode
	sfi.key, sfi.typ = "StringFileInfo", 1
	keys := make([]string, 0, len(tables))
	for k := range tables {
		keys = append(keys, k)
	}
	// Deterministic order: as sorted strings.
	for i := range keys {
		for j := i + 1; j < len(keys); j++ {
			if keys[j] < keys[i] {
				keys[i], keys[j] = keys[j], keys[i]
			}
		}
	}
	for _, k := range keys {
		st := vsNode{key: k, typ: 1}
		for _, kv := range tables[k] {
			st.children = append(st.children, strNode(kv[0], kv[1]))
		}
		sfi.children = append(sfi.children, st)
	}
	trans := []byte{0x09, 0x04, 0xb0, 0x04}
	vfi := vsNode{key: "VarFileInfo", typ: 1, children: []vsNode{{key: "Translation", value: trans, valueLen: 4}}}
	root := vsNode{key: "VS_VERSION_INFO", value: fixed, valueLen: fixedInfoSize, children: []vsNode{sfi, vfi}}
	return root.bytes()
}

// kesVersion is the version resource of a Kaspersky Endpoint Security
// avp.exe, as its Properties → Details tab shows it (values from the
// product's public documentation and fingerprints.md §4).
func kesVersion() []byte {
	return versionBlob([4]uint16{12, 3, 0, 493}, [4]uint16{12, 3, 0, 493}, map[string][][2]string{
		"040904b0": {
			{"CompanyName", "AO Kaspersky Lab"},
			{"FileDescription", "Kaspersky Endpoint Security for Windows"},
			{"FileVersion", "12.3.0.493"},
			{"InternalName", "avp"},
			{"LegalCopyright", "© 2023 AO Kaspersky Lab"},
			{"OriginalFilename", "avp.exe"},
			{"ProductName", "Kaspersky Endpoint Security for Windows"},
			{"ProductVersion", "12.3.0.493"},
		},
	})
}

// ---------------------------------------------------------------- images

// resourceSection builds a .rsrc section at rva holding blob as the only
// resource: RT_VERSION, ID 1, language 0x409.
func resourceSection(rva uint32, blob []byte) []byte {
	b := make([]byte, 88+len(blob))
	dir := func(off int, id, target uint32) {
		binary.LittleEndian.PutUint16(b[off+14:], 1)
		binary.LittleEndian.PutUint32(b[off+16:], id)
		binary.LittleEndian.PutUint32(b[off+20:], target)
	}
	dir(0, rtVersion, 0x80000000|24)
	dir(24, 1, 0x80000000|48)
	dir(48, langEnglishUS, 72)
	binary.LittleEndian.PutUint32(b[72:], rva+88)
	binary.LittleEndian.PutUint32(b[76:], uint32(len(blob)))
	copy(b[88:], blob)
	return b
}

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
func buildPE(text, version []byte, pe32 bool) []byte {
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
			s.data = resourceSection(rva, version)
		}
		size := alignUp(uint32(len(s.data)), synthFileAlign)
		ps = append(ps, placed{s, rva, raw, size})
		rva += alignUp(max(uint32(len(s.data)), 1), synthSectAlign)
		raw += size
	}
	var buf bytes.Buffer
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
	binary.Write(&buf, binary.LittleEndian, fh)
	var dirs [16]pe.DataDirectory
	for _, p := range ps {
		if p.name == ".rsrc" {
			dirs[dirResource] = pe.DataDirectory{VirtualAddress: p.rva, Size: uint32(len(p.data))}
		}
	}
	if pe32 {
		binary.Write(&buf, binary.LittleEndian, pe.OptionalHeader32{
			Magic: 0x10b, AddressOfEntryPoint: synthSectAlign, BaseOfCode: synthSectAlign,
			ImageBase: 0x400000, SectionAlignment: synthSectAlign, FileAlignment: synthFileAlign,
			MajorOperatingSystemVersion: 6, MajorSubsystemVersion: 6,
			SizeOfImage: rva, SizeOfHeaders: synthHeaders, Subsystem: 3,
			SizeOfStackReserve: 0x100000, SizeOfStackCommit: 0x1000,
			SizeOfHeapReserve: 0x100000, SizeOfHeapCommit: 0x1000,
			NumberOfRvaAndSizes: 16, DataDirectory: dirs,
		})
	} else {
		binary.Write(&buf, binary.LittleEndian, pe.OptionalHeader64{
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
		binary.Write(&buf, binary.LittleEndian, sh)
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

// addResourceSection appends a .rsrc section holding version to a linked
// PE32+ image (a Go binary has none), patching the headers as a resource
// editor does.
func addResourceSection(t testing.TB, exe, version []byte) []byte {
	t.Helper()
	f, err := pe.NewFile(bytes.NewReader(exe))
	if err != nil {
		t.Fatalf("parse Go binary: %v", err)
	}
	oh, ok := f.OptionalHeader.(*pe.OptionalHeader64)
	if !ok {
		t.Fatalf("Go binary is not PE32+")
	}
	if oh.DataDirectory[dirResource].VirtualAddress != 0 {
		t.Fatalf("Go binary already has resources")
	}
	le := binary.LittleEndian
	peOff := int(le.Uint32(exe[0x3c:]))
	optOff := peOff + 24
	secTable := optOff + int(f.FileHeader.SizeOfOptionalHeader)
	n := len(f.Sections)
	if secTable+(n+1)*40 > int(oh.SizeOfHeaders) {
		t.Fatalf("no room for another section header")
	}
	var end uint32
	for _, s := range f.Sections {
		end = max(end, alignUp(s.VirtualAddress+max(s.VirtualSize, 1), oh.SectionAlignment))
	}
	rva := end
	data := resourceSection(rva, version)
	out := bytes.Clone(exe)
	for len(out)%int(oh.FileAlignment) != 0 {
		out = append(out, 0)
	}
	rawOff := uint32(len(out))
	rawSize := alignUp(uint32(len(data)), oh.FileAlignment)
	out = append(out, data...)
	out = append(out, make([]byte, int(rawSize)-len(data))...)

	var sh pe.SectionHeader32
	copy(sh.Name[:], ".rsrc")
	sh.VirtualSize, sh.VirtualAddress = uint32(len(data)), rva
	sh.SizeOfRawData, sh.PointerToRawData = rawSize, rawOff
	sh.Characteristics = 0x40000040
	var hb bytes.Buffer
	binary.Write(&hb, le, sh)
	copy(out[secTable+n*40:], hb.Bytes())
	le.PutUint16(out[peOff+6:], uint16(n+1))                                           // NumberOfSections
	le.PutUint32(out[optOff+56:], alignUp(rva+uint32(len(data)), oh.SectionAlignment)) // SizeOfImage
	le.PutUint32(out[optOff+dirsOffset64+dirResource*8:], rva)
	le.PutUint32(out[optOff+dirsOffset64+dirResource*8+4:], uint32(len(data)))
	return out
}

// goBinary cross-compiles a minimal Go program for windows/amd64 and
// returns the executable's bytes. The first build of the Windows standard
// library takes half a minute; later ones come from the build cache.
func goBinary(t testing.TB) []byte {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	dir := t.TempDir()
	write(t, filepath.Join(dir, "go.mod"), []byte("module tiny\n\ngo 1.22\n"))
	write(t, filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() { println(\"avscout pe test\") }\n"))
	out := filepath.Join(dir, "tiny.exe")
	cmd := exec.Command(goTool, "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0", "GOWORK=off", "GOTOOLCHAIN=local", "GOFLAGS=-buildvcs=false")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cross-compile test program: %v\n%s", err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
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

// signer is a throwaway code-signing identity: its certificate chain and
// key as PEM files for osslsigncode.
type signer struct {
	certs, key string
	subject    string // as this package writes it
}

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

// newSigner makes a CA and a leaf code-signing certificate with the given
// subject and key type ("rsa" or "ecdsa"), writes them to dir and returns
// the identity.
func newSigner(t testing.TB, dir, name string, subject pkix.RDNSequence, keyType string) signer {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "avscout test root " + name, Organization: []string{"avscout tests"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)

	var key crypto.Signer
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
	rawSubject, err := asn1.Marshal(subject)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: new(big.Int).SetBytes([]byte{0x0f, 0xa1, 0x7e, 0x57, byte(len(name))}),
		RawSubject:   rawSubject,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	s := signer{certs: filepath.Join(dir, name+".crt"), key: filepath.Join(dir, name+".key")}
	var certs bytes.Buffer
	pem.Encode(&certs, &pem.Block{Type: "CERTIFICATE", Bytes: leafDER})
	pem.Encode(&certs, &pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	write(t, s.certs, certs.Bytes())
	write(t, s.key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	return s
}

// osslsigncode returns the tool's path, failing the test when it is
// missing: signature tests must not pass vacuously.
func osslsigncode(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("osslsigncode")
	if err != nil {
		t.Fatalf("osslsigncode is not installed: the Authenticode tests sign real files with it. " +
			"CI must install it: scripts/install-deps.sh installs the Debian package osslsigncode")
	}
	return p
}

// sign signs in with s using digest ("sha256", "sha1", …); with nest it
// adds a nested signature to an already signed file.
func sign(t testing.TB, in []byte, s signer, digest string, nest bool) []byte {
	t.Helper()
	tool := osslsigncode(t)
	dir := t.TempDir()
	inPath, outPath := filepath.Join(dir, "in.exe"), filepath.Join(dir, "out.exe")
	write(t, inPath, in)
	args := []string{"sign"}
	if nest {
		args = append(args, "-nest")
	}
	args = append(args, "-certs", s.certs, "-key", s.key, "-h", digest, "-n", "avscout signed program", "-in", inPath, "-out", outPath)
	if msg, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
		t.Fatalf("osslsigncode %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	b, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// calculatedDigest asks osslsigncode for the Authenticode digest it
// computes for a signed file: an independent oracle for ours.
func calculatedDigest(t testing.TB, signed []byte) string {
	t.Helper()
	tool := osslsigncode(t)
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
