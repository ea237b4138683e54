// Package spool is the agent's durable queue of reports waiting for the
// collector.
//
// Every report the agent produces goes to disk here before anything tries
// to send it, so that a collector outage, a reboot or a crash (kill -9)
// never loses one. Each report is one gzip file whose name encodes its
// queue order; files appear only through write, fsync and rename, so a
// crash leaves either the whole report or nothing (plus a temporary file
// that the next [Open] removes). The queue is bounded: when it is full the
// oldest reports are dropped, and the drops are counted in a file that
// survives restarts. Reports the collector refuses for good go to a
// bounded dead-letter folder with the reason beside them.
//
// A spool directory belongs to one process at a time: [Open] takes an
// exclusive lock. [Inspect] reads the counts without the lock, for
// `avscout status` while the service runs. The spool does not send
// anything and does not know about HTTP: that is package transport.
package spool

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/avscout/avscout/internal/text"
)

// Default limits, used for zero fields of [Limits].
const (
	DefaultMaxReports     = 500
	DefaultMaxBytes       = 100 << 20
	DefaultMaxDeadLetters = 100
)

// Errors callers may test for with [errors.Is].
var (
	// ErrInvalidID: the id is not a report id (a UUID).
	ErrInvalidID = errors.New("not a report id")
	// ErrTooLarge: one report is larger than the spool may hold at all.
	ErrTooLarge = errors.New("report larger than the spool limit")
	// ErrNotFound: no report with this id is queued.
	ErrNotFound = errors.New("report not queued")
	// ErrDuplicate: a report with this id is already queued.
	ErrDuplicate = errors.New("report already queued")
	// ErrCorrupt: the queued file is not valid gzip; it has been moved to
	// the dead-letter folder.
	ErrCorrupt = errors.New("corrupt report")
	// ErrLocked: another process has the spool open.
	ErrLocked = errors.New("spool in use by another process")
	// ErrClosed: the spool was closed.
	ErrClosed = errors.New("spool closed")
)

// Names inside the spool directory. Anything else is ignored.
const (
	deadDir     = "deadletter"
	lockName    = ".lock"
	droppedName = "dropped.count"
	tmpPrefix   = ".tmp-"
	reasonExt   = ".reason.txt"
	maxReason   = 1024 // bytes of a dead-letter reason kept
)

// Limits bounds the spool. Zero fields take the defaults.
type Limits struct {
	MaxReports int   // reports queued at most; default 500
	MaxBytes   int64 // bytes of queued reports at most; default 100 MiB
	// MaxDeadLetters is how many dead-lettered reports are kept (the
	// newest in queue order); default 100.
	MaxDeadLetters int
}

func (l Limits) normalize() (Limits, error) {
	if l.MaxReports < 0 || l.MaxBytes < 0 || l.MaxDeadLetters < 0 {
		return l, fmt.Errorf("spool limits must not be negative: %+v", l)
	}
	if l.MaxReports == 0 {
		l.MaxReports = DefaultMaxReports
	}
	if l.MaxBytes == 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxDeadLetters == 0 {
		l.MaxDeadLetters = DefaultMaxDeadLetters
	}
	return l, nil
}

// Entry is one queued report.
type Entry struct {
	ID     string
	Size   int64     // bytes on disk (compressed)
	Queued time.Time // when it was put
}

// Stats counts what the spool holds.
type Stats struct {
	Queued      int   // reports waiting
	Bytes       int64 // their total size
	DeadLetters int   // reports in the dead-letter folder
	// Dropped counts reports dropped because the spool was full, since
	// the spool was created (it survives restarts).
	Dropped int64
}

// Spool is an open spool directory. Its methods are safe for concurrent
// use; they serialize on one mutex.
type Spool struct {
	dir string
	lim Limits
	log *slog.Logger

	mu   sync.Mutex
	root *os.Root // nil once closed
	lock *os.File // holds the exclusive lock
	// queue is the queue as last listed, with the changes made since,
	// oldest first. Disk is the truth: Pending, Stats and a lookup miss
	// list it again.
	queue   []entry
	last    int64 // newest queue stamp handed out
	dropped int64
}

