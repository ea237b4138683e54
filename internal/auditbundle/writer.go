package auditbundle

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"time"

	"github.com/avscout/avscout/internal/agentkey"
	"github.com/avscout/avscout/internal/reportsig"
)

// Writer writes a bundle as it streams: each report goes out as it is
// added; the access log and the manifest's entry lines wait in temporary
// files (not in memory) until [Writer.Close], because a tar entry needs
// its size first. Memory stays bounded whatever the window's size.
type Writer struct {
	tw    *tar.Writer
	key   Signer
	mtime time.Time
	hdr   Header

	entries *spool // manifest entry lines
	access  *spool // access.jsonl

	prev       *Entry
	accessPrev *AccessLine
	closed     bool
}

// spool is a temporary file written through a buffer and hashed.
type spool struct {
	f   *os.File
	buf *bufio.Writer
	sum hash.Hash
	n   int64
}

func newSpool(dir, pattern string) (*spool, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, fmt.Errorf("audit bundle: temporary file: %w", err)
	}
	return &spool{f: f, buf: bufio.NewWriterSize(f, 64<<10), sum: sha256.New()}, nil
}

func (s *spool) Write(p []byte) (int, error) {
	s.sum.Write(p)
	s.n += int64(len(p))
	return s.buf.Write(p)
}

// rewind flushes the spool and returns to its start.
func (s *spool) rewind() error {
	if err := s.buf.Flush(); err != nil {
		return fmt.Errorf("audit bundle: temporary file: %w", err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("audit bundle: temporary file: %w", err)
	}
	return nil
}

func (s *spool) remove() {
	if s == nil {
		return
	}
	name := s.f.Name()
	s.f.Close()
	os.Remove(name)
}

// NewWriter starts a bundle on out for the window since…until, signed by
// key when closed. Temporary files go to tempDir ("" for the system's).
func NewWriter(out io.Writer, key Signer, tempDir string, since, until, now time.Time) (*Writer, error) {
	w := &Writer{tw: tar.NewWriter(out), key: key, mtime: now.UTC().Truncate(time.Second)}
	pub := key.PublicKey()
	w.hdr = Header{Type: "header", Format: Format, CreatedAt: now.UTC(), Since: since.UTC(), Until: until.UTC(),
		CollectorKey: EncodeKey(pub), CollectorFingerprint: agentkey.Fingerprint(pub)}
	var err error
	if w.entries, err = newSpool(tempDir, "avscout-manifest-*"); err != nil {
		return nil, err
	}
	if w.access, err = newSpool(tempDir, "avscout-access-*"); err != nil {
		w.entries.remove()
		return nil, err
	}
	return w, nil
}

// Abort removes the temporary files of a bundle not closed.
func (w *Writer) Abort() {
	if !w.closed {
		w.closed = true
		w.entries.remove()
		w.access.remove()
	}
}

func (w *Writer) file(name string, size int64, body io.Reader) error {
	// USTAR where it can hold the header (names are short, times whole
	// seconds), PAX only for a file over 8 GiB.
	if err := w.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o600,
		ModTime: w.mtime}); err != nil {
		return fmt.Errorf("audit bundle: writing %s: %w", name, err)
	}
	if _, err := io.Copy(w.tw, body); err != nil {
		return fmt.Errorf("audit bundle: writing %s: %w", name, err)
	}
	return nil
}

// Report adds chain entry e with its report as received (raw) and the
// key and signature it came with (nil when unsigned). A nil raw means
// the report is no longer stored (pruned): the entry stays in the
// manifest. Entries must come in seq order; the first one's Prev is the
// hash before the window.
func (w *Writer) Report(e Entry, raw []byte, pub ed25519.PublicKey, sig []byte) error {
	if w.closed {
		return errors.New("audit bundle: closed")
	}
	if w.prev == nil {
		w.hdr.FirstSeq, w.hdr.PrevHash = e.Seq, hexHash(e.Prev)
	} else if e.Seq <= w.prev.Seq {
		return fmt.Errorf("audit bundle: entry %d after %d", e.Seq, w.prev.Seq)
	}
	line := EntryLine{Type: "entry", Seq: e.Seq, ReportID: e.ReportID, HostID: e.HostID, ReceivedAt: e.ReceivedAt,
		ReportSHA256: hexHash(e.ReportSHA256), Prev: hexHash(e.Prev), Hash: hexHash(e.Hash)}
	if raw == nil {
		line.Pruned = true
		w.hdr.Pruned++
	} else {
		// The file is written as stored: if the database was changed, the
		// verifier sees the report's bytes disagree with its entry.
		line.File, line.Size = ReportName(e.Seq), int64(len(raw))
		if err := w.file(line.File, line.Size, bytes.NewReader(raw)); err != nil {
			return err
		}
		if len(pub) > 0 && len(sig) > 0 {
			doc, err := reportsig.Delivered(raw, pub, sig)
			if err != nil {
				return fmt.Errorf("audit bundle: report %s: %w", e.ReportID, err)
			}
			sum := sha256.Sum256(doc)
			line.SigFile, line.SigSHA256 = SignatureName(e.Seq), hex.EncodeToString(sum[:])
			if err := w.file(line.SigFile, int64(len(doc)), bytes.NewReader(doc)); err != nil {
				return err
			}
		}
	}
	if err := writeLine(w.entries, line); err != nil {
		return err
	}
	w.hdr.Reports++
	w.hdr.LastSeq, w.hdr.LastHash = e.Seq, hexHash(e.Hash)
	w.prev = &e
	return nil
}

