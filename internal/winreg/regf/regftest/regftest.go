// Package regftest makes registry hive files for tests: a minimal valid
// empty hive written here, then filled from .reg text by the real hive
// writer of Debian's libwin-hivex-perl (`hivexregedit --merge`), so the
// hives the tests read were laid out by an independent regf writer.
//
// The layout of the empty hive (base block, one hive bin holding the root
// key node and its security cell) follows "Windows registry file format
// specification" (Maxim Suhanov, github.com/msuhanov/regf).
package regftest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf16"
)

// Prefixes hivexregedit strips from the .reg key paths of each hive.
const (
	SoftwarePrefix = `HKEY_LOCAL_MACHINE\SOFTWARE`
	SystemPrefix   = `HKEY_LOCAL_MACHINE\SYSTEM`
)

// Timestamp is the FILETIME written into the empty hive's base block, hive
// bin and root key: 2024-01-01T00:00:00Z.
const Timestamp uint64 = 133485408000000000

const (
	baseBlockSize = 4096
	binSize       = 4096
	binHeaderSize = 32
	noOffset      = 0xFFFFFFFF
)

// EmptyHive returns a minimal valid hive: a base block with a correct
// checksum and equal sequence numbers, and one 4 KiB hive bin holding the
// root key node (named rootName, ASCII), a security cell it points at and
// one free cell filling the rest of the bin.
func EmptyHive(rootName string) []byte {
	b := make([]byte, baseBlockSize+binSize)
	le := binary.LittleEndian

	// Base block.
	copy(b[0:], "regf")
	le.PutUint32(b[4:], 1) // primary sequence number
	le.PutUint32(b[8:], 1) // secondary sequence number
	le.PutUint64(b[12:], Timestamp)
	le.PutUint32(b[20:], 1)             // major version
	le.PutUint32(b[24:], 5)             // minor version
	le.PutUint32(b[28:], 0)             // file type: primary
	le.PutUint32(b[32:], 1)             // file format: direct memory load
	le.PutUint32(b[36:], binHeaderSize) // root cell offset
	le.PutUint32(b[40:], binSize)       // hive bins data size
	le.PutUint32(b[44:], 1)             // clustering factor
	for i, u := range utf16.Encode([]rune(rootName)) {
		if 2*i+2 > 64 {
			break
		}
		le.PutUint16(b[48+2*i:], u)
	}
	le.PutUint32(b[508:], Checksum(b[:508]))

	// Hive bin header.
	bin := b[baseBlockSize:]
	copy(bin[0:], "hbin")
	le.PutUint32(bin[4:], 0)       // offset of this bin
	le.PutUint32(bin[8:], binSize) // size of this bin
	le.PutUint64(bin[20:], Timestamp)

	// Root key node.
	const rootOff = binHeaderSize
	nkLen := align8(4 + 76 + len(rootName))
	skOff := rootOff + nkLen
	nk := bin[rootOff:]
	le.PutUint32(nk[0:], uint32(-int32(nkLen)))
	c := nk[4:]
	copy(c[0:], "nk")
	le.PutUint16(c[2:], 0x0004|0x0008|0x0020) // hive entry, no delete, ASCII name
	le.PutUint64(c[4:], Timestamp)
	le.PutUint32(c[16:], noOffset) // parent
	le.PutUint32(c[28:], noOffset) // subkeys list
	le.PutUint32(c[32:], noOffset) // volatile subkeys list
	le.PutUint32(c[40:], noOffset) // values list
	le.PutUint32(c[44:], uint32(skOff))
	le.PutUint32(c[48:], noOffset) // class name
	le.PutUint16(c[72:], uint16(len(rootName)))
	copy(c[76:], rootName)

	// Security cell: a self-relative descriptor with an empty DACL, alone
	// in its list (flink and blink point at itself).
	sd := []byte{
		1, 0, 0x04, 0x80, // revision 1, control: DACL present | self-relative
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // owner, group, SACL: none
		20, 0, 0, 0, // DACL at 20
		2, 0, 8, 0, 0, 0, 0, 0, // ACL revision 2, size 8, no entries
	}
	skLen := align8(4 + 20 + len(sd))
	sk := bin[skOff:]
	le.PutUint32(sk[0:], uint32(-int32(skLen)))
	s := sk[4:]
	copy(s[0:], "sk")
	le.PutUint32(s[4:], uint32(skOff))
	le.PutUint32(s[8:], uint32(skOff))
	le.PutUint32(s[12:], 1) // reference count: the root key
	le.PutUint32(s[16:], uint32(len(sd)))
	copy(s[20:], sd)

	// The rest of the bin is one free cell (positive size).
	freeOff := skOff + skLen
	le.PutUint32(bin[freeOff:], uint32(binSize-freeOff))
	return b
}

func align8(n int) int { return (n + 7) &^ 7 }

// Checksum is the base block's XOR-32 checksum of its first 508 bytes.
func Checksum(b []byte) uint32 {
	var c uint32
	for i := 0; i+4 <= 508 && i+4 <= len(b); i += 4 {
		c ^= binary.LittleEndian.Uint32(b[i:])
	}
	return c
}

