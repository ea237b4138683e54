package macpkg

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"time"
)

// The "odc" (old portable ASCII) cpio format, POSIX.1-1988: a 76-byte
// header of octal fields, the NUL-terminated name, then the data; a
// "TRAILER!!!" entry ends the archive. Apple's Installer reads Payload and
// Scripts in this format (pkgbuild writes it; `cpio -o --format odc`).
const (
	odcMagic   = "070707"
	odcHeader  = 76
	odcTrailer = "TRAILER!!!"
	// odcMaxSize is the largest file size the 11-digit octal field holds.
	odcMaxSize = 1<<33 - 1
)

// cpioName is the member name Apple's tools use: "." and "./path".
func cpioName(p string) string {
	if p == "." {
		return "."
	}
	return "./" + p
}

// WriteCPIO writes files as a cpio odc archive (uncompressed). Names are
// "./path" as pkgbuild writes them; inode numbers count up from 1 so the
// output depends only on the input.
func WriteCPIO(w io.Writer, files []File) error {
	bw := bufio.NewWriter(w)
	for i, f := range files {
		mode, err := f.unixMode()
		if err != nil {
			return err
		}
		var data []byte
		switch f.Mode.Type() {
		case fs.ModeSymlink:
			data = []byte(f.Target)
		case 0:
			data = f.Data
		}
		if len(data) > odcMaxSize {
			return fmt.Errorf("cpio %s: %d bytes is over the odc limit", f.Path, len(data))
		}
		nlink := 1
		if f.Mode.IsDir() {
			nlink = 2
		}
		if err := writeODCHeader(bw, i+1, mode, f.UID, f.GID, nlink, f.ModTime.Unix(), cpioName(f.Path), len(data)); err != nil {
			return err
		}
		if _, err := bw.Write(data); err != nil {
			return err
		}
	}
	if err := writeODCHeader(bw, 0, 0, 0, 0, 1, 0, odcTrailer, 0); err != nil {
		return err
	}
	return bw.Flush()
}

func writeODCHeader(w *bufio.Writer, ino int, mode, uid, gid uint32, nlink int, mtime int64, name string, size int) error {
	if mtime < 0 {
		mtime = 0
	}
	_, err := fmt.Fprintf(w, "%s%06o%06o%06o%06o%06o%06o%06o%011o%06o%011o%s\x00",
		odcMagic, 0, ino&0o777777, mode, uid&0o777777, gid&0o777777, nlink, 0, mtime, len(name)+1, size, name)
	return err
}

// ReadCPIO reads a cpio odc archive written by WriteCPIO, pkgbuild or GNU
// cpio. Paths come back in File form ("." or "opt/..."). Limit bounds the
// total size of names and data it will read, so a hostile header cannot
// make it allocate without bound.
func ReadCPIO(r io.Reader, limit int64) ([]File, error) {
	br := bufio.NewReader(r)
	var files []File
	var total int64
	for {
		hdr := make([]byte, odcHeader)
		if _, err := io.ReadFull(br, hdr); err != nil {
			return nil, fmt.Errorf("cpio header %d: %w", len(files)+1, noEOF(err))
		}
		if string(hdr[:6]) != odcMagic {
			return nil, fmt.Errorf("cpio header %d: bad magic %q (want odc %q)", len(files)+1, hdr[:6], odcMagic)
		}
		field := func(off, n int) (int64, error) {
			v, err := strconv.ParseInt(string(hdr[off:off+n]), 8, 64)
			if err != nil || v < 0 {
				return 0, fmt.Errorf("cpio header %d: bad octal field at %d: %q", len(files)+1, off, hdr[off:off+n])
			}
			return v, nil
		}
		var vals [6]int64
		for i, fld := range []struct{ off, n int }{{18, 6}, {24, 6}, {30, 6}, {48, 11}, {59, 6}, {65, 11}} {
			v, err := field(fld.off, fld.n)
			if err != nil {
				return nil, err
			}
			vals[i] = v
		}
		mode, uid, gid, mtime, namesize, filesize := vals[0], vals[1], vals[2], vals[3], vals[4], vals[5]
		total += namesize + filesize
		if namesize < 2 || total > limit {
			return nil, fmt.Errorf("cpio header %d: name size %d / data size %d over the limit", len(files)+1, namesize, filesize)
		}
		name := make([]byte, namesize)
		if _, err := io.ReadFull(br, name); err != nil {
			return nil, fmt.Errorf("cpio name %d: %w", len(files)+1, noEOF(err))
		}
		if name[len(name)-1] != 0 || bytes.IndexByte(name[:len(name)-1], 0) >= 0 {
			return nil, fmt.Errorf("cpio name %d: not NUL-terminated", len(files)+1)
		}
		n := string(name[:len(name)-1])
		if n == odcTrailer {
			return files, nil
		}
		data := make([]byte, filesize)
		if _, err := io.ReadFull(br, data); err != nil {
			return nil, fmt.Errorf("cpio %s data: %w", n, noEOF(err))
		}
		fm, err := fileMode(uint32(mode))
		if err != nil {
			return nil, fmt.Errorf("cpio %s: %w", n, err)
		}
		f := File{Path: fromCPIOName(n), Mode: fm, UID: uint32(uid), GID: uint32(gid), ModTime: time.Unix(mtime, 0).UTC()}
		switch fm.Type() {
		case fs.ModeSymlink:
			f.Target = string(data)
		case 0:
			f.Data = data
		}
		files = append(files, f)
	}
}

func fromCPIOName(n string) string {
	switch {
	case n == "." || n == "./":
		return "."
	case len(n) > 2 && n[:2] == "./":
		return n[2:]
	}
	return n
}

// noEOF turns a clean EOF in the middle of a structure into ErrUnexpectedEOF.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