// Open opens the spool in dir, creating dir (0700) and its dead-letter
// folder when missing. It refuses a dir that is a symbolic link or not a
// directory, and on Unix one that is writable by every user or owned by
// another user; it narrows group and other permissions to none. It takes
// an exclusive lock on the directory, so a second Open of the same dir,
// from this or another process, fails with [ErrLocked] until [Spool.Close].
// Temporary files left by a crash are removed. A nil logger discards.
func Open(dir string, lim Limits, logger *slog.Logger) (*Spool, error) {
	if dir == "" {
		return nil, errors.New("spool: no directory given")
	}
	lim, err := lim.normalize()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	fi, err := prepareDir(dir)
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open spool directory %s: %w", dir, err)
	}
	s := &Spool{dir: dir, lim: lim, log: logger, root: root}
	if err := s.open(fi); err != nil {
		if s.lock != nil {
			s.lock.Close()
		}
		root.Close()
		return nil, err
	}
	return s, nil
}

// prepareDir creates dir if missing and checks it is a private directory.
func prepareDir(dir string) (fs.FileInfo, error) {
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create spool directory %s: %w", dir, err)
		}
		fi, err = os.Lstat(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("spool directory %s: %w", dir, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("spool directory %s is a symbolic link; refusing it", dir)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("spool directory %s is not a directory (%v)", dir, fi.Mode().Type())
	}
	if err := secureDir(dir, fi); err != nil {
		return nil, err
	}
	return fi, nil
}

// open finishes Open on s.root: lock, check, clean, load.
func (s *Spool) open(checked fs.FileInfo) error {
	// Read-only: the lock file is never written, and an open-for-write
	// file would keep the file system from being remounted read-only.
	lock, err := s.root.OpenFile(lockName, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("spool %s: open lock file: %w", s.dir, err)
	}
	s.lock = lock
	if err := lockFile(lock); err != nil {
		if errors.Is(err, errLocked) {
			return fmt.Errorf("spool %s: %w (is another avscout agent running?)", s.dir, ErrLocked)
		}
		return fmt.Errorf("spool %s: lock: %w", s.dir, err)
	}
	// The directory opened must be the one checked, not something swapped
	// in since.
	if fi, err := s.root.Stat("."); err != nil || !os.SameFile(fi, checked) {
		return fmt.Errorf("spool directory %s changed while being opened; refusing it", s.dir)
	}
	if err := s.root.Mkdir(deadDir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("spool %s: create %s: %w", s.dir, deadDir, err)
	}
	if fi, err := s.root.Lstat(deadDir); err != nil {
		return fmt.Errorf("spool %s: %w", s.dir, err)
	} else if !fi.IsDir() {
		return fmt.Errorf("spool %s: %s is not a directory", s.dir, deadDir)
	}
	for _, d := range []string{".", deadDir} {
		if err := s.removeTemps(d); err != nil {
			return err
		}
	}
	n, err := readDropped(s.root.FS())
	if err != nil {
		// A damaged counter must not stop the agent from queueing.
		s.log.Warn("spool: unreadable drop counter; counting from zero", "dir", s.dir, "err", err)
	}
	s.dropped = n
	_, err = s.list()
	return err
}

// removeTemps deletes the temporary files a crash left in d.
func (s *Spool) removeTemps(d string) error {
	des, err := fs.ReadDir(s.root.FS(), d)
	if err != nil {
		return fmt.Errorf("spool %s: list %s: %w", s.dir, d, err)
	}
	for _, de := range des {
		if !strings.HasPrefix(de.Name(), tmpPrefix) {
			continue
		}
		name := path.Join(d, de.Name())
		if err := s.root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("spool %s: remove leftover %s: %w", s.dir, name, err)
		}
		s.log.Info("spool: removed a temporary file left by an interrupted write", "dir", s.dir, "file", name)
	}
	return nil
}

// Close releases the lock and the directory. Closing twice is not an error.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.root == nil {
		return nil
	}
	err := errors.Join(s.lock.Close(), s.root.Close())
	s.root, s.lock = nil, nil
	if err != nil {
		return fmt.Errorf("close spool %s: %w", s.dir, err)
	}
	return nil
}

