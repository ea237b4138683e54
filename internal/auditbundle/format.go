package auditbundle

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/avscout/avscout/internal/agentkey"
	"github.com/avscout/avscout/internal/edkey"
)

// Format names the bundle format in the manifest's header;
// SignatureFormat the manifest signature's document.
const (
	Format          = "avscout-audit-bundle/1"
	SignatureFormat = "avscout-audit-manifest-signature/1"
)

// Names of the bundle's files other than the reports.
const (
	AccessName      = "access.jsonl"
	ManifestName    = "manifest.jsonl"
	ManifestSigName = "manifest.sig"
	reportDir       = "reports/"
	reportExt       = ".json"
	sigExt          = ".sig"
	seqDigits       = 12
)

// manifestContext starts what the collector signs: the context, then the
// manifest's 32-byte SHA-256.
const manifestContext = "avscout audit manifest\n"

// ReportName is the file name of the report of chain entry seq.
func ReportName(seq int64) string {
	return fmt.Sprintf("%s%0*d%s", reportDir, seqDigits, seq, reportExt)
}

// SignatureName is the file name of the agent signature of entry seq.
func SignatureName(seq int64) string { return ReportName(seq) + sigExt }

// parseName returns what a bundle file name is: a report or signature of
// a seq, or one of the fixed files. ok is false for any other name.
func parseName(name string) (seq int64, sig bool, ok bool) {
	switch name {
	case AccessName, ManifestName, ManifestSigName:
		return 0, false, true
	}
	rest, found := strings.CutPrefix(name, reportDir)
	if !found {
		return 0, false, false
	}
	if r, isSig := strings.CutSuffix(rest, reportExt+sigExt); isSig {
		rest, sig = r, true
	} else if r, isRep := strings.CutSuffix(rest, reportExt); isRep {
		rest = r
	} else {
		return 0, false, false
	}
	if len(rest) != seqDigits || strings.Trim(rest, "0123456789") != "" {
		return 0, false, false
	}
	seq, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || seq <= 0 {
		return 0, false, false
	}
	return seq, sig, true
}

// Header is the manifest's first line.
type Header struct {
	Type      string    `json:"type"` // "header"
	Format    string    `json:"format"`
	CreatedAt time.Time `json:"created_at"`
	// Since and Until are the window: reports received at or after Since
	// and before Until. Until is the end asked for, or when the export
	// began if that is earlier: no report can join the window later, and
	// the next window starts there (see [Follows]). The chain range
	// FirstSeq…LastSeq is
	// every entry from the first received in the window to the last,
	// so that it is contiguous (0…0 when none).
	Since    time.Time `json:"since"`
	Until    time.Time `json:"until"`
	FirstSeq int64     `json:"first_seq"`
	LastSeq  int64     `json:"last_seq"`
	// PrevHash is the hash of entry FirstSeq-1 (zeros before entry 1);
	// LastHash that of entry LastSeq.
	PrevHash string `json:"prev_hash"`
	LastHash string `json:"last_hash"`
	// HeadSeq and HeadHash are the chain's last entry when the bundle
	// was made.
	HeadSeq  int64  `json:"head_seq"`
	HeadHash string `json:"head_hash"`
	Reports  int64  `json:"reports"` // entries in the window
	Pruned   int64  `json:"pruned"`  // entries whose report is no longer stored
	// The access log's chain over the window, the same way: its range,
	// the hash before it and its last, the head when exported, and how
	// many entries (AccessPruned of them deleted by retention).
	Access         int64  `json:"access_entries"`
	AccessPruned   int64  `json:"access_pruned"`
	AccessFirstSeq int64  `json:"access_first_seq"`
	AccessLastSeq  int64  `json:"access_last_seq"`
	AccessPrevHash string `json:"access_prev_hash"`
	AccessLastHash string `json:"access_last_hash"`
	AccessHeadSeq  int64  `json:"access_head_seq"`
	AccessHeadHash string `json:"access_head_hash"`
	// CollectorKey is "ed25519:" and the base64 of the collector's public
	// key; CollectorFingerprint its fingerprint ("SHA256:…").
	CollectorKey         string `json:"collector_key"`
	CollectorFingerprint string `json:"collector_fingerprint"`
}

