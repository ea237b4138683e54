package rpmdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/hostile"
)

// walFrame is a frame of a test write-ahead log: page pg, and commit (the
// database's size in pages) when it ends a transaction.
type walFrame struct {
	pg, commit uint32
	data       []byte
}

// makeWAL writes a write-ahead log as SQLite does, with the given salts
// and checksums in big- or little-endian words.
func makeWAL(pageSize int, bigEndian bool, salt1, salt2 uint32, frames ...walFrame) []byte {
	be := binary.BigEndian
	head := make([]byte, walHeaderSize)
	magic := uint32(walMagic)
	if bigEndian {
		magic |= 1
	}
	be.PutUint32(head, magic)
	be.PutUint32(head[4:], walVersion)
	be.PutUint32(head[8:], uint32(pageSize))
	be.PutUint32(head[16:], salt1)
	be.PutUint32(head[20:], salt2)
	s0, s1 := walChecksum(head[:24], bigEndian, 0, 0)
	be.PutUint32(head[24:], s0)
	be.PutUint32(head[28:], s1)
	out := head
	for _, f := range frames {
		fh := make([]byte, walFrameHeader)
		be.PutUint32(fh, f.pg)
		be.PutUint32(fh[4:], f.commit)
		be.PutUint32(fh[8:], salt1)
		be.PutUint32(fh[12:], salt2)
		page := make([]byte, pageSize)
		copy(page, f.data)
		s0, s1 = walChecksum(fh[:8], bigEndian, s0, s1)
		s0, s1 = walChecksum(page, bigEndian, s0, s1)
		be.PutUint32(fh[16:], s0)
		be.PutUint32(fh[20:], s1)
		out = append(append(out, fh...), page...)
	}
	return out
}

// framesOf returns every page of the database db as frames, the last one
// committing a database of all of them.
func framesOf(db []byte, pageSize int) []walFrame {
	var frames []walFrame
	n := len(db) / pageSize
	for i := range n {
		frames = append(frames, walFrame{pg: uint32(i + 1), data: db[i*pageSize : (i+1)*pageSize]})
	}
	frames[n-1].commit = uint32(n)
	return frames
}

func readWithWAL(db, wal []byte) (blobs [][]byte, errs []error) {
	var ra io.ReaderAt
	if wal != nil {
		ra = bytes.NewReader(wal)
	}
	for rec, err := range SQLiteWAL(bytes.NewReader(db), int64(len(db)), ra, int64(len(wal))) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		blobs = append(blobs, bytes.Clone(rec.Blob))
	}
	return blobs, errs
}

