package regf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/winreg"
	"github.com/avscout/avscout/internal/winreg/regf/regftest"
)

// The logs these tests replay are built here, as the format specification
// describes them (msuhanov/regf, "Format of transaction log files"), from
// two states of a hive hivex wrote: before (the primary file a crash left
// behind) and after (what the logs hold). No log written by Windows
// itself is used: none can be made on Linux, and none could be committed.
const (
	beforeReg = `Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\SOFTWARE\Vendor\Product]
"DisplayName"="Product 1.0"
"DisplayVersion"="1.0"
`
	afterReg = `Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\SOFTWARE\Vendor\Product]
"DisplayVersion"="2.0"

[HKEY_LOCAL_MACHINE\SOFTWARE\Vendor\Added]
"DisplayName"="Added by the last write"
`
)

// states returns the hive before and after the write the logs record.
func states(t *testing.T) (before, after hiveFile) {
	t.Helper()
	path := regftest.Hive(t, regftest.SoftwarePrefix, beforeReg)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := regftest.Merge(path, regftest.SoftwarePrefix, []byte(afterReg)); err != nil {
		t.Fatal(err)
	}
	a, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b, a
}

// dirty returns before with its sequence numbers saying a write began
// (primary = secondary + 1) and did not end.
func dirty(before hiveFile) hiveFile {
	f := slices.Clone(before)
	le.PutUint32(f[4:], le.Uint32(f[8:])+1)
	f.fixChecksum()
	return f
}

// changedPages are the 4 KiB pages of after's hive bins that differ from
// before's.
func changedPages(before, after hiveFile) []pageRef {
	var out []pageRef
	for off := uint32(0); off < after.binsSize(); off += pageSize {
		a := after[baseBlockSize+off : baseBlockSize+off+pageSize]
		if off+pageSize <= before.binsSize() && bytes.Equal(a, before[baseBlockSize+off:baseBlockSize+off+pageSize]) {
			continue
		}
		out = append(out, pageRef{off: off, data: a})
	}
	return out
}

// logBase is the first sector of a log: after's base block with the
// log's file type, sequence numbers seq and a fresh checksum.
func logBase(after hiveFile, fileType, seq uint32) []byte {
	b := slices.Clone(after[:sectorSize])
	le.PutUint32(b[4:], seq)
	le.PutUint32(b[8:], seq)
	le.PutUint32(b[28:], fileType)
	le.PutUint32(b[508:], regftest.Checksum(b))
	return b
}

// newEntry is an HvLE log entry with its Marvin32 hashes.
func newEntry(seq, binsSize uint32, pages []pageRef) []byte {
	size := 40 + 8*len(pages)
	for _, p := range pages {
		size += len(p.data)
	}
	size = (size + sectorSize - 1) / sectorSize * sectorSize
	b := make([]byte, size)
	copy(b, "HvLE")
	le.PutUint32(b[4:], uint32(size))
	le.PutUint32(b[12:], seq)
	le.PutUint32(b[16:], binsSize)
	le.PutUint32(b[20:], uint32(len(pages)))
	pos := 40 + 8*len(pages)
	for i, p := range pages {
		le.PutUint32(b[40+8*i:], p.off)
		le.PutUint32(b[44+8*i:], uint32(len(p.data)))
		pos += copy(b[pos:], p.data)
	}
	le.PutUint64(b[24:], marvin32(b[40:], logEntrySeed))
	le.PutUint64(b[32:], marvin32(b[:32], logEntrySeed))
	return b
}

func logOf(name string, b []byte) Log {
	return Log{Name: name, R: bytes.NewReader(b), Size: int64(len(b))}
}

// check reads the hive and says whether it holds the after state.
func holdsAfter(t *testing.T, h *Hive) bool {
	t.Helper()
	root, err := h.Root()
	if err != nil {
		t.Fatal(err)
	}
	p, err := root.OpenSubKey(`Vendor\Product`)
	if err != nil {
		t.Fatal(err)
	}
	v, err := winreg.String(p, "DisplayVersion")
	if err != nil {
		t.Fatal(err)
	}
	a, err := root.OpenSubKey(`Vendor\Added`)
	switch {
	case v == "2.0" && err == nil:
		if s, err := winreg.String(a, "DisplayName"); s != "Added by the last write" || err != nil {
			t.Fatalf("Added DisplayName = %q, %v", s, err)
		}
		return true
	case v == "1.0" && errors.Is(err, winreg.ErrNotExist):
		return false
	}
	t.Fatalf("neither state: DisplayVersion %q, Added: %v", v, err)
	return false
}

