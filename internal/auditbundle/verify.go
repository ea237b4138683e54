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
	"io"
	"slices"
	"strings"
	"time"

	"github.com/avscout/avscout/internal/agentkey"
	"github.com/avscout/avscout/internal/edkey"
	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/reportsig"
	"github.com/avscout/avscout/internal/text"
)

// Limits bound what [Verify] reads of a bundle; the zero value means the
// defaults.
type Limits struct {
	MaxReport   int64 // bytes of one report file (default 64 MiB)
	MaxReports  int   // report files in a bundle (default 2,000,000)
	MaxLine     int   // bytes of one manifest line (default 64 KiB)
	MaxFaults   int   // faults listed before the rest are counted (default 100)
	MaxVerdicts int   // verdict changes kept per host (default 50)
}

func (l Limits) withDefaults() Limits {
	if l.MaxReport <= 0 {
		l.MaxReport = 64 << 20
	}
	if l.MaxReports <= 0 {
		l.MaxReports = 2_000_000
	}
	if l.MaxLine <= 0 {
		l.MaxLine = 64 << 10
	}
	if l.MaxFaults <= 0 {
		l.MaxFaults = 100
	}
	if l.MaxVerdicts <= 0 {
		l.MaxVerdicts = 50
	}
	return l
}

// Options are what a verifier expects.
type Options struct {
	// CollectorKeys, when not empty, are the fingerprints ("SHA256:…") of
	// the collector keys allowed to have signed the manifest.
	CollectorKeys []string
	Limits        Limits
}

// ErrUnreadable wraps what makes a bundle unreadable as one: not a tar,
// truncated, a name or type a bundle never holds, or over a limit.
var ErrUnreadable = errors.New("not a readable audit bundle")

// Result is what [Verify] found.
type Result struct {
	Header Header
	// Signer is the fingerprint of the key that signed the manifest ("" if
	// none did); SignerPinned says it is one of Options.CollectorKeys.
	Signer       string
	SignerPinned bool
	Hosts        []HostSummary // by host id
	AgentKeys    int           // distinct agent keys that signed reports
	Unsigned     int           // reports received unsigned
	// Faults say what is wrong, each naming the file, report or entry;
	// an empty list means the bundle verified. Omitted counts the faults
	// past Limits.MaxFaults.
	Faults  []string
	Omitted int
	// Notes are facts an auditor should know that are not faults.
	Notes []string
}

// OK reports whether the bundle verified.
func (r *Result) OK() bool { return len(r.Faults) == 0 && r.Omitted == 0 }

// HostSummary is one host's reports in the window.
type HostSummary struct {
	ID, Hostname string
	Reports      int
	FirstSeen    time.Time // the first report received in the window
	LastReport   time.Time // the latest scan (generated_at) in the window
	// Verdicts is the history in chain order: the first verdict, then
	// each change, at most Limits.MaxVerdicts (MoreVerdicts counts the rest).
	Verdicts     []VerdictAt
	MoreVerdicts int
	// Signers are the agent keys that signed the host's reports, in
	// order of first use: more than one means its key changed in the
	// window (a reinstalled agent an administrator rekeyed, or worse).
	Signers []string
}

// VerdictAt is a host's verdict from a scan on.
type VerdictAt struct {
	At      time.Time
	Verdict string
}

// fileInfo is what the verifier keeps of a report file until the
// manifest names it.
type fileInfo struct {
	sum         [HashSize]byte
	size        int64
	reportID    string
	hostID      string
	hostname    string
	generatedAt time.Time
	verdict     string
	sigSum      [HashSize]byte
	signed      bool
	sigFault    string
	signer      string // the agent key's fingerprint, when its signature verified
}