// TestSQLiteWAL: the pages a log holds replace the file's, in their last
// committed version; frames after the last commit, of another generation
// (other salts) or with a wrong checksum are not read.
func TestSQLiteWAL(t *testing.T) {
	const ps = 1024
	blobs, _ := testHeaders(9)
	old := hostile.SQLite(ps, blobs[:3]...)
	newer := hostile.SQLite(ps, blobs[:7]...) // more pages than the file
	newest := hostile.SQLite(ps, blobs...)
	committed := framesOf(newer, ps)
	uncommitted := framesOf(newest, ps)
	uncommitted[len(uncommitted)-1].commit = 0

	for _, bigEndian := range []bool{false, true} {
		tests := []struct {
			name string
			wal  []byte
			want int
		}{
			{"no log", nil, 3},
			{"empty log", []byte{}, 3},
			{"header only", makeWAL(ps, bigEndian, 1, 2), 3},
			{"committed", makeWAL(ps, bigEndian, 1, 2, committed...), 7},
			{"committed twice", makeWAL(ps, bigEndian, 1, 2, append(framesOf(old, ps), committed...)...), 7},
			{"uncommitted tail", makeWAL(ps, bigEndian, 1, 2, append(committed, uncommitted...)...), 7},
			{"only uncommitted", makeWAL(ps, bigEndian, 1, 2, uncommitted...), 3},
			{"later commit", makeWAL(ps, bigEndian, 1, 2, append(committed, framesOf(newest, ps)...)...), 9},
		}
		// A frame of an older generation after the current ones: the
		// log was restarted and the new transaction is shorter.
		stale := makeWAL(ps, bigEndian, 3, 4, append(committed, framesOf(newest, ps)...)...)
		current := makeWAL(ps, bigEndian, 5, 6, committed...)
		restarted := append(bytes.Clone(current), stale[len(current):]...)
		tests = append(tests, struct {
			name string
			wal  []byte
			want int
		}{"restarted log", restarted, 7})
		// A damaged frame ends the log: the commit after it is not read.
		damaged := makeWAL(ps, bigEndian, 1, 2, append(committed, framesOf(newest, ps)...)...)
		damaged[walHeaderSize+len(committed)*(ps+walFrameHeader)+walFrameHeader+100] ^= 1
		tests = append(tests, struct {
			name string
			wal  []byte
			want int
		}{"damaged frame", damaged, 7})
		// A log whose header checksum is wrong holds nothing.
		badHead := makeWAL(ps, bigEndian, 1, 2, committed...)
		badHead[12] ^= 1
		tests = append(tests, struct {
			name string
			wal  []byte
			want int
		}{"bad header checksum", badHead, 3})

		for _, tt := range tests {
			got, errs := readWithWAL(old, tt.wal)
			if len(errs) > 0 || len(got) != tt.want {
				t.Errorf("big-endian %v, %s: %d records, %v; want %d", bigEndian, tt.name, len(got), errs, tt.want)
				continue
			}
			for i := range got {
				if !bytes.Equal(got[i], blobs[i]) {
					t.Errorf("big-endian %v, %s: record %d differs", bigEndian, tt.name, i)
				}
			}
		}
	}
}

// TestSQLiteWALHostile: a log that does not fit its database, or claims a
// huge database, gives a clear error and allocates nothing for it.
func TestSQLiteWALHostile(t *testing.T) {
	const ps = 1024
	blobs, _ := testHeaders(3)
	db := hostile.SQLite(ps, blobs...)
	n := uint32(len(db) / ps)
	leaf := func() []byte { return bytes.Clone(db[ps : 2*ps]) }
	tests := []struct {
		name string
		wal  []byte
		want string
	}{
		{"other page size", makeWAL(2048, false, 1, 2, walFrame{pg: 2, commit: n, data: leaf()}), "2048-byte pages"},
		{"huge commit size", makeWAL(ps, false, 1, 2, walFrame{pg: 2, commit: 0xffffffff, data: leaf()}), ""},
		{"page past the database", makeWAL(ps, false, 1, 2, walFrame{pg: n + 5, commit: n + 5, data: leaf()}), ""},
		{"page 1 of another encoding", makeWAL(ps, false, 1, 2, walFrame{pg: 1, commit: n, data: func() []byte {
			p := bytes.Clone(db[:ps])
			binary.BigEndian.PutUint32(p[56:], 2)
			return p
		}()}), "UTF-8"},
		{"a loop through the log", makeWAL(ps, false, 1, 2, walFrame{pg: 2, commit: n, data: func() []byte {
			// The Packages root becomes an interior page whose children
			// are itself.
			p := make([]byte, ps)
			p[0] = sqliteTableNode
			binary.BigEndian.PutUint32(p[8:], 2)
			return p
		}()}), "reached twice"},
		{"version", func() []byte {
			w := makeWAL(ps, true, 1, 2)
			binary.BigEndian.PutUint32(w[4:], 3007001)
			s0, s1 := walChecksum(w[:24], true, 0, 0)
			binary.BigEndian.PutUint32(w[24:], s0)
			binary.BigEndian.PutUint32(w[28:], s1)
			return w
		}(), "log format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := readWithWAL(db, tt.wal)
			if tt.want == "" {
				return // no panic, no huge allocation
			}
			if len(errs) == 0 || !strings.Contains(errors.Join(errs...).Error(), tt.want) {
				t.Errorf("errs = %v, want one saying %q", errs, tt.want)
			}
		})
	}
	// The huge commit size costs no memory for pages that are nowhere.
	if a := testing.AllocsPerRun(1, func() { readWithWAL(db, tests[1].wal) }); a > 500 {
		t.Errorf("%v allocations", a)
	}
}

