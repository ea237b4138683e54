package macpkg

import (
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strconv"
	"time"
)

// xar (eXtensible ARchiver) is the container of a flat package: a 28-byte
// big-endian header (magic "xar!", header size, version 1, compressed and
// uncompressed TOC lengths, checksum algorithm 1 = SHA-1), the zlib
// compressed XML table of contents, then the heap. Heap offset 0 holds
// the SHA-1 of the compressed TOC, which the TOC's <checksum> element
// points at and which a package signature signs; file data follows.
// Source: the xar project's documentation of the header and TOC
// (mackyle/xar wiki "xarformat"), and the xar archives pkgbuild writes.
const (
	xarMagic      = "xar!"
	xarHeaderSize = 28
	xarVersion    = 1
	xarSHA1       = 1
	// xarTimeLayout is how xar writes times (UTC, no fraction).
	xarTimeLayout = "2006-01-02T15:04:05Z"
	// Encodings a TOC names for file data: stored as is, or zlib
	// (which xar calls "application/x-gzip").
	xarRaw  = "application/octet-stream"
	xarZlib = "application/x-gzip"
	// maxTOC bounds the TOC a reader inflates.
	maxTOC = 64 << 20
)

// XarFile is one member of a xar archive to write.
type XarFile struct {
	Name        string
	Dir         bool
	Mode        fs.FileMode // permission bits
	UID, GID    uint32
	User, Group string
	ModTime     time.Time
	Data        []byte
	Compress    bool // store zlib-compressed (for text; not for Payload, already gzip)
	Children    []XarFile
}

type xarDoc struct {
	XMLName xml.Name `xml:"xar"`
	TOC     xarTOC   `xml:"toc"`
}

type xarTOC struct {
	Checksum     xarChecksum `xml:"checksum"`
	CreationTime string      `xml:"creation-time"`
	// Signatures are parsed (not written) so a signed package reads.
	Signature  *xarChecksum `xml:"signature,omitempty"`
	XSignature *xarChecksum `xml:"x-signature,omitempty"`
	Files      []xarEntry   `xml:"file"`
}

type xarChecksum struct {
	Style  string `xml:"style,attr"`
	Offset int64  `xml:"offset"`
	Size   int64  `xml:"size"`
}

type xarEntry struct {
	ID    int        `xml:"id,attr"`
	Data  *xarData   `xml:"data,omitempty"`
	CTime string     `xml:"ctime"`
	MTime string     `xml:"mtime"`
	ATime string     `xml:"atime"`
	Group string     `xml:"group"`
	GID   uint32     `xml:"gid"`
	User  string     `xml:"user"`
	UID   uint32     `xml:"uid"`
	Mode  string     `xml:"mode"`
	Type  string     `xml:"type"`
	Name  string     `xml:"name"`
	Files []xarEntry `xml:"file"`
}

type xarData struct {
	Length    int64       `xml:"length"`
	Offset    int64       `xml:"offset"`
	Size      int64       `xml:"size"`
	Encoding  xarEncoding `xml:"encoding"`
	Extracted xarSum      `xml:"extracted-checksum"`
	Archived  xarSum      `xml:"archived-checksum"`
}

type xarEncoding struct {
	Style string `xml:"style,attr"`
}

type xarSum struct {
	Style string `xml:"style,attr"`
	Value string `xml:",chardata"`
}

func sha1Hex(b []byte) string {
	s := sha1.Sum(b)
	return hex.EncodeToString(s[:])
}

func zlibBytes(b []byte) ([]byte, error) {
	return compress(b, func(w io.Writer) (io.WriteCloser, error) { return zlib.NewWriterLevel(w, zlib.BestCompression) })
}

