package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/avscout/avscout/internal/collector/store"
)

// AuditLimit is how many audit entries [ShowHost] returns.
const AuditLimit = 20

// HostKey is a host's key as "host show" prints it (its JSON with
// --json).
type HostKey struct {
	HostID             string             `json:"host_id"`
	Known              bool               `json:"known"` // the host has reported
	Pinned             bool               `json:"pinned"`
	Fingerprint        string             `json:"fingerprint,omitempty"`
	PublicKey          string             `json:"public_key,omitempty"`
	PinnedAt           time.Time          `json:"pinned_at,omitzero"`
	PinnedBy           string             `json:"pinned_by,omitempty"`
	RefusedFingerprint string             `json:"refused_fingerprint,omitempty"`
	RefusedKey         string             `json:"refused_key,omitempty"`
	RefusedAt          time.Time          `json:"refused_at,omitzero"`
	Audit              []store.AuditEntry `json:"audit"`
}

// ShowHost reads host id's pinned key, the last key refused for it and
// its latest audit entries. A host with neither reports nor a key is an
// error.
func ShowHost(ctx context.Context, st *store.Store, id string) (HostKey, error) {
	v := HostKey{HostID: id}
	_, err := st.Host(ctx, id, time.Hour)
	switch {
	case err == nil:
		v.Known = true
	case !errors.Is(err, store.ErrNotFound):
		return v, err
	}
	k, err := st.HostKey(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if !v.Known {
			return v, fmt.Errorf("host %q: not known to this collector", id)
		}
	case err != nil:
		return v, err
	}
	v.Pinned, v.Fingerprint, v.PublicKey, v.PinnedAt, v.PinnedBy = k.Pinned(), store.Fingerprint(k.PublicKey), store.FormatKey(k.PublicKey), k.PinnedAt, k.PinnedBy
	v.RefusedFingerprint, v.RefusedKey, v.RefusedAt = store.Fingerprint(k.RefusedKey), store.FormatKey(k.RefusedKey), k.RefusedAt
	if v.Audit, err = st.AuditLog(ctx, id, AuditLimit); err != nil {
		return v, err
	}
	return v, nil
}

// WriteText writes v for a person, with the "host rekey" command to run
// when a refused key may be the host's re-installed agent.
func (v HostKey) WriteText(w io.Writer) {
	fmt.Fprintf(w, "host:     %s\n", v.HostID)
	if !v.Known {
		fmt.Fprintln(w, "reports:  none stored")
	}
	if v.Pinned {
		fmt.Fprintf(w, "key:      %s  %s\npinned:   %s by %s\n", v.Fingerprint, v.PublicKey, v.PinnedAt.Format(time.RFC3339), v.PinnedBy)
	} else {
		fmt.Fprintln(w, "key:      none pinned (the next verified report pins its key)")
	}
	if v.RefusedKey != "" {
		fmt.Fprintf(w, "refused:  %s  %s  last %s\n", v.RefusedFingerprint, v.RefusedKey, v.RefusedAt.Format(time.RFC3339))
		if v.Pinned && v.RefusedKey != v.PublicKey {
			fmt.Fprintf(w, "          if this is the host's re-installed agent: avscout-collector host rekey %s --key %s\n", v.HostID, v.RefusedKey)
		}
	}
	if len(v.Audit) > 0 {
		fmt.Fprintln(w, "audit:")
		for _, e := range v.Audit {
			fmt.Fprintf(w, "  %s  %s  %s  %s\n", e.At.Format(time.RFC3339), e.Credential, e.Action, strings.ReplaceAll(e.Detail, "\n", " "))
		}
	}
}

// ErrBadKey is a --key that is not "ed25519:" and the standard base64 of
// a 32-byte key.
var ErrBadKey = errors.New("--key: want ed25519:<standard base64 of the 32-byte key>")

// NewRekey is credential's change of host hostID's pin: to key
// ("ed25519:BASE64"), or, with key empty, clearing the pin. A malformed
// key is [ErrBadKey].
func NewRekey(hostID, key, credential string) (store.Rekey, error) {
	rk := store.Rekey{HostID: hostID, Credential: credential}
	if key != "" {
		var err error
		if rk.Key, err = store.ParseKey(key); err != nil {
			return rk, ErrBadKey
		}
	}
	return rk, nil
}

// Rekeyed is the outcome of [Rekey]: the fingerprints of the host's
// pinned key before and after ("" for none).
type Rekeyed struct {
	HostID, Before, After string
	Cleared               bool
}

func (r Rekeyed) String() string {
	if r.Cleared {
		return fmt.Sprintf("host %s: pin cleared (was %s); its next verified report pins its key", r.HostID, orNone(r.Before))
	}
	return fmt.Sprintf("host %s: pinned %s (was %s)", r.HostID, r.After, orNone(r.Before))
}

// Rekey applies rk (audited in the store), logs it as a warning to log
// (nil: not logged) and returns what changed. A host that never
// reported nor had a key is an error saying so.
func Rekey(ctx context.Context, st *store.Store, rk store.Rekey, log *slog.Logger) (Rekeyed, error) {
	before, after, err := st.Rekey(ctx, rk)
	if errors.Is(err, store.ErrNotFound) {
		return Rekeyed{}, fmt.Errorf("host %q: not known to this collector (it never reported)", rk.HostID)
	} else if err != nil {
		return Rekeyed{}, err
	}
	r := Rekeyed{HostID: rk.HostID, Before: store.Fingerprint(before.PublicKey), After: store.Fingerprint(after.PublicKey), Cleared: rk.Key == nil}
	if log != nil {
		log.Warn("host rekeyed by an administrator", "host", rk.HostID, "credential", rk.Credential,
			"from", r.Before, "to", r.After, "cleared", r.Cleared)
	}
	return r, nil
}