type verifier struct {
	opts    Options
	lim     Limits
	res     *Result
	reports map[int64]*fileInfo
	lastSeq int64 // of the last report file read
	last    *fileInfo
	lastRaw []byte
	access  *[HashSize]byte
	accessN int64
	// the access log's chain as access.jsonl holds it
	accFirst, accLast *AccessLine
	accCount          int64
	// the manifest
	manifestSum  *[HashSize]byte
	manifestSeen bool
	sigDoc       []byte
	listed       map[string]bool
	keys         map[string]bool
}

func (v *verifier) fault(format string, a ...any) {
	if len(v.res.Faults) >= v.lim.MaxFaults {
		v.res.Omitted++
		return
	}
	v.res.Faults = append(v.res.Faults, fmt.Sprintf(format, a...))
}

func clip(s string) string { return text.Clip(text.OneLine(s), 120) }

// Verify reads a bundle from r and checks it: the manifest's signature
// (by one of opts.CollectorKeys if any), every file against the
// manifest, every agent signature against its report, and the chain over
// the window. Tampering comes back as faults in the result; an error
// (wrapping [ErrUnreadable] for what is not a bundle) means it could not
// be read through.
func Verify(r io.Reader, opts Options) (*Result, error) {
	v := &verifier{opts: opts, lim: opts.Limits.withDefaults(), res: &Result{}, reports: map[int64]*fileInfo{},
		listed: map[string]bool{}, keys: map[string]bool{}}
	tr := tar.NewReader(r)
	seen := map[string]bool{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return v.res, fmt.Errorf("%w: %w", ErrUnreadable, err)
		}
		name := h.Name
		if h.Typeflag != tar.TypeReg {
			return v.res, fmt.Errorf("%w: %q is not a regular file (type %q): a bundle holds only files", ErrUnreadable, clip(name), string(h.Typeflag))
		}
		for k := range h.PAXRecords {
			// A sparse file reads as zeros the archive does not hold: a
			// small bundle could make the verifier hash without end.
			if strings.HasPrefix(k, "GNU.sparse.") {
				return v.res, fmt.Errorf("%w: %q is a sparse file: a bundle holds only plain files", ErrUnreadable, clip(name))
			}
		}
		seq, isSig, ok := parseName(name)
		if !ok {
			return v.res, fmt.Errorf("%w: unexpected file name %q", ErrUnreadable, clip(name))
		}
		if seen[name] {
			return v.res, fmt.Errorf("%w: %s appears twice", ErrUnreadable, name)
		}
		seen[name] = true
		if v.manifestSeen && name != ManifestSigName {
			return v.res, fmt.Errorf("%w: %s after the manifest", ErrUnreadable, name)
		}
		if h.Size < 0 {
			return v.res, fmt.Errorf("%w: %s: negative size", ErrUnreadable, name)
		}
		switch {
		case name == AccessName:
			if err := v.readAccess(tr); err != nil {
				return v.res, err
			}
		case name == ManifestName:
			if err := v.readManifest(tr); err != nil {
				return v.res, err
			}
			v.manifestSeen = true
		case name == ManifestSigName:
			if h.Size > reportsig.MaxSignatureFile {
				return v.res, fmt.Errorf("%w: %s: %d bytes", ErrUnreadable, name, h.Size)
			}
			b, err := io.ReadAll(io.LimitReader(tr, reportsig.MaxSignatureFile+1))
			if err != nil {
				return v.res, fmt.Errorf("%w: %s: %w", ErrUnreadable, name, err)
			}
			v.sigDoc = b
		case isSig:
			if err := v.readSignature(name, seq, h.Size, tr); err != nil {
				return v.res, err
			}
		default:
			if err := v.readReport(name, seq, h.Size, tr); err != nil {
				return v.res, err
			}
		}
	}
	v.finish()
	return v.res, nil
}