// EntryLine is a manifest line of one chain entry.
type EntryLine struct {
	Type         string `json:"type"` // "entry"
	Seq          int64  `json:"seq"`
	ReportID     string `json:"report_id"`
	HostID       string `json:"host_id"`
	ReceivedAt   int64  `json:"received_at_us"`
	ReportSHA256 string `json:"report_sha256"`
	Prev         string `json:"prev"`
	Hash         string `json:"hash"`
	// File is the report's file name and Size its size; both empty
	// when Pruned (retention deleted the report; the entry stays).
	File   string `json:"file,omitempty"`
	Size   int64  `json:"size,omitempty"`
	Pruned bool   `json:"pruned,omitempty"`
	// SigFile and SigSHA256 name the agent's signature file, when the
	// report was received signed.
	SigFile   string `json:"signature_file,omitempty"`
	SigSHA256 string `json:"signature_sha256,omitempty"`
}

// FileLine is a manifest line of another file (access.jsonl).
type FileLine struct {
	Type   string `json:"type"` // "file"
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// AccessEntry is an administrator's action, as the access log holds it.
type AccessEntry struct {
	ID         string    `json:"id"`
	At         time.Time `json:"at"`
	Credential string    `json:"credential"`
	Remote     string    `json:"remote"`
	Action     string    `json:"action"`
	Target     string    `json:"target"`
	Detail     string    `json:"detail"`
}

// AccessLine is one line of access.jsonl: an entry of the access log's
// chain with the action it covers (its fields empty but id when Pruned:
// retention deleted the action, its entry stays).
type AccessLine struct {
	Seq         int64  `json:"seq"`
	Prev        string `json:"prev"`
	Hash        string `json:"hash"`
	EntrySHA256 string `json:"entry_sha256"`
	AtMicros    int64  `json:"at_us"`
	Pruned      bool   `json:"pruned,omitempty"`
	AccessEntry
}

// ChainHead is a chain's last entry (seq 0 and zeros when empty).
type ChainHead struct {
	Seq  int64
	Hash [HashSize]byte
}

// ManifestSignature is manifest.sig.
type ManifestSignature struct {
	Format         string `json:"format"`
	PublicKey      string `json:"public_key"`
	Fingerprint    string `json:"fingerprint"`
	ManifestSHA256 string `json:"manifest_sha256"`
	Signature      string `json:"signature"`
}

// EncodeKey writes a public key as the manifest does.
func EncodeKey(pub ed25519.PublicKey) string { return edkey.Format(pub) }

// decodeKey reads a key EncodeKey wrote and checks it binds something.
func decodeKey(s string) (ed25519.PublicKey, error) {
	raw, err := edkey.ParseTagged(s, ed25519.PublicKeySize)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	if err := edkey.Check(raw); err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	return ed25519.PublicKey(raw), nil
}

// Signer is what signing a manifest needs; [*agentkey.Key] is one.
type Signer interface {
	PublicKey() ed25519.PublicKey
	Sign(msg []byte) []byte
}

func signedManifest(sum [sha256.Size]byte) []byte {
	return append([]byte(manifestContext), sum[:]...)
}

// signManifest returns manifest.sig for a manifest with digest sum.
func signManifest(sum [sha256.Size]byte, key Signer) ([]byte, error) {
	pub := key.PublicKey()
	doc := ManifestSignature{
		Format:         SignatureFormat,
		PublicKey:      EncodeKey(pub),
		Fingerprint:    agentkey.Fingerprint(pub),
		ManifestSHA256: hex.EncodeToString(sum[:]),
		Signature:      edkey.Format(key.Sign(signedManifest(sum))),
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("signing the manifest: %w", err)
	}
	return append(out, '\n'), nil
}

func hexHash(h [HashSize]byte) string { return hex.EncodeToString(h[:]) }

func parseHash(s string) ([HashSize]byte, bool) {
	var out [HashSize]byte
	if len(s) != 2*HashSize {
		return out, false
	}
	_, err := hex.Decode(out[:], []byte(s))
	return out, err == nil
}
