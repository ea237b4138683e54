// Package petest dresses Windows executables for tests: it gives a linked
// PE32+ image (a Go program cross-compiled for Windows) a version
// resource, as a resource editor would, and signs it with a throwaway
// code-signing identity through osslsigncode, so that a test's avp.exe or
// klif.sys says who made it the way a real file does (Properties →
// Details, and the Authenticode signer).
//
// Signing needs osslsigncode (Debian package "osslsigncode"); when it is
// missing the calling test fails, never skips: CI must install it
// (scripts/install-deps.sh does).
package petest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"debug/pe"
	"encoding/asn1"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

// Version is what a file's version resource says, as Explorer's
// Properties → Details tab shows it. Empty strings are left out.
type Version struct {
	CompanyName      string
	FileDescription  string
	ProductName      string
	FileVersion      string // also the fixed file version, when dotted numbers
	ProductVersion   string // also the fixed product version, when dotted numbers
	OriginalFilename string
	InternalName     string
	LegalCopyright   string
}

// Layout constants of the PE and VS_VERSIONINFO formats (Microsoft PE
// format specification; VS_FIXEDFILEINFO).
const (
	rtVersion       = 16     // RT_VERSION
	langEnglishUS   = 0x0409 // the language the resource is filed under
	dirResource     = 2      // IMAGE_DIRECTORY_ENTRY_RESOURCE
	dirsOffset64    = 112    // DataDirectory[0] in a PE32+ optional header
	fixedSignature  = 0xFEEF04BD
	fixedInfoLength = 52
	sectionHeader   = 40
	rsrcFlags       = 0x40000040 // initialised data, readable
	codePageTable   = "040904b0" // US English, Unicode
)

// VersionResource encodes v as a VS_VERSIONINFO block.
func VersionResource(v Version) []byte {
	fixed := make([]byte, fixedInfoLength)
	le := binary.LittleEndian
	le.PutUint32(fixed[0:], fixedSignature)
	le.PutUint32(fixed[4:], 0x00010000)
	fv, pv := dotted(v.FileVersion), dotted(v.ProductVersion)
	le.PutUint32(fixed[8:], fv[0]<<16|fv[1])
	le.PutUint32(fixed[12:], fv[2]<<16|fv[3])
	le.PutUint32(fixed[16:], pv[0]<<16|pv[1])
	le.PutUint32(fixed[20:], pv[2]<<16|pv[3])
	le.PutUint32(fixed[32:], 0x00040004) // VOS_NT_WINDOWS32
	le.PutUint32(fixed[36:], 1)          // VFT_APP

	var strs []node
	for _, kv := range [][2]string{
		{"CompanyName", v.CompanyName},
		{"FileDescription", v.FileDescription},
		{"FileVersion", v.FileVersion},
		{"InternalName", v.InternalName},
		{"LegalCopyright", v.LegalCopyright},
		{"OriginalFilename", v.OriginalFilename},
		{"ProductName", v.ProductName},
		{"ProductVersion", v.ProductVersion},
	} {
		if kv[1] != "" {
			strs = append(strs, node{key: kv[0], text: true, value: utf16z(kv[1]), valueLen: uint16(len(utf16.Encode([]rune(kv[1]))) + 1)})
		}
	}
	table := node{key: codePageTable, text: true, children: strs}
	sfi := node{key: "StringFileInfo", text: true, children: []node{table}}
	translation := []byte{0x09, 0x04, 0xb0, 0x04}
	vfi := node{key: "VarFileInfo", text: true, children: []node{{key: "Translation", value: translation, valueLen: 4}}}
	root := node{key: "VS_VERSION_INFO", value: fixed, valueLen: fixedInfoLength, children: []node{sfi, vfi}}
	return root.encode()
}

// dotted parses "a.b.c.d" (fewer parts allowed); anything else is zero.
func dotted(s string) [4]uint32 {
	var out [4]uint32
	for i, p := range strings.SplitN(s, ".", 4) {
		n, err := strconv.ParseUint(strings.TrimSpace(p), 10, 16)
		if err != nil {
			return [4]uint32{}
		}
		out[i] = uint32(n)
	}
	return out
}

// node is one block of a VS_VERSIONINFO tree: length, value length, type,
// key, padding, value, padding, children.
type node struct {
	key      string
	text     bool
	value    []byte
	valueLen uint16
	children []node
}

func (n node) encode() []byte {
	b := make([]byte, 6, 64)
	b = append(b, utf16z(n.key)...)
	b = align4(b)
	b = append(b, n.value...)
	for _, c := range n.children {
		b = align4(b)
		b = append(b, c.encode()...)
	}
	le := binary.LittleEndian
	le.PutUint16(b[0:], uint16(len(b)))
	le.PutUint16(b[2:], n.valueLen)
	if n.text {
		le.PutUint16(b[4:], 1)
	}
	return b
}

