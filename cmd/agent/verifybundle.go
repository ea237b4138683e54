package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/avscout/avscout/internal/auditbundle"
	"github.com/avscout/avscout/internal/report"
)

// tarMagic sits at offset 257 of a POSIX (ustar or PAX) tar header; a
// report is JSON, whose first bytes are "{" or spaces.
const (
	tarMagic    = "ustar"
	tarMagicOff = 257
)

// openRegular opens path for reading without blocking and refuses
// anything but a regular file (a FIFO would hang the reader).
func openRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	return f, nil
}

// sniffBundle reports whether path holds a tar archive (an audit bundle)
// rather than a report, by its content.
func sniffBundle(path string) (bool, error) {
	f, err := openRegular(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	head := make([]byte, tarMagicOff+len(tarMagic))
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	return n == len(head) && bytes.Equal(head[tarMagicOff:], []byte(tarMagic)), nil
}

// verifyBundle checks a collector's audit bundle and prints what it
// holds, host by host, and every fault found.
func verifyBundle(path string, keys []string, after string, stdout, stderr io.Writer) int {
	// The previous audit's bundle first: its end is only worth comparing
	// with once it verifies itself.
	var prev *auditbundle.Result
	if after != "" {
		pf, err := openRegular(after)
		if err != nil {
			fmt.Fprintf(stderr, "avscout verify: --after: %v\n", err)
			return exitUsage
		}
		prev, err = auditbundle.Verify(pf, auditbundle.Options{CollectorKeys: keys})
		pf.Close()
		if err != nil || !prev.OK() {
			if err == nil {
				err = fmt.Errorf("%s", show(strings.Join(prev.Faults, "; ")))
			}
			fmt.Fprintf(stderr, "avscout verify: %s (the previous bundle): INVALID: %v\n", after, err)
			return exitInvalid
		}
	}
	f, err := openRegular(path)
	if err != nil {
		fmt.Fprintf(stderr, "avscout verify: %v\n", err)
		return exitUsage
	}
	defer f.Close()
	sum := sha256.New()
	res, err := auditbundle.Verify(io.TeeReader(f, sum), auditbundle.Options{CollectorKeys: keys})
	if err != nil {
		fmt.Fprintf(stderr, "avscout verify: %s: INVALID: %v\n", path, err)
		return exitInvalid
	}
	if prev != nil {
		faults, notes := auditbundle.Follows(prev.Header, res.Header)
		res.Faults = append(res.Faults, faults...)
		res.Notes = append(res.Notes, notes...)
	}
	// The digest of the whole file, padding after the archive's end included.
	if _, err := io.Copy(sum, f); err != nil {
		fmt.Fprintf(stderr, "avscout verify: read %s: %v\n", path, err)
		return exitUsage
	}
	h := res.Header
	fmt.Fprintf(stdout, "bundle:    %s (sha256 %s)\n", path, hex.EncodeToString(sum.Sum(nil)))
	switch {
	case res.Signer == "":
		fmt.Fprintln(stdout, "collector: manifest NOT validly signed")
	case res.SignerPinned:
		fmt.Fprintf(stdout, "collector: manifest signed by %s, the expected key\n", res.Signer)
	default:
		fmt.Fprintf(stdout, "collector: manifest signed by %s; not checked against an expected key: compare with `avscout-collector audit key`, or pass --key\n", res.Signer)
	}
	// To the microsecond: the next audit's --since is this window's end.
	fmt.Fprintf(stdout, "window:    %s to %s (made %s)\n", h.Since.UTC().Format(time.RFC3339Nano), h.Until.UTC().Format(time.RFC3339Nano), report.FormatTime(h.CreatedAt))
	fmt.Fprintf(stdout, "chain:     entries %d to %d of %d; hash before %s, last %s, head %s\n", h.FirstSeq, h.LastSeq, h.HeadSeq,
		show(h.PrevHash), show(h.LastHash), show(h.HeadHash))
	fmt.Fprintf(stdout, "reports:   %d (%d pruned, %d unsigned, signed by %d agent keys); access log: %d entries\n",
		h.Reports, h.Pruned, res.Unsigned, res.AgentKeys, h.Access)
	if prev != nil {
		fmt.Fprintf(stdout, "after:     %s (window %s to %s, chain entries %d to %d)\n", after,
			report.FormatTime(prev.Header.Since), report.FormatTime(prev.Header.Until), prev.Header.FirstSeq, prev.Header.LastSeq)
	}
	if len(res.Hosts) > 0 {
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "HOST\tHOSTNAME\tREPORTS\tFIRST SEEN\tLAST REPORT\tVERDICTS")
		for _, hs := range res.Hosts {
			var vs []string
			for _, v := range hs.Verdicts {
				vs = append(vs, v.Verdict+" ("+report.FormatTime(v.At)+")")
			}
			if hs.MoreVerdicts > 0 {
				vs = append(vs, fmt.Sprintf("… %d more", hs.MoreVerdicts))
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", show(hs.ID), show(hs.Hostname), hs.Reports,
				report.FormatTime(hs.FirstSeen), report.FormatTime(hs.LastReport), show(strings.Join(vs, " → ")))
		}
		tw.Flush()
	}
	for _, n := range res.Notes {
		fmt.Fprintf(stdout, "note:      %s\n", show(n))
	}
	if !res.OK() {
		for _, f := range res.Faults {
			fmt.Fprintf(stderr, "avscout verify: %s: INVALID: %s\n", path, show(f))
		}
		if res.Omitted > 0 {
			fmt.Fprintf(stderr, "avscout verify: %s: … and %d more faults\n", path, res.Omitted)
		}
		return exitInvalid
	}
	if prev != nil {
		fmt.Fprintln(stdout, "verified:  every report, agent signature and chain entry matches the signed manifest, and the bundle takes over where the previous one ends")
		return exitOK
	}
	fmt.Fprintln(stdout, "verified:  every report, agent signature and chain entry matches the signed manifest")
	return exitOK
}