// Put queues a gzip-compressed report under its id and returns the ids of
// the oldest reports it dropped to stay within the limits (each is logged
// and counted in [Stats].Dropped). The report is on disk, whole and
// synced, when Put returns nil. On error no part of it is left behind,
// unless the error says it was stored but the directory could not be
// synced; reports are dropped only once the new one is written, and any
// dropped are returned with the error. A report larger than
// Limits.MaxBytes is refused with [ErrTooLarge]; one whose id is queued
// already with [ErrDuplicate].
func (s *Spool) Put(id string, gz []byte) (dropped []string, err error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	if len(gz) < 2 || gz[0] != 0x1f || gz[1] != 0x8b {
		return nil, fmt.Errorf("spool: report %s is not gzip data", id)
	}
	size := int64(len(gz))
	if size > s.lim.MaxBytes {
		return nil, fmt.Errorf("spool %s: report %s is %d bytes, more than the limit of %d: %w",
			s.dir, id, size, s.lim.MaxBytes, ErrTooLarge)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.root == nil {
		return nil, ErrClosed
	}
	entries := s.queue
	if s.find(id) >= 0 {
		return nil, fmt.Errorf("spool %s: report %s: %w", s.dir, id, ErrDuplicate)
	}
	stamp := max(time.Now().UnixNano(), s.last+1, 1)
	tmp, err := s.writeTemp(".", gz)
	if err != nil {
		return nil, fmt.Errorf("spool %s: write report %s: %w", s.dir, id, err)
	}
	// Only now that the report is safely written, make room for it.
	var drop []entry
	count, bytes := len(entries), total(entries)
	for _, e := range entries {
		if count+1 <= s.lim.MaxReports && bytes+size <= s.lim.MaxBytes {
			break
		}
		drop = append(drop, e)
		count--
		bytes -= e.Size
	}
	if len(drop) > 0 {
		// Count first: a crash after this over-counts, never hides a drop.
		if err := s.saveDropped(s.dropped + int64(len(drop))); err != nil {
			s.removeQuiet(tmp)
			return nil, fmt.Errorf("spool %s: report %s: %w", s.dir, id, err)
		}
		s.dropped += int64(len(drop))
		for _, e := range drop {
			if err := s.root.Remove(e.name); err != nil && !errors.Is(err, fs.ErrNotExist) {
				s.log.Error("spool: could not drop a report", "dir", s.dir, "report_id", e.ID, "err", err)
				continue
			}
			s.forget(e.ID)
			dropped = append(dropped, e.ID)
			s.log.Warn("spool: full, dropped the oldest report", "dir", s.dir, "report_id", e.ID,
				"queued", e.Queued.UTC().Format(time.RFC3339), "max_reports", s.lim.MaxReports, "max_bytes", s.lim.MaxBytes)
		}
	}
	name := entryName(stamp, id)
	if err := s.root.Rename(tmp, name); err != nil {
		s.removeQuiet(tmp)
		return dropped, fmt.Errorf("spool %s: store report %s: %w", s.dir, id, err)
	}
	s.last = stamp
	s.queue = append(s.queue, entry{Entry: Entry{ID: id, Size: size, Queued: time.Unix(0, stamp)}, name: name, stamp: stamp})
	if err := s.syncDir("."); err != nil {
		return dropped, fmt.Errorf("spool %s: report %s stored but not synced: %w", s.dir, id, err)
	}
	return dropped, nil
}

// Pending lists the queued reports, oldest first.
func (s *Spool) Pending() ([]Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.root == nil {
		return nil, ErrClosed
	}
	entries, err := s.list()
	if err != nil {
		return nil, err
	}
	out := make([]Entry, len(entries))
	for i, e := range entries {
		out[i] = e.Entry
	}
	return out, nil
}

// Read returns the gzip bytes of a queued report. A report that is not
// valid gzip is moved to the dead-letter folder with reason "corrupt: …"
// and Read returns [ErrCorrupt]; an unknown id gives [ErrNotFound].
func (s *Spool) Read(id string) ([]byte, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.root == nil {
		return nil, ErrClosed
	}
	name, err := s.lookup(id)
	if err != nil {
		return nil, err
	}
	data, err := s.root.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		s.forget(id)
		return nil, fmt.Errorf("spool %s: report %s: %w", s.dir, id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("spool %s: read report %s: %w", s.dir, id, err)
	}
	if cerr := checkGzip(data); cerr != nil {
		if err := s.deadLetter(id, name, "corrupt: "+cerr.Error()); err != nil {
			return nil, fmt.Errorf("spool %s: report %s is corrupt (%v) and could not be moved aside: %w", s.dir, id, cerr, err)
		}
		s.log.Warn("spool: corrupt report moved to dead-letter", "dir", s.dir, "report_id", id, "err", cerr)
		return nil, fmt.Errorf("spool %s: report %s: %w: %v", s.dir, id, ErrCorrupt, cerr)
	}
	return data, nil
}

// checkGzip reports whether data is one or more complete gzip members
// with correct checksums.
func checkGzip(data []byte) error {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return err
	}
	return zr.Close()
}