func (v *verifier) readReport(name string, seq, size int64, r io.Reader) error {
	if size > v.lim.MaxReport {
		return fmt.Errorf("%w: %s: %d bytes, more than the %d a report may have", ErrUnreadable, name, size, v.lim.MaxReport)
	}
	if len(v.reports) >= v.lim.MaxReports {
		return fmt.Errorf("%w: more than %d reports: verify a shorter window", ErrUnreadable, v.lim.MaxReports)
	}
	raw, err := io.ReadAll(io.LimitReader(r, v.lim.MaxReport+1))
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrUnreadable, name, err)
	}
	if seq <= v.lastSeq {
		v.fault("reports reordered in the archive: %s comes after %s", name, ReportName(v.lastSeq))
	}
	fi := &fileInfo{sum: sha256.Sum256(raw), size: int64(len(raw))}
	var doc report.Report
	if err := json.Unmarshal(raw, &doc); err != nil {
		fi.verdict = "unreadable"
	} else {
		fi.reportID, fi.hostID, fi.hostname = doc.ReportID, doc.Host.ID, doc.Host.Hostname
		// The verdict its products and sources support, as the collector
		// computes it, not the one the report claims.
		fi.generatedAt, fi.verdict = doc.GeneratedAt, report.ComputeVerdict(doc.Products, doc.Sources)
	}
	v.reports[seq] = fi
	v.lastSeq, v.last, v.lastRaw = max(v.lastSeq, seq), fi, raw
	return nil
}

func (v *verifier) readSignature(name string, seq, size int64, r io.Reader) error {
	if size > reportsig.MaxSignatureFile {
		return fmt.Errorf("%w: %s: %d bytes, more than a signature has", ErrUnreadable, name, size)
	}
	b, err := io.ReadAll(io.LimitReader(r, reportsig.MaxSignatureFile+1))
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrUnreadable, name, err)
	}
	fi := v.reports[seq]
	if fi == nil || fi != v.last {
		return fmt.Errorf("%w: %s does not follow its report %s", ErrUnreadable, name, ReportName(seq))
	}
	fi.signed, fi.sigSum = true, sha256.Sum256(b)
	sig, err := reportsig.Parse(bytes.NewReader(b))
	if err != nil {
		fi.sigFault = fmt.Sprintf("%s: %v", name, err)
		return nil
	}
	if sig.Format != reportsig.FormatDelivered {
		fi.sigFault = fmt.Sprintf("%s: format %q, not an agent's delivery signature", name, clip(sig.Format))
		return nil
	}
	fp, err := reportsig.Verify(v.lastRaw, sig, reportsig.Options{})
	if err != nil {
		fi.sigFault = fmt.Sprintf("%s: agent signature: %v", name, err)
		return nil
	}
	v.keys[fp] = true
	fi.signer = fp
	return nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// readAccess streams access.jsonl, hashing it and checking its chain
// line by line: memory stays bounded however long the log.
func (v *verifier) readAccess(r io.Reader) error {
	sum := sha256.New()
	cr := &countingReader{r: io.TeeReader(r, sum)}
	br := bufio.NewReaderSize(cr, 64<<10)
	for lineNo := 1; ; lineNo++ {
		raw, err := readLine(br, v.lim.MaxLine)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: %s line %d: %w", ErrUnreadable, AccessName, lineNo, err)
		}
		var a AccessLine
		if err := strictUnmarshal(raw, &a); err != nil {
			return fmt.Errorf("%w: %s line %d: %w", ErrUnreadable, AccessName, lineNo, err)
		}
		v.checkAccess(&a)
		v.accCount++
	}
	var s [HashSize]byte
	sum.Sum(s[:0])
	v.access, v.accessN = &s, cr.n
	return nil
}