// Tool is the hive writer the helpers run.
const Tool = "hivexregedit"

// WriteHive writes an empty hive to path and merges regText into it with
// hivexregedit, stripping prefix from the .reg key paths. regText may be
// UTF-8 or UTF-16LE with a byte order mark, with CRLF or LF line ends, as
// regedit and Wine export it. An empty regText leaves the hive empty.
func WriteHive(path, prefix string, regText []byte) error {
	if err := os.WriteFile(path, EmptyHive("ROOT"), 0o644); err != nil {
		return err
	}
	if len(bytes.TrimSpace(regText)) == 0 {
		return nil
	}
	return Merge(path, prefix, regText)
}

// Merge merges regText into the hive at path with hivexregedit.
func Merge(path, prefix string, regText []byte) error {
	tool, err := exec.LookPath(Tool)
	if err != nil {
		return fmt.Errorf("%s not found (Debian package libwin-hivex-perl; scripts/install-deps.sh installs it): %w", Tool, err)
	}
	reg := filepath.Join(filepath.Dir(path), filepath.Base(path)+".merge.reg")
	if err := os.WriteFile(reg, normalize(prefix, regText), 0o644); err != nil {
		return err
	}
	defer os.Remove(reg)
	var stderr bytes.Buffer
	cmd := exec.Command(tool, "--merge", "--prefix", prefix, path, reg)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s --merge %s: %w: %s", Tool, filepath.Base(path), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// normalize turns .reg text into what hivexregedit reads: UTF-8 with LF
// line ends, without Wine's "#time=" lines, a blank line before each key,
// and each key's missing ancestors below prefix named before it, since
// hivexregedit, unlike regedit, creates a key only under an existing
// parent.
func normalize(prefix string, b []byte) []byte {
	if len(b) >= 2 && b[0] == 0xFF && b[1] == 0xFE {
		u := make([]uint16, (len(b)-2)/2)
		for i := range u {
			u[i] = binary.LittleEndian.Uint16(b[2+2*i:])
		}
		b = []byte(string(utf16.Decode(u)))
	}
	b = bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))
	lines := strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	seen := map[string]bool{strings.ToLower(prefix): true}
	var out strings.Builder
	for _, line := range lines {
		if strings.HasPrefix(line, "#time=") {
			continue
		}
		trimmed := strings.TrimRight(line, " \t")
		if strings.HasPrefix(trimmed, "[-") && strings.HasSuffix(trimmed, "]") {
			gone := strings.ToLower(trimmed[2 : len(trimmed)-1])
			for k := range seen {
				if k == gone || strings.HasPrefix(k, gone+`\`) {
					delete(seen, k)
				}
			}
			out.WriteString("\n")
		} else if strings.HasPrefix(trimmed, "[") && strings.HasSuffix(trimmed, "]") {
			key := trimmed[1 : len(trimmed)-1]
			parts := strings.Split(key, `\`)
			for i := 1; i < len(parts); i++ {
				anc := strings.Join(parts[:i], `\`)
				if len(anc) <= len(prefix) || seen[strings.ToLower(anc)] {
					continue
				}
				seen[strings.ToLower(anc)] = true
				fmt.Fprintf(&out, "\n[%s]\n", anc)
			}
			seen[strings.ToLower(key)] = true
			out.WriteString("\n")
		}
		out.WriteString(hexString(line))
		out.WriteString("\n")
	}
	return []byte(out.String())
}

// stringValue is a `"name"="text"` or `@="text"` line of a .reg file.
var stringValue = regexp.MustCompile(`^(@|"(?:[^"\\]|\\.)*")="((?:[^"\\]|\\.)*)"\s*$`)

// hexString rewrites a string value holding non-ASCII text as hex(1):
// UTF-16LE bytes, since hivexregedit encodes the bytes of its input, not
// the UTF-8 characters, into UTF-16.
func hexString(line string) string {
	m := stringValue.FindStringSubmatch(line)
	if m == nil || isASCII(m[2]) {
		return line
	}
	text := strings.NewReplacer(`\\`, `\`, `\"`, `"`).Replace(m[2])
	var b strings.Builder
	b.WriteString(m[1] + "=hex(1):")
	for i, u := range append(utf16.Encode([]rune(text)), 0) {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%02x,%02x", byte(u), byte(u>>8))
	}
	return b.String()
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// Hive writes a hive filled from regText (key paths under prefix) into
// the test's temporary directory and returns its path. It fails the test,
// never skips it, when hivexregedit is missing.
func Hive(t testing.TB, prefix string, regText string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hive")
	if err := WriteHive(path, prefix, []byte(regText)); err != nil {
		t.Fatal(err)
	}
	return path
}

// HiveFile is [Hive] with the .reg text read from a file (a testdata
// fixture).
func HiveFile(t testing.TB, prefix, regFile string) string {
	t.Helper()
	b, err := os.ReadFile(regFile)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), filepath.Base(regFile)+".hive")
	if err := WriteHive(path, prefix, b); err != nil {
		t.Fatal(err)
	}
	return path
}