// changingLog reads as before until after is set, then as after.
type changingLog struct {
	before, after []byte
	reads         int
	switchAt      int
}

func (c *changingLog) ReadAt(p []byte, off int64) (int, error) {
	c.reads++
	b := c.before
	if c.reads > c.switchAt {
		b = c.after
	}
	return bytes.NewReader(b).ReadAt(p, off)
}

// A log restarted while the database is read ends the records with an
// error saying so.
func TestSQLiteWALChanged(t *testing.T) {
	const ps = 1024
	blobs, _ := testHeaders(5)
	db := hostile.SQLite(ps, blobs[:2]...)
	before := makeWAL(ps, false, 1, 2, framesOf(hostile.SQLite(ps, blobs...), ps)...)
	after := makeWAL(ps, false, 7, 8, framesOf(hostile.SQLite(ps, blobs...), ps)...)
	log := &changingLog{before: before, after: after, switchAt: 2} // the header, then the frames
	var errs []error
	for _, err := range SQLiteWAL(bytes.NewReader(db), int64(len(db)), log, int64(len(before))) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) != 1 || !errors.Is(errs[0], errWALChanged) {
		t.Errorf("errs = %v, want %v", errs, errWALChanged)
	}
}

func FuzzSQLiteWAL(f *testing.F) {
	const ps = 1024
	blobs, _ := testHeaders(3)
	db := hostile.SQLite(ps, blobs[:1]...)
	f.Add(makeWAL(ps, false, 1, 2, framesOf(hostile.SQLite(ps, blobs...), ps)...))
	f.Add(makeWAL(ps, true, 1, 2, framesOf(hostile.SQLite(ps, blobs...), ps)...))
	f.Fuzz(func(t *testing.T, wal []byte) {
		got, _ := readWithWAL(db, wal)
		for _, b := range got {
			if p, err := ParseHeader(b); err == nil && p.Name == "" {
				t.Fatal("a package without a name")
			}
		}
	})
}

// TestSQLiteWALMutations reads a few thousand randomly damaged logs (their
// checksums made right again half the time, so that damage reaches the
// pages): the fuzz target's property, on a fixed sample, in every run.
func TestSQLiteWALMutations(t *testing.T) {
	const ps = 1024
	blobs, _ := testHeaders(3)
	db := hostile.SQLite(ps, blobs[:1]...)
	frames := framesOf(hostile.SQLite(ps, blobs...), ps)
	rng := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		var wal []byte
		if rng.IntN(2) == 0 {
			wal = makeWAL(ps, rng.IntN(2) == 0, 1, 2, frames...)
			for range 1 + rng.IntN(4) {
				wal[rng.IntN(len(wal))] = byte(rng.Uint32())
			}
		} else {
			fs := make([]walFrame, len(frames))
			for i, f := range frames {
				fs[i] = walFrame{pg: f.pg, commit: f.commit, data: bytes.Clone(f.data)}
			}
			for range 1 + rng.IntN(4) {
				f := &fs[rng.IntN(len(fs))]
				switch rng.IntN(3) {
				case 0:
					f.data[rng.IntN(ps)] = byte(rng.Uint32())
				case 1:
					f.pg = rng.Uint32N(uint32(len(fs)) + 3)
				default:
					f.commit = rng.Uint32N(uint32(len(fs)) + 3)
				}
			}
			wal = makeWAL(ps, rng.IntN(2) == 0, 1, 2, fs...)
		}
		got, _ := readWithWAL(db, wal[:len(wal)-rng.IntN(2)*rng.IntN(len(wal))])
		for _, blob := range got {
			if p, err := ParseHeader(blob); err == nil && p.Name == "" {
				t.Fatal("a package without a name")
			}
		}
	}
}
