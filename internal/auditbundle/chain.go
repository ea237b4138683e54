// Package auditbundle defines the collector's audit bundle and its report
// chain, so that an auditor can check, offline and with nothing but the
// bundle and the collector's public key, that what the collector says it
// received in a window is exactly what its agents sent: no report changed,
// dropped, added or reordered.
//
// # The chain
//
// The collector appends an entry to one chain for every report it stores,
// in the order the reports are stored, numbered 1, 2, 3… (seq). An entry's
// hash is the SHA-256 of this canonical encoding ([EntryHash]):
//
//	"avscout-chain/1\n"               16 bytes, the domain
//	seq                               8 bytes, unsigned big-endian
//	prev                              32 bytes: the previous entry's hash (32 zero bytes for seq 1)
//	report sha256                     32 bytes: SHA-256 of the report as received
//	received_at                       8 bytes, signed big-endian Unix microseconds
//	len(report id), report id         4 bytes unsigned big-endian, then the bytes
//	len(host id), host id             the same
//
// Changing a report changes its digest and so its entry's hash and every
// later one; dropping or reordering entries breaks seq or prev.
//
// The access log (every administrator read, export and change) has a
// chain of its own, built the same way ([AccessHash] over
// [AccessDigest]), so that an entry changed or dropped shows too.
//
// # The bundle
//
// A bundle is a POSIX tar file (uncompressed) of regular files, in this
// order and with no other names:
//
//	reports/<seq, 12 digits>.json      a report, the exact bytes received
//	reports/<seq, 12 digits>.json.sig  its agent's delivery signature (package reportsig, FormatDelivered), if it was signed
//	access.jsonl                       the access log's chain entries of the window, one JSON object a line
//	manifest.jsonl                     the manifest (below)
//	manifest.sig                       the collector's signature of the manifest
//
// The manifest is JSON Lines: a header line ("type": "header": window,
// chain range, the hash before the window, the chain head when exported,
// counts, the collector's public key), one "entry" line per chain entry of
// the window in seq order (with the report file's name, size and the
// signature file's digest), and one "file" line for access.jsonl.
// manifest.sig signs "avscout audit manifest\n" followed by the 32-byte
// SHA-256 of manifest.jsonl with the collector's Ed25519 key, so that the
// manifest is checked while it streams.
//
// The manifest comes last so that the collector writes a bundle of any
// size with bounded memory; [Verify] reads it with bounded memory per
// report and refuses what exceeds [Limits].
package auditbundle

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
)

// chainDomain starts every entry's encoding (see the package doc).
const (
	chainDomain       = "avscout-chain/1\n"
	accessDomain      = "avscout-access-chain/1\n"
	accessEntryDomain = "avscout-access/1\n"
)

// HashSize is the size of an entry hash and of a report digest.
const HashSize = sha256.Size

// Entry is one entry of the chain.
type Entry struct {
	Seq          int64
	ReportID     string
	HostID       string
	ReceivedAt   int64 // Unix microseconds, as stored
	ReportSHA256 [HashSize]byte
	Prev         [HashSize]byte
	Hash         [HashSize]byte
}

// EntryHash returns the hash of the entry seq with these fields, by the
// encoding in the package doc.
func EntryHash(seq int64, prev, reportSHA256 [HashSize]byte, receivedAt int64, reportID, hostID string) [HashSize]byte {
	return chainHash(chainDomain, seq, prev, reportSHA256, receivedAt, reportID, hostID)
}

// AccessHash returns the hash of entry seq of the access log's chain:
// the encoding of [EntryHash] with the domain "avscout-access-chain/1\n",
// the entry's [AccessDigest] for the report's digest, its time, its id,
// and an empty host id.
func AccessHash(seq int64, prev, digest [HashSize]byte, at int64, id string) [HashSize]byte {
	return chainHash(accessDomain, seq, prev, digest, at, id, "")
}

// AccessDigest is the SHA-256 of an access log entry's canonical
// encoding: "avscout-access/1\n", its time (8 bytes, signed big-endian
// Unix microseconds), then its id, credential, remote address, action,
// target and detail, each as 4 bytes of length (unsigned big-endian) and
// the bytes.
func AccessDigest(e AccessEntry) [HashSize]byte {
	h := sha256.New()
	var n [8]byte
	h.Write([]byte(accessEntryDomain))
	binary.BigEndian.PutUint64(n[:], uint64(e.At.UnixMicro()))
	h.Write(n[:])
	writeStrings(h, e.ID, e.Credential, e.Remote, e.Action, e.Target, e.Detail)
	var out [HashSize]byte
	h.Sum(out[:0])
	return out
}

// writeStrings writes each of ss to h as 4 bytes of length (unsigned
// big-endian) and its bytes.
func writeStrings(h hash.Hash, ss ...string) {
	var n [4]byte
	for _, s := range ss {
		binary.BigEndian.PutUint32(n[:], uint32(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
}

func chainHash(domain string, seq int64, prev, sum [HashSize]byte, at int64, id, host string) [HashSize]byte {
	h := sha256.New()
	var n [8]byte
	h.Write([]byte(domain))
	binary.BigEndian.PutUint64(n[:], uint64(seq))
	h.Write(n[:])
	h.Write(prev[:])
	h.Write(sum[:])
	binary.BigEndian.PutUint64(n[:], uint64(at))
	h.Write(n[:])
	writeStrings(h, id, host)
	var out [HashSize]byte
	h.Sum(out[:0])
	return out
}

// Next returns the entry that follows prev (nil: the first entry) for a
// report, with its hash.
func Next(prev *Entry, reportID, hostID string, receivedAt int64, reportSHA256 [HashSize]byte) Entry {
	e := Entry{Seq: 1, ReportID: reportID, HostID: hostID, ReceivedAt: receivedAt, ReportSHA256: reportSHA256}
	if prev != nil {
		e.Seq, e.Prev = prev.Seq+1, prev.Hash
	}
	e.Hash = EntryHash(e.Seq, e.Prev, e.ReportSHA256, e.ReceivedAt, e.ReportID, e.HostID)
	return e
}