func utf16z(s string) []byte {
	u := utf16.Encode([]rune(s + "\x00"))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

func align4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// rsrcSection lays out a resource directory at rva holding blob as the
// only resource: type RT_VERSION, id 1, language US English.
func rsrcSection(rva uint32, blob []byte) []byte {
	const dirLen, entryLen, dataEntryLen = 16, 8, 16
	// Three directories of one entry each, then the data entry, then the data.
	dataEntryAt := 3 * (dirLen + entryLen)
	dataAt := dataEntryAt + dataEntryLen
	b := make([]byte, dataAt+len(blob))
	le := binary.LittleEndian
	entry := func(level int, id, target uint32) {
		off := level * (dirLen + entryLen)
		le.PutUint16(b[off+14:], 1) // one entry with an id
		le.PutUint32(b[off+dirLen:], id)
		le.PutUint32(b[off+dirLen+4:], target)
	}
	const subdir = 0x80000000
	entry(0, rtVersion, subdir|uint32(dirLen+entryLen))
	entry(1, 1, subdir|uint32(2*(dirLen+entryLen)))
	entry(2, langEnglishUS, uint32(dataEntryAt))
	le.PutUint32(b[dataEntryAt:], rva+uint32(dataAt))
	le.PutUint32(b[dataEntryAt+4:], uint32(len(blob)))
	copy(b[dataAt:], blob)
	return b
}

func alignUp(n, a uint32) uint32 { return (n + a - 1) &^ (a - 1) }

// WithVersion returns a copy of the PE32+ image exe with a .rsrc section
// holding v as its version resource, appended and entered in the headers
// as a resource editor would. exe must have no resources yet and room for
// one more section header (a Go program for windows/amd64 has both).
func WithVersion(exe []byte, v Version) ([]byte, error) {
	f, err := pe.NewFile(bytes.NewReader(exe))
	if err != nil {
		return nil, fmt.Errorf("petest: %w", err)
	}
	oh, ok := f.OptionalHeader.(*pe.OptionalHeader64)
	if !ok {
		return nil, errors.New("petest: not a PE32+ image")
	}
	if oh.DataDirectory[dirResource].VirtualAddress != 0 {
		return nil, errors.New("petest: the image has resources already")
	}
	le := binary.LittleEndian
	peAt := int(le.Uint32(exe[0x3c:]))
	optAt := peAt + 24
	table := optAt + int(f.FileHeader.SizeOfOptionalHeader)
	n := len(f.Sections)
	if table+(n+1)*sectionHeader > int(oh.SizeOfHeaders) {
		return nil, errors.New("petest: no room for another section header")
	}
	var end uint32
	for _, s := range f.Sections {
		end = max(end, alignUp(s.VirtualAddress+max(s.VirtualSize, 1), oh.SectionAlignment))
	}
	data := rsrcSection(end, VersionResource(v))
	out := bytes.Clone(exe)
	for uint32(len(out))%oh.FileAlignment != 0 {
		out = append(out, 0)
	}
	rawAt := uint32(len(out))
	rawLen := alignUp(uint32(len(data)), oh.FileAlignment)
	out = append(out, data...)
	out = append(out, make([]byte, int(rawLen)-len(data))...)

	var sh pe.SectionHeader32
	copy(sh.Name[:], ".rsrc")
	sh.VirtualSize, sh.VirtualAddress = uint32(len(data)), end
	sh.SizeOfRawData, sh.PointerToRawData = rawLen, rawAt
	sh.Characteristics = rsrcFlags
	var hdr bytes.Buffer
	if err := binary.Write(&hdr, le, sh); err != nil {
		return nil, fmt.Errorf("petest: %w", err)
	}
	copy(out[table+n*sectionHeader:], hdr.Bytes())
	le.PutUint16(out[peAt+6:], uint16(n+1))                                           // NumberOfSections
	le.PutUint32(out[optAt+56:], alignUp(end+uint32(len(data)), oh.SectionAlignment)) // SizeOfImage
	le.PutUint32(out[optAt+dirsOffset64+dirResource*8:], end)
	le.PutUint32(out[optAt+dirsOffset64+dirResource*8+4:], uint32(len(data)))
	return out, nil
}

// Signer is a throwaway code-signing identity: a leaf certificate for one
// organisation, issued by its own test root, as PEM files osslsigncode
// reads.
type Signer struct {
	Organization string
	certs, key   string
}

// NewSigner makes an identity whose certificate subject names org (as CN
// and O, with country c), writing its files under dir.
func NewSigner(t testing.TB, dir, org, country string) Signer {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "avscout test root for " + org, Organization: []string{"avscout tests"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// Country first, as real certificates encode it.
	subject, err := asn1.Marshal(pkix.RDNSequence{
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 6}, Value: country}},
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 10}, Value: org}},
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: org}},
	})
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		RawSubject:   subject,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, org))
	s := Signer{Organization: org, certs: base + ".crt", key: base + ".key"}
	var chain bytes.Buffer
	pem.Encode(&chain, &pem.Block{Type: "CERTIFICATE", Bytes: leafDER})
	pem.Encode(&chain, &pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	writeFile(t, s.certs, chain.Bytes())
	writeFile(t, s.key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	return s
}

// Sign returns exe signed by s (Authenticode, SHA-256), made by
// osslsigncode.
func Sign(t testing.TB, exe []byte, s Signer) []byte {
	t.Helper()
	tool, err := exec.LookPath("osslsigncode")
	if err != nil {
		t.Fatalf("petest: osslsigncode is not installed (%v): CI must install the Debian package osslsigncode "+
			"(scripts/install-deps.sh does)", err)
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.exe"), filepath.Join(dir, "out.exe")
	writeFile(t, in, exe)
	args := []string{"sign", "-certs", s.certs, "-key", s.key, "-h", "sha256", "-n", s.Organization, "-in", in, "-out", out}
	if msg, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
		t.Fatalf("petest: osslsigncode %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, name string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
