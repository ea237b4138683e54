package store

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/avscout/avscout/internal/edkey"
	"github.com/avscout/avscout/internal/text"
)

// PinnedByFirstContact is [HostKey.PinnedBy] for a key pinned by the
// host's first verified report; an administrator's pin names the admin
// credential instead.
const PinnedByFirstContact = "first-contact"

// Audit actions.
const (
	AuditRekey    = "host.rekey"     // a host's key set by an administrator
	AuditKeyClear = "host.key-clear" // a host's pin cleared: its next verified report pins
	// AuditRead and AuditExport are the access log: every request an
	// administrator credential made (target: the path, detail: the
	// query), exports and report downloads apart.
	AuditRead   = "read"
	AuditExport = "export"
)

// Limits of audit entries, in bytes.
const (
	maxAuditField  = 256
	maxAuditDetail = 2048
	// refusedEvery bounds how often a refused key is written for one
	// host: a stream of forged reports does not become a stream of writes.
	refusedEvery = time.Minute
)

// HostKey is what the store knows of a host's agent key.
type HostKey struct {
	HostID string `json:"host_id"`
	// PublicKey is the pinned key; nil when none is pinned (never was, or
	// an administrator cleared it).
	PublicKey ed25519.PublicKey `json:"-"`
	PinnedAt  time.Time         `json:"pinned_at,omitzero"`
	PinnedBy  string            `json:"pinned_by,omitempty"` // PinnedByFirstContact or an admin credential's name
	// RefusedKey is the latest key a report of this host was refused
	// for (a re-installed agent, or an impersonator), seen last at
	// RefusedAt (to the minute).
	RefusedKey ed25519.PublicKey `json:"-"`
	RefusedAt  time.Time         `json:"refused_at,omitzero"`
}

// Pinned reports whether a key is pinned.
func (k HostKey) Pinned() bool { return k.PublicKey != nil }

// Fingerprint names an Ed25519 public key for people and logs, as
// OpenSSH does: "SHA256:" and the unpadded base64 of its SHA-256. It is
// "" for no key.
func Fingerprint(pub []byte) string {
	if len(pub) == 0 {
		return ""
	}
	sum := sha256.Sum256(pub)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// KeyPrefix starts the text form of an agent key (see [edkey.Prefix]).
const KeyPrefix = edkey.Prefix

// FormatKey writes pub in its text form, "ed25519:<base64>".
func FormatKey(pub []byte) string { return edkey.Format(pub) }

// ParseKey reads an agent key in its text form, "ed25519:<base64>". A
// weak key (a point of small order, which verifies forged signatures, or
// not a canonical point encoding) is refused with an error that also
// wraps [edkey.ErrSmallOrder] or [edkey.ErrEncoding].
func ParseKey(s string) (ed25519.PublicKey, error) {
	b, err := ParseTagged(s, ed25519.PublicKeySize)
	if err != nil {
		return nil, fmt.Errorf("%w public key: %w", ErrInvalid, err)
	}
	if err := edkey.Check(b); err != nil {
		return nil, fmt.Errorf("%w public key: weak key: %w", ErrInvalid, err)
	}
	return ed25519.PublicKey(b), nil
}

// ParseTagged reads "ed25519:<standard base64>" of exactly size bytes
// (see [edkey.ParseTagged]).
func ParseTagged(s string, size int) ([]byte, error) { return edkey.ParseTagged(s, size) }

func checkHostID(id string) error {
	if id == "" || len(id) > MaxIDLen {
		return fmt.Errorf("%w host id: empty or longer than %d bytes", ErrInvalid, MaxIDLen)
	}
	return nil
}

// StoredHostID is the id under which a host and its key are kept: the id its
// reports are stored under (see clean), so that no spelling of a host id
// reaches the host's reports without meeting its pinned key.
func StoredHostID(id string) string { return clean(id) }

func checkKey(pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w public key: %d bytes, want %d", ErrInvalid, len(pub), ed25519.PublicKeySize)
	}
	return nil
}

