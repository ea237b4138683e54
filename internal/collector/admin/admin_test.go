package admin

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/collector/store"
)

// openTemp opens a fresh SQLite database in a temporary directory.
func openTemp(t *testing.T) *store.Store {
	t.Helper()
	st, err := Open(context.Background(), filepath.Join(t.TempDir(), "avscout.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// keyOf is a test Ed25519 public key, the same for the same seed.
func keyOf(seed byte) ed25519.PublicKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize)).Public().(ed25519.PublicKey)
}

func TestMigrate(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "fresh.db")
	s, err := Migrate(context.Background(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Dialect != "sqlite" || s.Version != store.KnownSchemaVersion() || s.DSN != dsn {
		t.Errorf("Migrate = %+v, want sqlite at version %d", s, store.KnownSchemaVersion())
	}
	if want := "sqlite database " + dsn + " at schema version "; !strings.HasPrefix(s.String(), want) {
		t.Errorf("String = %q, want prefix %q", s, want)
	}
	// Twice is fine: nothing is pending the second time.
	if again, err := Migrate(context.Background(), dsn, nil); err != nil || again != s {
		t.Errorf("second Migrate = %+v, %v; want %+v", again, err, s)
	}
}

func TestOpenError(t *testing.T) {
	_, err := Open(context.Background(), filepath.Join(t.TempDir(), "missing", "dir", "avscout.db"), nil)
	if err == nil || !strings.Contains(err.Error(), "opening database") {
		t.Fatalf("Open in a missing directory = %v, want an error naming the database", err)
	}
}

func TestNewRekey(t *testing.T) {
	k := keyOf(1)
	tests := []struct {
		name, key string
		want      ed25519.PublicKey
		wantErr   error
	}{
		{"clear", "", nil, nil},
		{"key", store.FormatKey(k), k, nil},
		{"no_prefix", strings.TrimPrefix(store.FormatKey(k), "ed25519:"), nil, ErrBadKey},
		{"short", "ed25519:AAAA", nil, ErrBadKey},
		{"not_base64", "ed25519:!!!", nil, ErrBadKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rk, err := NewRekey("h1", tt.key, "cli:alice")
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("NewRekey err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && (!bytes.Equal(rk.Key, tt.want) || rk.HostID != "h1" || rk.Credential != "cli:alice") {
				t.Errorf("NewRekey = %+v", rk)
			}
		})
	}
}