// Access adds an entry of the access log's chain, in seq order, with
// the action it covers (nil when retention deleted it): seq, its time in
// Unix microseconds, the action's id, [AccessDigest], the previous
// entry's hash and its own.
func (w *Writer) Access(seq, atMicros int64, id string, digest, prev, hash [HashSize]byte, a *AccessEntry) error {
	if w.closed {
		return errors.New("audit bundle: closed")
	}
	if w.accessPrev == nil {
		w.hdr.AccessFirstSeq, w.hdr.AccessPrevHash = seq, hexHash(prev)
	} else if seq <= w.accessPrev.Seq {
		return fmt.Errorf("audit bundle: access entry %d after %d", seq, w.accessPrev.Seq)
	}
	line := AccessLine{Seq: seq, Prev: hexHash(prev), Hash: hexHash(hash), EntrySHA256: hexHash(digest), AtMicros: atMicros}
	if a == nil {
		line.Pruned, line.ID = true, id
		w.hdr.AccessPruned++
	} else {
		line.AccessEntry = *a
	}
	if err := writeLine(w.access, line); err != nil {
		return err
	}
	w.hdr.Access++
	w.hdr.AccessLastSeq, w.hdr.AccessLastHash = seq, hexHash(hash)
	line.AccessEntry = AccessEntry{}
	w.accessPrev = &line
	return nil
}

func writeLine(s *spool, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("audit bundle: encoding: %w", err)
	}
	if _, err := s.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("audit bundle: temporary file: %w", err)
	}
	return nil
}

// Close writes the access log, the manifest (with the heads of the
// report chain and of the access log's chain as of the export) and its
// signature, and ends the archive. It does not close the underlying
// writer.
func (w *Writer) Close(head, accessHead ChainHead) error {
	if w.closed {
		return errors.New("audit bundle: closed")
	}
	defer w.Abort()
	zero := hexHash([HashSize]byte{})
	if w.prev == nil {
		w.hdr.PrevHash, w.hdr.LastHash = zero, zero
	}
	if w.accessPrev == nil {
		w.hdr.AccessPrevHash, w.hdr.AccessLastHash = zero, zero
	}
	w.hdr.HeadSeq, w.hdr.HeadHash = head.Seq, hexHash(head.Hash)
	w.hdr.AccessHeadSeq, w.hdr.AccessHeadHash = accessHead.Seq, hexHash(accessHead.Hash)
	if err := w.access.rewind(); err != nil {
		return err
	}
	if err := w.file(AccessName, w.access.n, w.access.f); err != nil {
		return err
	}
	var accessSum [sha256.Size]byte
	w.access.sum.Sum(accessSum[:0])

	headLine, err := json.Marshal(w.hdr)
	if err != nil {
		return fmt.Errorf("audit bundle: encoding the header: %w", err)
	}
	headLine = append(headLine, '\n')
	tail, err := json.Marshal(FileLine{Type: "file", Name: AccessName, Size: w.access.n, SHA256: hexHash(accessSum)})
	if err != nil {
		return fmt.Errorf("audit bundle: encoding the manifest: %w", err)
	}
	tail = append(tail, '\n')
	if err := w.entries.rewind(); err != nil {
		return err
	}
	sum := sha256.New()
	size := int64(len(headLine)) + w.entries.n + int64(len(tail))
	body := io.TeeReader(io.MultiReader(bytes.NewReader(headLine), io.LimitReader(w.entries.f, w.entries.n), bytes.NewReader(tail)), sum)
	if err := w.file(ManifestName, size, body); err != nil {
		return err
	}
	var manifestSum [sha256.Size]byte
	sum.Sum(manifestSum[:0])
	sig, err := signManifest(manifestSum, w.key)
	if err != nil {
		return err
	}
	if err := w.file(ManifestSigName, int64(len(sig)), bytes.NewReader(sig)); err != nil {
		return err
	}
	if err := w.tw.Close(); err != nil {
		return fmt.Errorf("audit bundle: ending the archive: %w", err)
	}
	return nil
}

// Header returns the manifest header as it stands (complete after Close).
func (w *Writer) Header() Header { return w.hdr }
