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
	"crypto"
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

// VersionResource encodes v as a VS_VERSIONINFO block with one string
// table, US English.
func VersionResource(v Version) []byte {
	var strs [][2]string
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
			strs = append(strs, kv)
		}
	}
	return VersionInfo(v.FileVersion, v.ProductVersion, Table{Lang: codePageTable, Strings: strs})
}

// Table is one StringTable of a version resource: its language and code
// page as the key names them ("040904b0": US English, Unicode) and its
// key, value pairs in order.
type Table struct {
	Lang    string
	Strings [][2]string
}

// VersionInfo encodes a VS_VERSIONINFO block whose fixed file and product
// versions are fileVersion and productVersion ("a.b.c.d", fewer parts
// allowed; anything else is zero) and whose StringFileInfo holds tables,
// in the order given.
func VersionInfo(fileVersion, productVersion string, tables ...Table) []byte {
	fixed := make([]byte, fixedInfoLength)
	le := binary.LittleEndian
	le.PutUint32(fixed[0:], fixedSignature)
	le.PutUint32(fixed[4:], 0x00010000)
	fv, pv := dotted(fileVersion), dotted(productVersion)
	le.PutUint32(fixed[8:], fv[0]<<16|fv[1])
	le.PutUint32(fixed[12:], fv[2]<<16|fv[3])
	le.PutUint32(fixed[16:], pv[0]<<16|pv[1])
	le.PutUint32(fixed[20:], pv[2]<<16|pv[3])
	le.PutUint32(fixed[32:], 0x00040004) // VOS_NT_WINDOWS32
	le.PutUint32(fixed[36:], 1)          // VFT_APP

	sfi := Block{Key: "StringFileInfo", Text: true}
	for _, t := range tables {
		st := Block{Key: t.Lang, Text: true}
		for _, kv := range t.Strings {
			st.Children = append(st.Children, StringBlock(kv[0], kv[1]))
		}
		sfi.Children = append(sfi.Children, st)
	}
	translation := []byte{0x09, 0x04, 0xb0, 0x04}
	vfi := Block{Key: "VarFileInfo", Text: true, Children: []Block{{Key: "Translation", Value: translation, ValueLen: 4}}}
	root := Block{Key: "VS_VERSION_INFO", Value: fixed, ValueLen: fixedInfoLength, Children: []Block{sfi, vfi}}
	return root.Bytes()
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

// Block is one block of a VS_VERSIONINFO tree — length, value length,
// type, key, padding, value, padding, children — for tests that build
// odd ones by hand.
type Block struct {
	Key      string
	Text     bool // wType 1: the value is text
	Value    []byte
	ValueLen uint16 // wValueLength: UTF-16 units of a text value, bytes of a binary one
	Children []Block
}

// StringBlock is a String block: key and value, NUL-terminated UTF-16.
func StringBlock(key, value string) Block {
	return Block{Key: key, Text: true, Value: utf16z(value), ValueLen: uint16(len(utf16.Encode([]rune(value))) + 1)}
}

// Bytes encodes b, its wLength counting everything it holds.
func (b Block) Bytes() []byte {
	out := make([]byte, 6, 64)
	out = append(out, utf16z(b.Key)...)
	out = align4(out)
	out = append(out, b.Value...)
	for _, c := range b.Children {
		out = align4(out)
		out = append(out, c.Bytes()...)
	}
	le := binary.LittleEndian
	le.PutUint16(out[0:], uint16(len(out)))
	le.PutUint16(out[2:], b.ValueLen)
	if b.Text {
		le.PutUint16(out[4:], 1)
	}
	return out
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

// ResourceSection lays out the data of a .rsrc section placed at rva
// holding blob as the only resource: type RT_VERSION, id 1, language US
// English.
func ResourceSection(rva uint32, blob []byte) []byte {
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
	return WithVersionResource(exe, VersionResource(v))
}

// WithVersionResource is [WithVersion] for a version resource already
// encoded (by [VersionInfo], or by hand).
func WithVersionResource(exe, res []byte) ([]byte, error) {
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
	data := ResourceSection(end, res)
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

// Signer is a throwaway code-signing identity: a leaf certificate issued
// by its own test root ("CN=avscout test root <name>, O=avscout tests"),
// as PEM files osslsigncode reads.
type Signer struct {
	// Serial is the leaf certificate's serial number.
	Serial     *big.Int
	certs, key string
}

// NewSigner makes an identity whose certificate subject names org (as CN
// and O, after country, as real certificates encode it), with an ECDSA
// P-256 key, writing its files under dir.
func NewSigner(t testing.TB, dir, org, country string) Signer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return NewSignerFor(t, dir, org, pkix.RDNSequence{
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 6}, Value: country}},
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 10}, Value: org}},
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: org}},
	}, key)
}