func TestShowAndRekeyHost(t *testing.T) {
	ctx := context.Background()
	st := openTemp(t)
	first, second, refused := keyOf(1), keyOf(2), keyOf(3)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if _, _, err := st.PinKey(ctx, "h1", first, at); err != nil {
		t.Fatal(err)
	}
	if err := st.RefuseKey(ctx, "h1", refused, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}

	if _, err := ShowHost(ctx, st, "nobody"); err == nil || !strings.Contains(err.Error(), `host "nobody": not known`) {
		t.Errorf("ShowHost of an unknown host = %v", err)
	}
	v, err := ShowHost(ctx, st, "h1")
	if err != nil {
		t.Fatal(err)
	}
	if v.Known || !v.Pinned || v.Fingerprint != store.Fingerprint(first) || v.PublicKey != store.FormatKey(first) ||
		v.RefusedKey != store.FormatKey(refused) || len(v.Audit) != 0 {
		t.Errorf("ShowHost before rekey = %+v", v)
	}

	var log bytes.Buffer
	rk, err := NewRekey("h1", store.FormatKey(second), "cli:alice")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Rekey(ctx, st, rk, slog.New(slog.NewTextHandler(&log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	want := Rekeyed{HostID: "h1", Before: store.Fingerprint(first), After: store.Fingerprint(second)}
	if r != want {
		t.Errorf("Rekey = %+v, want %+v", r, want)
	}
	if got := r.String(); got != "host h1: pinned "+want.After+" (was "+want.Before+")" {
		t.Errorf("Rekeyed.String = %q", got)
	}
	for _, w := range []string{"level=WARN", "host rekeyed by an administrator", "credential=cli:alice", "cleared=false"} {
		if !strings.Contains(log.String(), w) {
			t.Errorf("rekey log lacks %q:\n%s", w, log.String())
		}
	}

	clear, _ := NewRekey("h1", "", "cli:bob")
	r, err = Rekey(ctx, st, clear, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.String(); !r.Cleared || got != "host h1: pin cleared (was "+want.After+"); its next verified report pins its key" {
		t.Errorf("Rekeyed.String after clearing = %q", got)
	}

	v, err = ShowHost(ctx, st, "h1")
	if err != nil {
		t.Fatal(err)
	}
	if v.Pinned || len(v.Audit) != 2 || v.Audit[0].Action != store.AuditKeyClear || v.Audit[0].Credential != "cli:bob" || v.Audit[1].Action != store.AuditRekey {
		t.Errorf("ShowHost after clearing = %+v", v)
	}

	unknown, _ := NewRekey("nobody", "", "cli:bob")
	if _, err := Rekey(ctx, st, unknown, nil); err == nil || !strings.Contains(err.Error(), `host "nobody": not known to this collector (it never reported)`) {
		t.Errorf("Rekey of an unknown host = %v", err)
	}
}

func TestHostKeyWriteText(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	pinned := HostKey{HostID: "h1", Known: true, Pinned: true, Fingerprint: "SHA256:aaa", PublicKey: "ed25519:AAA", PinnedAt: at, PinnedBy: "first-contact"}
	refused := pinned
	refused.RefusedFingerprint, refused.RefusedKey, refused.RefusedAt = "SHA256:bbb", "ed25519:BBB", at.Add(time.Hour)
	tests := []struct {
		name    string
		v       HostKey
		want    []string
		notWant []string
	}{
		{"pinned", pinned, []string{"host:     h1\n", "key:      SHA256:aaa  ed25519:AAA\npinned:   2026-03-01T12:00:00Z by first-contact\n"}, []string{"reports:", "refused:", "audit:"}},
		{"never_reported", HostKey{HostID: "h2"}, []string{"reports:  none stored\n", "key:      none pinned (the next verified report pins its key)\n"}, []string{"pinned:"}},
		{"refused_key", refused, []string{"refused:  SHA256:bbb  ed25519:BBB  last 2026-03-01T13:00:00Z\n",
			"if this is the host's re-installed agent: avscout-collector host rekey h1 --key ed25519:BBB\n"}, nil},
		{"audit", HostKey{HostID: "h3", Known: true, Audit: []store.AuditEntry{{At: at, Credential: "alice", Action: store.AuditRekey, Detail: "two\nlines"}}},
			[]string{"audit:\n  2026-03-01T12:00:00Z  alice  host.rekey  two lines\n"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			tt.v.WriteText(&b)
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("lacks %q:\n%s", w, b.String())
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(b.String(), w) {
					t.Errorf("has %q:\n%s", w, b.String())
				}
			}
		})
	}
}

func TestWriteTokens(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var b strings.Builder
	err := WriteTokens(&b, []store.Token{
		{ID: "0123456789abcdef", Name: "site A", CreatedAt: at},
		{ID: "fedcba9876543210", Name: "mdm\t\"x\"", CreatedAt: at, LastUsed: at.Add(time.Minute), RevokedAt: at.Add(time.Hour)},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "ID                NAME          CREATED               LAST USED             STATUS\n" +
		"0123456789abcdef  \"site A\"      2026-03-01T12:00:00Z  never                 valid\n" +
		"fedcba9876543210  \"mdm\\t\\\"x\\\"\"  2026-03-01T12:00:00Z  2026-03-01T12:01:00Z  revoked 2026-03-01T13:00:00Z\n"
	if b.String() != want {
		t.Errorf("WriteTokens:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestCLICredential(t *testing.T) {
	c := CLICredential()
	if c != "cli" && !strings.HasPrefix(c, "cli:") {
		t.Errorf("CLICredential = %q, want cli or cli:USER", c)
	}
	if t.Setenv("USER", ""); CLICredential() == "" {
		t.Error("CLICredential is empty without $USER")
	}
}