// checkAccess checks one entry of the access log's chain against the one
// before it.
func (v *verifier) checkAccess(a *AccessLine) {
	what := fmt.Sprintf("access log entry %d (id %s)", a.Seq, clip(a.ID))
	if !a.Pruned {
		what = fmt.Sprintf("access log entry %d (id %s: %s %s by %s)", a.Seq, clip(a.ID), clip(a.Action), clip(a.Target), clip(a.Credential))
	}
	if p := v.accLast; p != nil {
		switch {
		case a.Seq <= p.Seq:
			v.fault("access log entries reordered: %s after entry %d", what, p.Seq)
		case a.Seq != p.Seq+1:
			v.fault("access log entry %d missing: %s follows entry %d: an action was dropped from the log", p.Seq+1, what, p.Seq)
		case a.Prev != p.Hash:
			v.fault("access log chain broken at %s: it links to %s, the entry before has hash %s", what, short(a.Prev), short(p.Hash))
		}
	}
	digest, ok1 := parseHash(a.EntrySHA256)
	prev, ok2 := parseHash(a.Prev)
	switch {
	case !ok1 || !ok2:
		v.fault("%s: malformed hash", what)
	case hexHash(AccessHash(a.Seq, prev, digest, a.AtMicros, a.ID)) != a.Hash:
		v.fault("%s altered: its chain fields do not hash to %s", what, short(a.Hash))
	case !a.Pruned && (a.At.UnixMicro() != a.AtMicros || AccessDigest(a.AccessEntry) != digest):
		v.fault("%s changed since it was logged", what)
	}
	line := *a
	line.AccessEntry = AccessEntry{ID: a.ID}
	if v.accFirst == nil {
		v.accFirst = &line
	}
	v.accLast = &line
}

// readManifest streams the manifest, hashing it and checking each line.
func (v *verifier) readManifest(r io.Reader) error {
	sum := sha256.New()
	br := bufio.NewReaderSize(io.TeeReader(r, sum), 64<<10)
	var (
		header  *Header
		prev    *EntryLine
		entries int64
		hosts   = map[string]*HostSummary{}
		lineNo  int
	)
	for {
		line, err := readLine(br, v.lim.MaxLine)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: %s line %d: %w", ErrUnreadable, ManifestName, lineNo+1, err)
		}
		lineNo++
		var kind struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(line, &kind); err != nil {
			return fmt.Errorf("%w: %s line %d: %w", ErrUnreadable, ManifestName, lineNo, err)
		}
		switch {
		case lineNo == 1:
			if kind.Type != "header" {
				return fmt.Errorf("%w: %s does not start with its header", ErrUnreadable, ManifestName)
			}
			header = &Header{}
			if err := strictUnmarshal(line, header); err != nil {
				return fmt.Errorf("%w: %s header: %w", ErrUnreadable, ManifestName, err)
			}
			if header.Format != Format {
				return fmt.Errorf("%w: format %q, want %q", ErrUnreadable, clip(header.Format), Format)
			}
			v.res.Header = *header
		case kind.Type == "entry":
			var e EntryLine
			if err := strictUnmarshal(line, &e); err != nil {
				return fmt.Errorf("%w: %s line %d: %w", ErrUnreadable, ManifestName, lineNo, err)
			}
			entries++
			v.checkEntry(header, prev, &e, hosts)
			prev = &e
		case kind.Type == "file":
			var f FileLine
			if err := strictUnmarshal(line, &f); err != nil {
				return fmt.Errorf("%w: %s line %d: %w", ErrUnreadable, ManifestName, lineNo, err)
			}
			v.checkFile(&f)
		default:
			return fmt.Errorf("%w: %s line %d: unknown type %q", ErrUnreadable, ManifestName, lineNo, clip(kind.Type))
		}
	}
	if header == nil {
		return fmt.Errorf("%w: %s is empty", ErrUnreadable, ManifestName)
	}
	var s [HashSize]byte
	sum.Sum(s[:0])
	v.manifestSum = &s
	// The chain over the window, as the header states it.
	switch {
	case entries != header.Reports:
		v.fault("the manifest lists %d chain entries, its header says %d", entries, header.Reports)
	case prev == nil && header.Reports != 0:
	case prev != nil && (prev.Seq != header.LastSeq || prev.Hash != header.LastHash):
		v.fault("the chain ends at entry %d (hash %s), the header says entry %d (hash %s)", prev.Seq, short(prev.Hash), header.LastSeq, short(header.LastHash))
	}
	if prev != nil && header.HeadSeq == prev.Seq && header.HeadHash != prev.Hash {
		v.fault("the chain head %d has hash %s, but the window's last entry has %s", header.HeadSeq, short(header.HeadHash), short(prev.Hash))
	}
	if header.HeadSeq < header.LastSeq {
		v.fault("the chain head %d is before the window's last entry %d", header.HeadSeq, header.LastSeq)
	}
	if v.access != nil {
		first, last := v.accFirst, v.accLast
		if first != nil && (first.Seq != header.AccessFirstSeq || first.Prev != header.AccessPrevHash) {
			v.fault("%s starts at entry %d, the manifest's header at entry %d: the first entries were dropped", AccessName, first.Seq, header.AccessFirstSeq)
		}
		if last != nil && (last.Seq != header.AccessLastSeq || last.Hash != header.AccessLastHash) {
			v.fault("%s ends at entry %d, the manifest's header at entry %d: the last entries were dropped", AccessName, last.Seq, header.AccessLastSeq)
		}
		if v.accCount != header.Access {
			v.fault("%s holds %d entries, the manifest's header says %d", AccessName, v.accCount, header.Access)
		}
		if last != nil && header.AccessHeadSeq == last.Seq && header.AccessHeadHash != last.Hash {
			v.fault("the access log's head %d has hash %s, but its last entry in the window has %s", header.AccessHeadSeq, short(header.AccessHeadHash), short(last.Hash))
		}
	}
	// Files the manifest does not list were added.
	for seq, fi := range v.reports {
		if !v.listed[ReportName(seq)] {
			v.fault("%s (report %s) is not in the manifest: added to the bundle", ReportName(seq), clip(fi.reportID))
		}
		if fi.signed && !v.listed[SignatureName(seq)] {
			v.fault("%s is not in the manifest: added to the bundle", SignatureName(seq))
		}
	}
	if v.access != nil && !v.listed[AccessName] {
		v.fault("%s is not in the manifest", AccessName)
	}
	ids := make([]string, 0, len(hosts))
	for id := range hosts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		v.res.Hosts = append(v.res.Hosts, *hosts[id])
	}
	v.res.AgentKeys = len(v.keys)
	v.reports = nil // what the manifest named is checked
	return nil
}