const hostKeyColumns = "host_id, public_key, pinned_at, pinned_by, refused_key, refused_at"

func scanHostKey(row interface{ Scan(...any) error }) (HostKey, error) {
	var k HostKey
	var pub, refused []byte
	var pinnedAt, refusedAt sql.NullInt64
	if err := row.Scan(&k.HostID, &pub, &pinnedAt, &k.PinnedBy, &refused, &refusedAt); err != nil {
		return k, err
	}
	if len(pub) > 0 {
		k.PublicKey = ed25519.PublicKey(bytes.Clone(pub))
	}
	if len(refused) > 0 {
		k.RefusedKey = ed25519.PublicKey(bytes.Clone(refused))
	}
	if pinnedAt.Valid {
		k.PinnedAt = fromMicros(pinnedAt.Int64)
	}
	if refusedAt.Valid {
		k.RefusedAt = fromMicros(refusedAt.Int64)
	}
	return k, nil
}

// HostKey returns what is known of the key of host id, or [ErrNotFound]
// when no key was ever pinned to it.
func (s *Store) HostKey(ctx context.Context, id string) (HostKey, error) {
	return s.hostKey(ctx, s.r, StoredHostID(id))
}

func (s *Store) hostKey(ctx context.Context, q queryer, id string) (HostKey, error) {
	k, err := scanHostKey(q.QueryRowContext(ctx, "SELECT "+hostKeyColumns+" FROM host_keys WHERE host_id = $1", id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return HostKey{HostID: id}, fmt.Errorf("key of host %q: %w", text.Clip(id, 64), ErrNotFound)
	case err != nil:
		return HostKey{HostID: id}, fmt.Errorf("reading key of host %q: %w", text.Clip(id, 64), err)
	}
	return k, nil
}

// PinKey pins pub to host id unless a key is pinned to it already, and
// returns the host's key as it then stands and whether this call pinned
// it. The caller compares the returned key with pub: another key means
// the report must be refused. It is atomic across replicas: of two
// first reports racing with different keys, exactly one pins, and the
// other sees that key. The caller must have verified a signature by pub.
func (s *Store) PinKey(ctx context.Context, id string, pub ed25519.PublicKey, at time.Time) (HostKey, bool, error) {
	if err := checkHostID(id); err != nil {
		return HostKey{}, false, err
	}
	if err := checkKey(pub); err != nil {
		return HostKey{}, false, err
	}
	id = StoredHostID(id)
	// The common case, a known host, only reads.
	k, err := s.hostKey(ctx, s.r, id)
	if err == nil && k.Pinned() {
		return k, false, nil
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return k, false, err
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO host_keys (host_id, public_key, pinned_at, pinned_by) VALUES ($1, $2, $3, $4)
		ON CONFLICT (host_id) DO UPDATE SET public_key = excluded.public_key, pinned_at = excluded.pinned_at, pinned_by = excluded.pinned_by
		WHERE host_keys.public_key IS NULL`, id, []byte(pub), micros(at), PinnedByFirstContact)
	if err != nil {
		return HostKey{}, false, fmt.Errorf("pinning key of host %q: %w", text.Clip(id, 64), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return HostKey{}, false, fmt.Errorf("pinning key of host %q: %w", text.Clip(id, 64), err)
	}
	k, err = s.hostKey(ctx, s.w, id)
	if err != nil {
		return k, false, err
	}
	return k, n == 1 && bytes.Equal(k.PublicKey, pub), nil
}

// RefuseKey notes that a report of host id was refused for carrying
// pub, so that an administrator sees the key of a re-installed agent
// (or of an impersonator). It writes at most once a minute per host and
// key; a host with no row (never pinned) is left alone.
func (s *Store) RefuseKey(ctx context.Context, id string, pub ed25519.PublicKey, at time.Time) error {
	if err := checkHostID(id); err != nil {
		return err
	}
	if err := checkKey(pub); err != nil {
		return err
	}
	id = StoredHostID(id)
	now := micros(at)
	if _, err := s.w.ExecContext(ctx, `UPDATE host_keys SET refused_key = $2, refused_at = $3
		WHERE host_id = $1 AND (refused_key IS NULL OR refused_key <> $2 OR refused_at IS NULL OR refused_at < $4)`,
		id, []byte(pub), now, now-refusedEvery.Microseconds()); err != nil {
		return fmt.Errorf("noting refused key of host %q: %w", text.Clip(id, 64), err)
	}
	return nil
}

// AuditEntry is one administrator action.
type AuditEntry struct {
	ID         string    `json:"id"`
	At         time.Time `json:"at"`
	Credential string    `json:"credential"` // the admin credential's name, or "cli" and the OS user
	Remote     string    `json:"remote"`     // the client's address, or "" for the command line
	Action     string    `json:"action"`     // AuditRekey, AuditKeyClear, …
	Target     string    `json:"target"`     // what it acted on, e.g. the host id
	Detail     string    `json:"detail"`
}

// cleanAudit makes an entry's fields storable and bounded: the target
// may come from a URL, so it is hostile.
func cleanAudit(e *AuditEntry) {
	f := auditText
	e.Credential, e.Remote, e.Action = f(e.Credential, maxAuditField), f(e.Remote, maxAuditField), f(e.Action, maxAuditField)
	e.Target, e.Detail = f(e.Target, maxAuditField), f(e.Detail, maxAuditDetail)
}

// auditText is v as an audit entry stores it: valid UTF-8, control
// characters (NUL among them) as U+FFFD, at most n bytes.
func auditText(v string, n int) string {
	v = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '\uFFFD'
		}
		return r
	}, strings.ToValidUTF8(v, "\uFFFD"))
	return text.Clip(v, n)
}

// insertAudit writes e and appends it to the access log's chain, in tx.
//
// With dbClock, the entry's time is the database server's clock when it
// is stored (see Store.dbClock), not e.At.
func insertAudit(ctx context.Context, tx *sql.Tx, forUpdate string, dbClock bool, e *AuditEntry) error {
	if e.Credential == "" || e.Action == "" {
		return fmt.Errorf("%w audit entry: credential and action required", ErrInvalid)
	}
	cleanAudit(e)
	next, now, err := nextAccessAt(ctx, tx, forUpdate, dbClock)
	if err != nil {
		return err
	}
	e.At = fromMicros(max(cmp.Or(now, micros(e.At)), next))
	var id [8]byte
	rand.Read(id[:]) // crypto/rand.Read never fails
	e.ID = hex.EncodeToString(id[:])
	if _, err := tx.ExecContext(ctx, "INSERT INTO admin_audit (id, at, credential, remote, action, target, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
		e.ID, micros(e.At), e.Credential, e.Remote, e.Action, e.Target, e.Detail); err != nil {
		return fmt.Errorf("writing audit entry %s %q: %w", e.Action, e.Target, err)
	}
	return appendAccess(ctx, tx, forUpdate, e)
}

// Audit writes one administrator action; a zero At means now.
func (s *Store) Audit(ctx context.Context, e AuditEntry) error {
	if e.At.IsZero() {
		e.At = s.now()
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("writing audit entry %s: %w", e.Action, err)
	}
	defer rollback(tx)
	if err := insertAudit(ctx, tx, s.dialect.forUpdate, s.dbClock, &e); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("writing audit entry %s: committing: %w", e.Action, err)
	}
	return nil
}

// AuditLog returns the latest limit (1…1000) administrator actions,
// newest first; target, when not "", keeps only those on it (spelt as
// given to Audit or Rekey: it is cleaned as they store it).
func (s *Store) AuditLog(ctx context.Context, target string, limit int) ([]AuditEntry, error) {
	return s.AuditPage(ctx, AuditFilter{Target: target, Limit: limit})
}

// AuditFilter selects audit entries.
type AuditFilter struct {
	Target string // only entries on this target (a path or a host id)
	Action string // only entries of this action (AuditRead, AuditRekey, …)
	// Before, an entry's id, keeps the entries listed after it (older, or
	// as old and of a lower id): the next page after one ending there.
	Before string
	Limit  int // 1 to MaxLimit
}

// AuditPage returns the entries f selects, newest first.
func (s *Store) AuditPage(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	if f.Limit <= 0 || f.Limit > MaxLimit {
		return nil, fmt.Errorf("%w limit: want 1 to %d", ErrInvalid, MaxLimit)
	}
	args := []any{f.Limit}
	var conds []string
	if f.Target != "" {
		args = append(args, auditText(f.Target, maxAuditField))
		conds = append(conds, fmt.Sprintf("target = $%d", len(args)))
	}
	if f.Action != "" {
		args = append(args, auditText(f.Action, maxAuditField))
		conds = append(conds, fmt.Sprintf("action = $%d", len(args)))
	}
	if f.Before != "" {
		args = append(args, f.Before)
		n := len(args)
		conds = append(conds, fmt.Sprintf("(at < (SELECT at FROM admin_audit WHERE id = $%d) OR at = (SELECT at FROM admin_audit WHERE id = $%d) AND id < $%d)", n, n, n))
	}
	q := "SELECT id, at, credential, remote, action, target, detail FROM admin_audit"
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	rows, err := s.r.QueryContext(ctx, q+" ORDER BY at DESC, id DESC LIMIT $1", args...)
	if err != nil {
		return nil, fmt.Errorf("reading the audit log: %w", err)
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Credential, &e.Remote, &e.Action, &e.Target, &e.Detail); err != nil {
			return nil, fmt.Errorf("reading the audit log: %w", err)
		}
		e.At = fromMicros(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the audit log: %w", err)
	}
	return out, nil
}

// Rekey is an administrator's change of a host's pin.
type Rekey struct {
	HostID string
	// Key is the key to pin; nil clears the pin, so that the host's next
	// verified report pins its key.
	Key ed25519.PublicKey
	// Who did it, from where, when (zero: now); written to the audit log.
	Credential, Remote string
	At                 time.Time
}

// Rekey pins rk.Key to the host (or clears its pin) and writes the audit
// entry, in one transaction; it returns the host's key before and after.
// The host must be known (it reported, or had a key): else [ErrNotFound].
func (s *Store) Rekey(ctx context.Context, rk Rekey) (before, after HostKey, err error) {
	if err := checkHostID(rk.HostID); err != nil {
		return before, after, err
	}
	if rk.Key != nil {
		if err := checkKey(rk.Key); err != nil {
			return before, after, err
		}
	}
	if rk.Credential == "" || strings.ContainsFunc(rk.Credential, unicode.IsControl) {
		return before, after, fmt.Errorf("%w rekey: the administrator's name is required", ErrInvalid)
	}
	if rk.At.IsZero() {
		rk.At = s.now()
	}
	id := StoredHostID(rk.HostID)
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return before, after, fmt.Errorf("rekeying host %q: %w", text.Clip(id, 64), err)
	}
	defer rollback(tx)
	before, err = scanHostKey(tx.QueryRowContext(ctx, "SELECT "+hostKeyColumns+" FROM host_keys WHERE host_id = $1"+s.dialect.forUpdate, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		before = HostKey{HostID: id}
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM hosts WHERE id = $1", id).Scan(&n); err != nil {
			return before, after, fmt.Errorf("rekeying host %q: %w", text.Clip(id, 64), err)
		}
		if n == 0 {
			return before, after, fmt.Errorf("host %q: %w", text.Clip(id, 64), ErrNotFound)
		}
	case err != nil:
		return before, after, fmt.Errorf("rekeying host %q: reading its key: %w", text.Clip(id, 64), err)
	}
	after = before
	entry := AuditEntry{At: rk.At, Credential: rk.Credential, Remote: rk.Remote, Target: id}
	if rk.Key != nil {
		after.PublicKey, after.PinnedAt, after.PinnedBy = rk.Key, rk.At.UTC().Truncate(time.Microsecond), rk.Credential
		entry.Action = AuditRekey
		entry.Detail = fmt.Sprintf("pinned %s (was %s)", Fingerprint(rk.Key), orNone(Fingerprint(before.PublicKey)))
		_, err = tx.ExecContext(ctx, `INSERT INTO host_keys (host_id, public_key, pinned_at, pinned_by) VALUES ($1, $2, $3, $4)
			ON CONFLICT (host_id) DO UPDATE SET public_key = excluded.public_key, pinned_at = excluded.pinned_at, pinned_by = excluded.pinned_by`,
			id, []byte(rk.Key), micros(rk.At), rk.Credential)
	} else {
		after.PublicKey, after.PinnedAt, after.PinnedBy = nil, time.Time{}, ""
		entry.Action = AuditKeyClear
		entry.Detail = fmt.Sprintf("cleared %s: the next verified report pins", orNone(Fingerprint(before.PublicKey)))
		_, err = tx.ExecContext(ctx, `INSERT INTO host_keys (host_id, public_key, pinned_at, pinned_by) VALUES ($1, NULL, NULL, '')
			ON CONFLICT (host_id) DO UPDATE SET public_key = NULL, pinned_at = NULL, pinned_by = ''`, id)
	}
	if err != nil {
		return before, after, fmt.Errorf("rekeying host %q: %w", text.Clip(id, 64), err)
	}
	if err := insertAudit(ctx, tx, s.dialect.forUpdate, s.dbClock, &entry); err != nil {
		return before, after, err
	}
	if err := tx.Commit(); err != nil {
		return before, after, fmt.Errorf("rekeying host %q: committing: %w", text.Clip(id, 64), err)
	}
	return before, after, nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// nullBytes is b as a column value: NULL when empty.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// SignedReport is a report as received with the key and signature it
// came with: what the audit export needs to prove what an agent sent.
type SignedReport struct {
	ID        string
	HostID    string
	Raw       []byte            // the JSON as received (uncompressed)
	PublicKey ed25519.PublicKey // nil when received unsigned
	Signature []byte            // nil when received unsigned
	// SHA256 is the digest of Raw recorded when the report was received;
	// a Raw that no longer matches it was changed in the database.
	SHA256      []byte
	GeneratedAt time.Time
	ReceivedAt  time.Time
}

// Intact reports whether Raw still has the digest recorded at receipt.
func (r SignedReport) Intact() bool {
	sum := sha256.Sum256(r.Raw)
	return bytes.Equal(sum[:], r.SHA256)
}

// Verify reports whether the report carries a signature by its key over
// its bytes.
func (r SignedReport) Verify() bool {
	return len(r.PublicKey) == ed25519.PublicKeySize && ed25519.Verify(r.PublicKey, r.Raw, r.Signature)
}

// SignedReport returns the stored report id with its key and signature,
// or [ErrNotFound].
func (s *Store) SignedReport(ctx context.Context, id string) (SignedReport, error) {
	out := SignedReport{ID: id}
	var body, pub, sig []byte
	var generated, received int64
	err := s.r.QueryRowContext(ctx, "SELECT host_id, body, public_key, signature, sha256, generated_at, received_at FROM reports WHERE id = $1", id).
		Scan(&out.HostID, &body, &pub, &sig, &out.SHA256, &generated, &received)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return out, fmt.Errorf("report %q: %w", text.Clip(id, 64), ErrNotFound)
	case err != nil:
		return out, fmt.Errorf("reading report %q: %w", text.Clip(id, 64), err)
	}
	if out.Raw, err = rawBody(body); err != nil {
		return out, fmt.Errorf("reading report %q: %w", text.Clip(id, 64), err)
	}
	out.GeneratedAt, out.ReceivedAt = fromMicros(generated), fromMicros(received)
	if len(pub) > 0 {
		out.PublicKey = ed25519.PublicKey(bytes.Clone(pub))
	}
	if len(sig) > 0 {
		out.Signature = bytes.Clone(sig)
	}
	return out, nil
}