// WriteXar writes files as a xar archive with a SHA-1 TOC checksum and
// SHA-1 file checksums. created is the TOC creation time; with equal
// inputs the output is byte-for-byte equal.
func WriteXar(w io.Writer, files []XarFile, created time.Time) error {
	heap := bytes.Buffer{}
	heap.Write(make([]byte, sha1.Size)) // TOC checksum, filled in below
	id := 0
	var conv func([]XarFile, string) ([]xarEntry, error)
	conv = func(fl []XarFile, dir string) ([]xarEntry, error) {
		var out []xarEntry
		names := map[string]bool{}
		for _, f := range fl {
			if f.Name == "" || f.Name == "." || f.Name == ".." || path.Base(f.Name) != f.Name || names[f.Name] {
				return nil, fmt.Errorf("xar: bad or repeated name %q in %q", f.Name, dir)
			}
			names[f.Name] = true
			id++
			t := f.ModTime.UTC().Format(xarTimeLayout)
			e := xarEntry{ID: id, CTime: t, MTime: t, ATime: t, Group: f.Group, GID: f.GID, User: f.User, UID: f.UID,
				Mode: fmt.Sprintf("%04o", uint32(f.Mode.Perm())), Name: f.Name, Type: "file"}
			if f.Dir {
				e.Type = "directory"
				kids, err := conv(f.Children, path.Join(dir, f.Name))
				if err != nil {
					return nil, err
				}
				e.Files = kids
			} else {
				stored, enc := f.Data, xarRaw
				if f.Compress {
					z, err := zlibBytes(f.Data)
					if err != nil {
						return nil, fmt.Errorf("xar %s: %w", f.Name, err)
					}
					stored, enc = z, xarZlib
				}
				e.Data = &xarData{Length: int64(len(stored)), Offset: int64(heap.Len()), Size: int64(len(f.Data)),
					Encoding:  xarEncoding{enc},
					Extracted: xarSum{"sha1", sha1Hex(f.Data)}, Archived: xarSum{"sha1", sha1Hex(stored)}}
				heap.Write(stored)
			}
			out = append(out, e)
		}
		return out, nil
	}
	entries, err := conv(files, "")
	if err != nil {
		return err
	}
	doc := xarDoc{TOC: xarTOC{Checksum: xarChecksum{Style: "sha1", Offset: 0, Size: sha1.Size},
		CreationTime: created.UTC().Format(xarTimeLayout), Files: entries}}
	x, err := xml.MarshalIndent(doc, "", " ")
	if err != nil {
		return fmt.Errorf("xar toc: %w", err)
	}
	toc := append([]byte(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"), x...)
	toc = append(toc, '\n')
	ztoc, err := zlibBytes(toc)
	if err != nil {
		return fmt.Errorf("xar toc: %w", err)
	}
	sum := sha1.Sum(ztoc)
	hb := heap.Bytes()
	copy(hb, sum[:])
	var hdr [xarHeaderSize]byte
	copy(hdr[:], xarMagic)
	binary.BigEndian.PutUint16(hdr[4:], xarHeaderSize)
	binary.BigEndian.PutUint16(hdr[6:], xarVersion)
	binary.BigEndian.PutUint64(hdr[8:], uint64(len(ztoc)))
	binary.BigEndian.PutUint64(hdr[16:], uint64(len(toc)))
	binary.BigEndian.PutUint32(hdr[24:], xarSHA1)
	for _, b := range [][]byte{hdr[:], ztoc, hb} {
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("xar: %w", err)
		}
	}
	return nil
}

// ErrXar marks a malformed xar archive.
var ErrXar = errors.New("malformed xar")

// XarEntry is one member of a read xar archive.
type XarEntry struct {
	Path        string // slash-joined, e.g. "base.pkg/Payload"
	Dir         bool
	Mode        fs.FileMode
	UID, GID    uint32
	User, Group string
	ModTime     time.Time
	Encoding    string
	Offset      int64 // in the heap
	Length      int64 // stored bytes
	Size        int64 // extracted bytes
	archived    string
	extracted   string
}

// Xar is an opened xar archive.
type Xar struct {
	r       io.ReaderAt
	size    int64
	heap    int64
	TOC     []byte // the TOC XML as stored
	Entries []XarEntry
	// Signed says whether the TOC carries a signature element.
	Signed bool
}

// OpenXar reads a xar archive's header and TOC and checks the TOC's
// SHA-1 checksum against the heap.
func OpenXar(r io.ReaderAt, size int64) (*Xar, error) {
	var hdr [xarHeaderSize]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrXar, noEOF(err))
	}
	if string(hdr[:4]) != xarMagic {
		return nil, fmt.Errorf("%w: bad magic %q", ErrXar, hdr[:4])
	}
	hsize := int64(binary.BigEndian.Uint16(hdr[4:]))
	zlen := binary.BigEndian.Uint64(hdr[8:])
	ulen := binary.BigEndian.Uint64(hdr[16:])
	alg := binary.BigEndian.Uint32(hdr[24:])
	if hsize < xarHeaderSize || zlen > uint64(size) || uint64(hsize)+zlen > uint64(size) || ulen > maxTOC {
		return nil, fmt.Errorf("%w: header sizes (header %d, toc %d/%d) do not fit a %d-byte file", ErrXar, hsize, zlen, ulen, size)
	}
	if alg != xarSHA1 {
		return nil, fmt.Errorf("%w: checksum algorithm %d (only SHA-1 is read)", ErrXar, alg)
	}
	ztoc := make([]byte, zlen)
	if _, err := r.ReadAt(ztoc, hsize); err != nil {
		return nil, fmt.Errorf("%w: toc: %w", ErrXar, noEOF(err))
	}
	zr, err := zlib.NewReader(bytes.NewReader(ztoc))
	if err != nil {
		return nil, fmt.Errorf("%w: toc: %w", ErrXar, err)
	}
	toc, err := io.ReadAll(io.LimitReader(zr, int64(ulen)+1))
	if err != nil {
		return nil, fmt.Errorf("%w: toc: %w", ErrXar, err)
	}
	if uint64(len(toc)) != ulen {
		return nil, fmt.Errorf("%w: toc inflates to %d bytes, header says %d", ErrXar, len(toc), ulen)
	}
	var doc xarDoc
	if err := xml.Unmarshal(toc, &doc); err != nil {
		return nil, fmt.Errorf("%w: toc xml: %w", ErrXar, err)
	}
	x := &Xar{r: r, size: size, heap: hsize + int64(zlen), TOC: toc, Signed: doc.TOC.Signature != nil || doc.TOC.XSignature != nil}
	ck := doc.TOC.Checksum
	if ck.Style != "sha1" || ck.Size != sha1.Size {
		return nil, fmt.Errorf("%w: toc checksum style %q size %d", ErrXar, ck.Style, ck.Size)
	}
	stored, err := x.heapBytes(ck.Offset, ck.Size)
	if err != nil {
		return nil, fmt.Errorf("toc checksum: %w", err)
	}
	if want := sha1.Sum(ztoc); !bytes.Equal(stored, want[:]) {
		return nil, fmt.Errorf("%w: toc checksum mismatch", ErrXar)
	}
	var walk func([]xarEntry, string, int) error
	walk = func(es []xarEntry, dir string, depth int) error {
		if depth > 64 {
			return fmt.Errorf("%w: directories nested too deep", ErrXar)
		}
		for _, e := range es {
			if e.Name == "" || e.Name == "." || e.Name == ".." || path.Base(e.Name) != e.Name {
				return fmt.Errorf("%w: bad member name %q in %q", ErrXar, e.Name, dir)
			}
			p := path.Join(dir, e.Name)
			m, err := strconv.ParseUint(e.Mode, 8, 32)
			if err != nil && e.Mode != "" {
				return fmt.Errorf("%w: %s: mode %q", ErrXar, p, e.Mode)
			}
			t, _ := time.Parse(xarTimeLayout, e.MTime)
			xe := XarEntry{Path: p, Dir: e.Type == "directory", Mode: fs.FileMode(m) & fs.ModePerm, UID: e.UID, GID: e.GID,
				User: e.User, Group: e.Group, ModTime: t}
			if e.Data != nil {
				d := e.Data
				if d.Offset < 0 || d.Length < 0 || d.Size < 0 {
					return fmt.Errorf("%w: %s: negative data fields", ErrXar, p)
				}
				xe.Encoding, xe.Offset, xe.Length, xe.Size = d.Encoding.Style, d.Offset, d.Length, d.Size
				xe.archived, xe.extracted = d.Archived.Value, d.Extracted.Value
				if d.Archived.Style != "sha1" || d.Extracted.Style != "sha1" {
					return fmt.Errorf("%w: %s: checksum styles %q/%q (only sha1 is read)", ErrXar, p, d.Archived.Style, d.Extracted.Style)
				}
			}
			x.Entries = append(x.Entries, xe)
			if err := walk(e.Files, p, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(doc.TOC.Files, "", 0); err != nil {
		return nil, err
	}
	return x, nil
}

func (x *Xar) heapBytes(off, n int64) ([]byte, error) {
	if off < 0 || n < 0 || off > x.size || n > x.size-x.heap-off {
		return nil, fmt.Errorf("%w: heap range %d+%d past the end", ErrXar, off, n)
	}
	b := make([]byte, n)
	if n == 0 {
		return b, nil
	}
	if _, err := x.r.ReadAt(b, x.heap+off); err != nil {
		return nil, fmt.Errorf("%w: heap: %w", ErrXar, noEOF(err))
	}
	return b, nil
}

// Entry returns the member at p.
func (x *Xar) Entry(p string) (XarEntry, bool) {
	for _, e := range x.Entries {
		if e.Path == p {
			return e, true
		}
	}
	return XarEntry{}, false
}

// ReadFile returns a member's extracted content after checking both its
// archived and extracted SHA-1 checksums.
func (x *Xar) ReadFile(p string) ([]byte, error) {
	e, ok := x.Entry(p)
	if !ok || e.Dir {
		return nil, fmt.Errorf("xar %s: %w", p, fs.ErrNotExist)
	}
	stored, err := x.heapBytes(e.Offset, e.Length)
	if err != nil {
		return nil, fmt.Errorf("xar %s: %w", p, err)
	}
	if sha1Hex(stored) != e.archived {
		return nil, fmt.Errorf("xar %s: %w: archived checksum mismatch", p, ErrXar)
	}
	data := stored
	switch e.Encoding {
	case xarRaw, "":
	case xarZlib:
		zr, err := zlib.NewReader(bytes.NewReader(stored))
		if err != nil {
			return nil, fmt.Errorf("xar %s: %w: %w", p, ErrXar, err)
		}
		if data, err = io.ReadAll(io.LimitReader(zr, e.Size+1)); err != nil {
			return nil, fmt.Errorf("xar %s: %w: %w", p, ErrXar, err)
		}
	default:
		return nil, fmt.Errorf("xar %s: %w: encoding %q not supported", p, ErrXar, e.Encoding)
	}
	if int64(len(data)) != e.Size || sha1Hex(data) != e.extracted {
		return nil, fmt.Errorf("xar %s: %w: extracted size or checksum mismatch", p, ErrXar)
	}
	return data, nil
}