// Delete removes a queued report, typically once the collector has it.
// Deleting a report that is not queued (already deleted, or dropped
// meanwhile) is not an error.
func (s *Spool) Delete(id string) error {
	if err := ValidateID(id); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.root == nil {
		return ErrClosed
	}
	name, err := s.lookup(id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("spool %s: delete report %s: %w", s.dir, id, err)
	}
	s.forget(id)
	return nil
}

// DeadLetter moves a queued report to the dead-letter folder, beside a
// file <name>.reason.txt that holds the reason and the time. Only the
// newest Limits.MaxDeadLetters dead letters (in queue order) are kept.
// An unknown id gives [ErrNotFound].
func (s *Spool) DeadLetter(id, reason string) error {
	if err := ValidateID(id); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.root == nil {
		return ErrClosed
	}
	name, err := s.lookup(id)
	if err != nil {
		return err
	}
	return s.deadLetter(id, name, reason)
}

func (s *Spool) deadLetter(id, name, reason string) error {
	text := fmt.Sprintf("report_id: %s\nreason: %s\ntime: %s\n", id, cleanReason(reason), time.Now().UTC().Format(time.RFC3339))
	tmp, err := s.writeTemp(deadDir, []byte(text))
	if err != nil {
		return fmt.Errorf("spool %s: dead-letter report %s: %w", s.dir, id, err)
	}
	if err := s.root.Rename(tmp, path.Join(deadDir, name+reasonExt)); err != nil {
		s.removeQuiet(tmp)
		return fmt.Errorf("spool %s: dead-letter report %s: %w", s.dir, id, err)
	}
	// The reason is in place before the report moves: a crash in between
	// leaves the report queued, to be judged again.
	if err := s.root.Rename(name, path.Join(deadDir, name)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			s.forget(id)
			return fmt.Errorf("spool %s: report %s: %w", s.dir, id, ErrNotFound)
		}
		return fmt.Errorf("spool %s: dead-letter report %s: %w", s.dir, id, err)
	}
	s.forget(id)
	if err := errors.Join(s.syncDir(deadDir), s.syncDir(".")); err != nil {
		return fmt.Errorf("spool %s: dead-letter report %s: %w", s.dir, id, err)
	}
	s.pruneDead()
	return nil
}

// pruneDead keeps the newest MaxDeadLetters dead letters and removes
// reason files whose report is gone.
func (s *Spool) pruneDead() {
	des, err := fs.ReadDir(s.root.FS(), deadDir)
	if err != nil {
		s.log.Error("spool: could not list dead letters", "dir", s.dir, "err", err)
		return
	}
	entries, reasons := parseDir(des)
	keep := map[string]bool{}
	for i, e := range entries {
		if len(entries)-i > s.lim.MaxDeadLetters {
			s.removeQuiet(path.Join(deadDir, e.name))
			s.log.Info("spool: dead-letter folder full, removed the oldest", "dir", s.dir, "report_id", e.ID)
			continue
		}
		keep[e.name+reasonExt] = true
	}
	for _, r := range reasons {
		if !keep[r] {
			s.removeQuiet(path.Join(deadDir, r))
		}
	}
}

// cleanReason makes a reason one bounded line.
func cleanReason(r string) string {
	r = strings.Map(func(c rune) rune {
		if c < 0x20 || c == 0x7f {
			return ' '
		}
		return c
	}, strings.ToValidUTF8(r, "?"))
	if len(r) > maxReason {
		r = strings.ToValidUTF8(r[:maxReason], "") + "…"
	}
	return r
}

// Stats counts what the spool holds.
func (s *Spool) Stats() (Stats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.root == nil {
		return Stats{}, ErrClosed
	}
	entries, err := s.list()
	if err != nil {
		return Stats{}, err
	}
	dead, err := countDead(s.root.FS())
	if err != nil {
		return Stats{}, fmt.Errorf("spool %s: %w", s.dir, err)
	}
	return Stats{Queued: len(entries), Bytes: total(entries), DeadLetters: dead, Dropped: s.dropped}, nil
}