func TestDirtyHive(t *testing.T) {
	before, after := states(t)
	primary := dirty(before)
	seq := le.Uint32(primary[4:]) // the write's sequence number
	pages := changedPages(before, after)
	if len(pages) == 0 {
		t.Fatal("the merge changed nothing")
	}
	half := len(pages) / 2
	newLog := func(entries ...[]byte) []byte {
		return slices.Concat(append([][]byte{logBase(after, logNew, seq)}, entries...)...)
	}
	whole := newLog(newEntry(seq, after.binsSize(), pages))
	badHash := slices.Clone(whole)
	badHash[sectorSize+40+8*len(pages)+100] ^= 1 // a byte of the first page

	// The old format: the dirty vector's bitmap of 512-byte sectors, then
	// the dirty sectors.
	oldLog := func() []byte {
		base := logBase(after, logOld1, seq)
		copy(base[12:20], before[12:20]) // the primary's last-written time
		le.PutUint32(base[508:], regftest.Checksum(base))
		nbits := after.binsSize() / sectorSize
		vec := append([]byte("DIRT"), make([]byte, (nbits+7)/8)...)
		var sectors []byte
		for i := range nbits {
			off := i * sectorSize
			a := after[baseBlockSize+off : baseBlockSize+off+sectorSize]
			if off+sectorSize <= before.binsSize() && bytes.Equal(a, before[baseBlockSize+off:baseBlockSize+off+sectorSize]) {
				continue
			}
			vec[4+i/8] |= 1 << (i % 8)
			sectors = append(sectors, a...)
		}
		vec = append(vec, make([]byte, (sectorSize-len(vec)%sectorSize)%sectorSize)...)
		return slices.Concat(base, vec, sectors)
	}()

	badSum := slices.Clone(primary)
	badSum[60] ^= 1

	tests := []struct {
		name      string
		primary   hiveFile
		logs      []Log
		dirty     bool
		replayed  bool
		replayErr string
	}{
		{"clean, no logs", before, nil, false, false, ""},
		{"clean with a log: not replayed", before, []Log{logOf("LOG1", whole)}, false, false, ""},
		{"dirty, no logs", primary, nil, true, false, ""},
		{"dirty, new-format LOG1", primary, []Log{logOf("LOG1", whole)}, true, true, ""},
		{"dirty, entries split over LOG1 and LOG2", primary, []Log{
			logOf("LOG1", newLog(newEntry(seq, after.binsSize(), pages[:half]))),
			logOf("LOG2", newLog(newEntry(seq+1, after.binsSize(), pages[half:]))),
		}, true, true, ""},
		{"dirty, LOG2 given first", primary, []Log{
			logOf("LOG2", newLog(newEntry(seq+1, after.binsSize(), pages[half:]))),
			logOf("LOG1", newLog(newEntry(seq, after.binsSize(), pages[:half]))),
		}, true, true, ""},
		{"dirty, an applied entry then the new one", primary, []Log{
			logOf("LOG1", newLog(newEntry(seq-1, after.binsSize(), pages[:1]), newEntry(seq, after.binsSize(), pages))),
		}, true, true, ""},
		{"dirty, only an old entry", primary, []Log{logOf("LOG1", newLog(newEntry(seq-1, after.binsSize(), pages)))}, true, false, "no log entry from sequence number"},
		{"dirty, entry fails its hash", primary, []Log{logOf("LOG1", badHash)}, true, false, "hash mismatch"},
		{"dirty, gap in the sequence", primary, []Log{
			logOf("LOG1", newLog(newEntry(seq, before.binsSize(), nil), newEntry(seq+2, after.binsSize(), pages))),
		}, true, true, "jump from sequence number"},
		{"dirty, log is not a log", primary, []Log{logOf("LOG1", before)}, true, false, "not a transaction log"},
		{"dirty, log too short", primary, []Log{logOf("LOG1", whole[:100])}, true, false, "too short"},
		{"dirty, old-format log", primary, []Log{logOf("LOG", oldLog)}, true, true, ""},
		{"bad checksum, base block recovered from the log", badSum, []Log{logOf("LOG1", whole)}, true, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := openBytes(t, tt.primary, Options{Logs: tt.logs})
			if h.Dirty() != tt.dirty || h.Replayed() != tt.replayed {
				t.Errorf("Dirty() %v Replayed() %v, want %v %v (%v)", h.Dirty(), h.Replayed(), tt.dirty, tt.replayed, h.ReplayError())
			}
			if err := h.ReplayError(); (tt.replayErr == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.replayErr) {
				t.Errorf("ReplayError() = %v, want %q", err, tt.replayErr)
			}
			if got, want := holdsAfter(t, h), tt.replayed && !strings.Contains(tt.name, "gap"); got != want {
				t.Errorf("holds the state after the write: %v, want %v", got, want)
			}
		})
	}
	t.Run("bad checksum without logs", func(t *testing.T) {
		if _, err := Open(bytes.NewReader(badSum), int64(len(badSum)), "TEST", Options{}); err == nil || !strings.Contains(err.Error(), "checksum") {
			t.Errorf("Open: %v, want a checksum error", err)
		}
	})
	t.Run("log data over MaxLogBytes", func(t *testing.T) {
		h := openBytes(t, primary, Options{Logs: []Log{logOf("LOG1", whole)}, MaxLogBytes: 1024})
		if h.Replayed() || h.ReplayError() == nil || !strings.Contains(h.ReplayError().Error(), "bytes of log data allowed") {
			t.Errorf("Replayed() %v, ReplayError() %v", h.Replayed(), h.ReplayError())
		}
	})
}