// NewSignerFor makes an identity called name whose certificate has
// exactly subject, encoded in the order given, and key (RSA or ECDSA),
// writing its files under dir.
func NewSignerFor(t testing.TB, dir, name string, subject pkix.RDNSequence, key crypto.Signer) Signer {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "avscout test root " + name, Organization: []string{"avscout tests"}},
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
	rawSubject, err := asn1.Marshal(subject)
	if err != nil {
		t.Fatal(err)
	}
	// A positive serial of ten bytes, unlikely to occur elsewhere in a
	// signed file, so a test can find it there.
	serial := make([]byte, 10)
	if _, err := rand.Read(serial); err != nil {
		t.Fatal(err)
	}
	serial[0] = 0x0f
	leaf := &x509.Certificate{
		SerialNumber: new(big.Int).SetBytes(serial),
		RawSubject:   rawSubject,
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
	}, name))
	s := Signer{Serial: leaf.SerialNumber, certs: base + ".crt", key: base + ".key"}
	var chain bytes.Buffer
	for _, der := range [][]byte{leafDER, caDER} {
		if err := pem.Encode(&chain, &pem.Block{Type: "CERTIFICATE", Bytes: der}); err != nil {
			t.Fatalf("petest: encode the certificate chain: %v", err)
		}
	}
	writeFile(t, s.certs, chain.Bytes())
	writeFile(t, s.key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	return s
}

// Description is the program description (SpcSpOpusInfo) of every
// signature petest makes.
const Description = "avscout signed program"

// Sign returns exe signed by s (Authenticode, SHA-256), made by
// osslsigncode.
func Sign(t testing.TB, exe []byte, s Signer) []byte {
	t.Helper()
	return SignWith(t, exe, s, "sha256", false)
}

// SignWith returns exe signed by s with the digest algorithm digest
// ("sha256", "sha1", ...); with nest, the signature is added to those exe
// has (a nested signature) instead of replacing them.
func SignWith(t testing.TB, exe []byte, s Signer, digest string, nest bool) []byte {
	t.Helper()
	tool := Osslsigncode(t)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.exe"), filepath.Join(dir, "out.exe")
	writeFile(t, in, exe)
	args := []string{"sign"}
	if nest {
		args = append(args, "-nest")
	}
	args = append(args, "-certs", s.certs, "-key", s.key, "-h", digest, "-n", Description, "-in", in, "-out", out)
	if msg, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
		t.Fatalf("petest: osslsigncode %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Osslsigncode returns the path of the osslsigncode tool, failing the
// test when it is missing: a signature test must not pass vacuously.
func Osslsigncode(t testing.TB) string {
	t.Helper()
	tool, err := exec.LookPath("osslsigncode")
	if err != nil {
		t.Fatalf("petest: osslsigncode is not installed (%v): CI must install the Debian package osslsigncode "+
			"(scripts/install-deps.sh does)", err)
	}
	return tool
}

// WindowsProgram cross-compiles a minimal Go program for windows/amd64 and
// returns the executable: a linked PE32+ image with no resources and room
// for more sections. The first build of the Windows standard library
// takes half a minute; later ones come from the build cache.
func WindowsProgram(t testing.TB) []byte {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "go.mod"), []byte("module tiny\n\ngo 1.22\n"))
	writeFile(t, filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() { println(\"avscout pe test\") }\n"))
	out := filepath.Join(dir, "tiny.exe")
	cmd := exec.Command(goTool, "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0", "GOWORK=off", "GOTOOLCHAIN=local", "GOFLAGS=-buildvcs=false")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("petest: cross-compile a Windows program: %v\n%s", err, msg)
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