// Inspect counts what the spool in dir holds without opening it: no lock,
// no writes, so `avscout status` can use it while the service runs. A
// missing dir gives an error wrapping [fs.ErrNotExist].
func Inspect(dir string) (Stats, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return Stats{}, fmt.Errorf("inspect spool: %w", err)
	}
	if !fi.IsDir() {
		return Stats{}, fmt.Errorf("inspect spool: %s is not a directory", dir)
	}
	fsys := os.DirFS(dir)
	des, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return Stats{}, fmt.Errorf("inspect spool %s: %w", dir, err)
	}
	entries, _ := parseDir(des)
	dead, err := countDead(fsys)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Stats{}, fmt.Errorf("inspect spool %s: %w", dir, err)
	}
	dropped, err := readDropped(fsys)
	if err != nil {
		return Stats{}, fmt.Errorf("inspect spool %s: %w", dir, err)
	}
	return Stats{Queued: len(entries), Bytes: total(entries), DeadLetters: dead, Dropped: dropped}, nil
}

// list reads the queue from disk, oldest first, into s.queue. Callers
// hold s.mu.
func (s *Spool) list() ([]entry, error) {
	des, err := fs.ReadDir(s.root.FS(), ".")
	if err != nil {
		return nil, fmt.Errorf("spool %s: list: %w", s.dir, err)
	}
	s.queue, _ = parseDir(des)
	if n := len(s.queue); n > 0 {
		s.last = max(s.last, s.queue[n-1].stamp)
	}
	return s.queue, nil
}

// find returns the index of id in s.queue, or -1.
func (s *Spool) find(id string) int {
	return slices.IndexFunc(s.queue, func(e entry) bool { return e.ID == id })
}

// forget takes id out of s.queue.
func (s *Spool) forget(id string) {
	if i := s.find(id); i >= 0 {
		s.queue = slices.Delete(s.queue, i, i+1)
	}
}

// lookup finds the file name of a queued report, listing the disk again
// when it is not in s.queue. Callers hold s.mu.
func (s *Spool) lookup(id string) (string, error) {
	if i := s.find(id); i >= 0 {
		return s.queue[i].name, nil
	}
	if _, err := s.list(); err != nil {
		return "", err
	}
	if i := s.find(id); i >= 0 {
		return s.queue[i].name, nil
	}
	return "", fmt.Errorf("spool %s: report %s: %w", s.dir, id, ErrNotFound)
}

// writeTemp writes data to a new private temporary file in folder d of
// the spool and syncs it. It returns the file's name; on error the file
// is gone.
func (s *Spool) writeTemp(d string, data []byte) (string, error) {
	for range 10 {
		var rnd [8]byte
		_, _ = rand.Read(rnd[:]) // never fails: crypto/rand crashes the program instead
		name := path.Join(d, tmpPrefix+hex.EncodeToString(rnd[:]))
		f, err := s.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		_, werr := f.Write(data)
		if werr == nil {
			werr = f.Sync()
		}
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			s.removeQuiet(name)
			return "", werr
		}
		return name, nil
	}
	return "", errors.New("could not create a unique temporary file")
}

// saveDropped persists the drop counter atomically.
func (s *Spool) saveDropped(n int64) error {
	tmp, err := s.writeTemp(".", []byte(strconv.FormatInt(n, 10)+"\n"))
	if err != nil {
		return fmt.Errorf("save drop counter: %w", err)
	}
	if err := s.root.Rename(tmp, droppedName); err != nil {
		s.removeQuiet(tmp)
		return fmt.Errorf("save drop counter: %w", err)
	}
	return s.syncDir(".")
}

// readDropped reads the drop counter; a missing counter is zero.
func readDropped(fsys fs.FS) (int64, error) {
	b, err := fs.ReadFile(fsys, droppedName)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", droppedName, err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s holds %q, not a count", droppedName, text.Clip(string(b), 32))
	}
	return n, nil
}

func (s *Spool) syncDir(d string) error {
	f, err := s.root.Open(d)
	if err != nil {
		return fmt.Errorf("sync %s: %w", d, err)
	}
	defer f.Close()
	if err := syncDir(f); err != nil {
		return fmt.Errorf("sync %s: %w", d, err)
	}
	return nil
}

func (s *Spool) removeQuiet(name string) {
	if err := s.root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Error("spool: could not remove a file", "dir", s.dir, "file", name, "err", err)
	}
}