// TestOpenFS opens a dirty hive through a filesystem, finding its logs
// by name in any case.
func TestOpenFS(t *testing.T) {
	before, after := states(t)
	primary := dirty(before)
	seq := le.Uint32(primary[4:])
	log := slices.Concat(logBase(after, logNew, seq), newEntry(seq, after.binsSize(), changedPages(before, after)))
	dir := t.TempDir()
	for name, b := range map[string][]byte{
		"Windows/System32/config/SOFTWARE":      primary,
		"Windows/System32/config/software.LOG1": log,
		"Windows/System32/config/SOFTWARE.LOG2": nil, // empty, as Windows leaves one
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h, c, err := OpenFS(context.Background(), os.DirFS(dir), "Windows/System32/config/SOFTWARE", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !h.Dirty() || !h.Replayed() || !holdsAfter(t, h) {
		t.Errorf("Dirty() %v Replayed() %v (%v), want both and the state after", h.Dirty(), h.Replayed(), h.ReplayError())
	}
	if _, _, err := OpenFS(context.Background(), os.DirFS(dir), "Windows/System32/config/SYSTEM", Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing hive: %v", err)
	}
}

// endlessFS is fsys whose folder dir lists its real entries and then
// junk without end, as a profile folder its user filled might; handed
// counts the junk.
type endlessFS struct {
	fs.FS
	dir    string
	handed *int
}

func (e endlessFS) Open(name string) (fs.File, error) {
	f, err := e.FS.Open(name)
	if err != nil || name != e.dir {
		return f, err
	}
	return &endlessDir{ReadDirFile: f.(fs.ReadDirFile), handed: e.handed}, nil
}

type endlessDir struct {
	fs.ReadDirFile
	handed   *int
	realDone bool
}

func (d *endlessDir) ReadDir(n int) ([]fs.DirEntry, error) {
	if n <= 0 {
		panic("the whole folder was asked for at once: nothing bounds it")
	}
	if !d.realDone {
		if ents, _ := d.ReadDirFile.ReadDir(n); len(ents) > 0 {
			return ents, nil
		}
		d.realDone = true
	}
	ents := make([]fs.DirEntry, n)
	for i := range ents {
		*d.handed++
		ents[i] = fs.FileInfoToDirEntry(junk(fmt.Sprintf("junk-%09d.tmp", *d.handed)))
	}
	return ents, nil
}

type junk string

func (j junk) Name() string     { return string(j) }
func (junk) Size() int64        { return 0 }
func (junk) Mode() fs.FileMode  { return 0o644 }
func (junk) ModTime() time.Time { return time.Time{} }
func (junk) IsDir() bool        { return false }
func (junk) Sys() any           { return nil }

// A hive in a folder of endless entries: its logs are found among the
// first, and the folder is read no further than the bound.
func TestOpenFSHugeFolder(t *testing.T) {
	before, after := states(t)
	primary := dirty(before)
	seq := le.Uint32(primary[4:])
	log := slices.Concat(logBase(after, logNew, seq), newEntry(seq, after.binsSize(), changedPages(before, after)))
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "Users", "bob"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"NTUSER.DAT": primary, "ntuser.dat.LOG1": log} {
		if err := os.WriteFile(filepath.Join(dir, "Users", "bob", name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	handed := 0
	fsys := endlessFS{FS: os.DirFS(dir), dir: "Users/bob", handed: &handed}
	h, c, err := OpenFS(context.Background(), fsys, "Users/bob/NTUSER.DAT", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !h.Replayed() || !holdsAfter(t, h) {
		t.Errorf("Replayed() %v (%v), want the log replayed", h.Replayed(), h.ReplayError())
	}
	if handed > maxDirEntries {
		t.Errorf("%d entries read, want at most %d", handed, maxDirEntries)
	}
}