func short(h string) string { return text.Clip(h, 16) }

func (v *verifier) checkEntry(h *Header, prev *EntryLine, e *EntryLine, hosts map[string]*HostSummary) {
	id := clip(e.ReportID)
	// The chain: numbered without gaps, each linked to the one before.
	wantSeq, wantPrev := h.FirstSeq, h.PrevHash
	if prev != nil {
		wantSeq, wantPrev = prev.Seq+1, prev.Hash
	}
	switch {
	case prev != nil && e.Seq <= prev.Seq:
		v.fault("chain entries reordered: entry %d (report %s) after entry %d", e.Seq, id, prev.Seq)
	case e.Seq != wantSeq:
		v.fault("chain entry %d missing: entry %d (report %s) follows entry %d: a report was dropped", wantSeq, e.Seq, id, wantSeq-1)
	case e.Prev != wantPrev:
		v.fault("chain broken at entry %d (report %s): it links to %s, the entry before has hash %s", e.Seq, id, short(e.Prev), short(wantPrev))
	}
	prevHash, ok1 := parseHash(e.Prev)
	repSum, ok2 := parseHash(e.ReportSHA256)
	if !ok1 || !ok2 {
		v.fault("chain entry %d (report %s): malformed hash", e.Seq, id)
	} else if got := hexHash(EntryHash(e.Seq, prevHash, repSum, e.ReceivedAt, e.ReportID, e.HostID)); got != e.Hash {
		v.fault("chain entry %d (report %s) altered: its fields hash to %s, it says %s", e.Seq, id, short(got), short(e.Hash))
	}
	if e.Pruned {
		v.res.Notes = append(v.res.Notes, fmt.Sprintf("report %s (entry %d) was deleted by retention before the export; its chain entry remains", id, e.Seq))
		return
	}
	if e.File != ReportName(e.Seq) {
		v.fault("chain entry %d (report %s): file %q, want %s", e.Seq, id, clip(e.File), ReportName(e.Seq))
		return
	}
	v.listed[e.File] = true
	fi := v.reports[e.Seq]
	if fi == nil {
		v.fault("report %s (entry %d, host %s) dropped: %s is not in the bundle", id, e.Seq, clip(e.HostID), e.File)
		return
	}
	switch {
	case hexHash(fi.sum) == e.ReportSHA256:
	case fi.reportID != "" && fi.reportID != e.ReportID:
		v.fault("reports reordered: %s holds report %s, but chain entry %d is report %s", e.File, clip(fi.reportID), e.Seq, id)
	default:
		v.fault("report %s (entry %d, host %s) changed: %s has sha256 %s, the chain recorded %s at receipt", id, e.Seq, clip(e.HostID), e.File, hexHash(fi.sum), e.ReportSHA256)
	}
	if fi.size != e.Size && hexHash(fi.sum) == e.ReportSHA256 {
		v.fault("%s: %d bytes, the manifest says %d", e.File, fi.size, e.Size)
	}
	// The store keeps a host id with NUL (which PostgreSQL text cannot
	// hold) with U+FFFD in its place.
	if fi.reportID != "" && strings.ReplaceAll(fi.hostID, "\x00", "\uFFFD") != e.HostID {
		v.fault("report %s (entry %d): the report names host %s, the chain host %s", id, e.Seq, clip(fi.hostID), clip(e.HostID))
	}
	switch {
	case e.SigFile == "" && fi.signed:
		v.fault("%s is not in the manifest: added to the bundle", SignatureName(e.Seq))
	case e.SigFile == "":
		v.res.Unsigned++
	case e.SigFile != SignatureName(e.Seq):
		v.fault("chain entry %d: signature file %q, want %s", e.Seq, clip(e.SigFile), SignatureName(e.Seq))
	case !fi.signed:
		v.fault("the agent signature of report %s (entry %d) was removed: %s is not in the bundle", id, e.Seq, e.SigFile)
	default:
		v.listed[e.SigFile] = true
		if hexHash(fi.sigSum) != e.SigSHA256 {
			v.fault("%s (report %s) changed: sha256 %s, the manifest says %s", e.SigFile, id, hexHash(fi.sigSum), short(e.SigSHA256))
		}
		if fi.sigFault != "" {
			v.fault("report %s (entry %d): %s", id, e.Seq, fi.sigFault)
		}
	}
	// The host's summary.
	hs := hosts[e.HostID]
	if hs == nil {
		if len(hosts) >= v.lim.MaxReports {
			return
		}
		hs = &HostSummary{ID: e.HostID}
		hosts[e.HostID] = hs
	}
	recv := time.UnixMicro(e.ReceivedAt).UTC()
	if hs.Reports == 0 || recv.Before(hs.FirstSeen) {
		hs.FirstSeen = recv
	}
	hs.Reports++
	if fi.hostname != "" {
		hs.Hostname = fi.hostname
	}
	if fi.signer != "" && !slices.Contains(hs.Signers, fi.signer) && len(hs.Signers) < v.lim.MaxVerdicts {
		hs.Signers = append(hs.Signers, fi.signer)
		if len(hs.Signers) > 1 {
			v.res.Notes = append(v.res.Notes, fmt.Sprintf("host %s: report %s (entry %d) is signed by agent key %s, its earlier reports by %s",
				clip(e.HostID), id, e.Seq, fi.signer, hs.Signers[len(hs.Signers)-2]))
		}
	}
	if fi.generatedAt.After(hs.LastReport) {
		hs.LastReport = fi.generatedAt
	}
	if n := len(hs.Verdicts); n == 0 || hs.Verdicts[n-1].Verdict != fi.verdict {
		if n < v.lim.MaxVerdicts {
			hs.Verdicts = append(hs.Verdicts, VerdictAt{At: fi.generatedAt.UTC(), Verdict: fi.verdict})
		} else {
			hs.MoreVerdicts++
		}
	}
}

func (v *verifier) checkFile(f *FileLine) {
	if f.Name != AccessName {
		v.fault("the manifest lists a file %q a bundle never holds", clip(f.Name))
		return
	}
	v.listed[f.Name] = true
	switch {
	case v.access == nil:
		v.fault("%s dropped: the manifest lists it, the bundle does not hold it", AccessName)
	case hexHash(*v.access) != f.SHA256 || v.accessN != f.Size:
		v.fault("%s (the access log) changed: sha256 %s, the manifest says %s", AccessName, hexHash(*v.access), short(f.SHA256))
	}
}

// finish checks the manifest's signature once the archive has been read.
func (v *verifier) finish() {
	if v.manifestSum == nil {
		v.fault("%s is missing: nothing in the bundle is vouched for", ManifestName)
		return
	}
	if v.sigDoc == nil {
		v.fault("%s is missing: the manifest is not signed", ManifestSigName)
		return
	}
	var doc ManifestSignature
	if err := strictUnmarshal(v.sigDoc, &doc); err != nil {
		v.fault("%s: %v", ManifestSigName, err)
		return
	}
	if doc.Format != SignatureFormat {
		v.fault("%s: format %q, want %q", ManifestSigName, clip(doc.Format), SignatureFormat)
		return
	}
	pub, err := decodeKey(doc.PublicKey)
	if err != nil {
		v.fault("%s: %v", ManifestSigName, err)
		return
	}
	fp := agentkey.Fingerprint(pub)
	sig, err := edkey.ParseTagged(doc.Signature, ed25519.SignatureSize)
	switch {
	case err != nil:
		v.fault("%s: the signature is not the base64 of %d bytes", ManifestSigName, ed25519.SignatureSize)
		return
	case doc.ManifestSHA256 != hexHash(*v.manifestSum):
		v.fault("the manifest changed: sha256 %s, %s signed %s", hexHash(*v.manifestSum), ManifestSigName, short(doc.ManifestSHA256))
		return
	case !ed25519.Verify(pub, signedManifest(*v.manifestSum), sig):
		v.fault("the manifest signature is bad: it does not verify with key %s", fp)
		return
	}
	v.res.Signer = fp
	if doc.PublicKey != v.res.Header.CollectorKey {
		v.fault("the manifest names collector key %s, but key %s signed it", clip(v.res.Header.CollectorFingerprint), fp)
	}
	if len(v.opts.CollectorKeys) > 0 {
		if !slices.Contains(v.opts.CollectorKeys, fp) {
			v.fault("unknown signer: the manifest is signed by collector key %s, not the expected %s", fp, strings.Join(v.opts.CollectorKeys, ", "))
			return
		}
		v.res.SignerPinned = true
	}
}

// readLine returns the next line without its newline; a line longer than
// max is an error, and the last line must end in a newline.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line)+len(chunk) > max+1 {
			return nil, fmt.Errorf("a line longer than %d bytes", max)
		}
		line = append(line, chunk...)
		switch {
		case err == nil:
			return line[:len(line)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) == 0:
			return nil, io.EOF
		case errors.Is(err, io.EOF):
			return nil, errors.New("the last line does not end: truncated")
		default:
			return nil, err
		}
	}
}

// strictUnmarshal decodes one JSON object with only v's fields.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value")
	}
	return nil
}

// Digest returns the hex SHA-256 of b, as the manifest writes digests.
func Digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
