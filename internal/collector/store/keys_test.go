package store

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/collector/internal/fleettest"
)

// testKey is a deterministic agent key named by seed.
func testKey(seed string) ed25519.PrivateKey {
	s := sha256.Sum256([]byte("avscout store test key " + seed))
	return ed25519.NewKeyFromSeed(s[:])
}

func pub(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

func TestPinKey(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, c *clock) {
		ctx := context.Background()
		a, b := pub(testKey("a")), pub(testKey("b"))
		if _, err := s.HostKey(ctx, "h1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("HostKey of an unknown host: %v", err)
		}
		k, pinned, err := s.PinKey(ctx, "h1", a, t0)
		if err != nil || !pinned || !bytes.Equal(k.PublicKey, a) || k.PinnedBy != PinnedByFirstContact || !k.PinnedAt.Equal(t0) {
			t.Fatalf("first PinKey = %+v, %v, %v", k, pinned, err)
		}
		// The same key again: nothing to pin. Another key: the pinned
		// one comes back, unchanged.
		if k, pinned, err := s.PinKey(ctx, "h1", a, t0.Add(time.Hour)); err != nil || pinned || !bytes.Equal(k.PublicKey, a) || !k.PinnedAt.Equal(t0) {
			t.Errorf("PinKey again = %+v, %v, %v", k, pinned, err)
		}
		if k, pinned, err := s.PinKey(ctx, "h1", b, t0.Add(time.Hour)); err != nil || pinned || !bytes.Equal(k.PublicKey, a) {
			t.Errorf("PinKey with another key = %+v, %v, %v", k, pinned, err)
		}
		// A refused key is noted, at most once a minute.
		if err := s.RefuseKey(ctx, "h1", b, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.RefuseKey(ctx, "h1", b, t0.Add(time.Hour+time.Second)); err != nil {
			t.Fatal(err)
		}
		k, err = s.HostKey(ctx, "h1")
		if err != nil || !bytes.Equal(k.RefusedKey, b) || !k.RefusedAt.Equal(t0.Add(time.Hour)) || !bytes.Equal(k.PublicKey, a) {
			t.Errorf("after RefuseKey: %+v, %v", k, err)
		}
		for _, bad := range []struct {
			id  string
			key ed25519.PublicKey
		}{{"", a}, {strings.Repeat("x", MaxIDLen+1), a}, {"h2", a[:31]}, {"h2", nil}} {
			if _, _, err := s.PinKey(ctx, bad.id, bad.key, t0); !errors.Is(err, ErrInvalid) {
				t.Errorf("PinKey(%.10q, %d bytes) = %v, want ErrInvalid", bad.id, len(bad.key), err)
			}
		}
	})
}

// Of many first reports racing with different keys, on several
// connections, exactly one pins and every other sees its key.
func TestPinKeyRace(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			dsn := dsnFor(t, d)
			stores := []*Store{openDSN(t, dsn, Options{}), openDSN(t, dsn, Options{})} // two replicas
			const n = 16
			var wg sync.WaitGroup
			results := make([]HostKey, n)
			pinnedBy := make([]bool, n)
			errs := make([]error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					results[i], pinnedBy[i], errs[i] = stores[i%2].PinKey(context.Background(), "race", pub(testKey(string(rune('a'+i)))), t0)
				}()
			}
			wg.Wait()
			winners := 0
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("PinKey %d: %v", i, errs[i])
				}
				if pinnedBy[i] {
					winners++
				}
				if !bytes.Equal(results[i].PublicKey, results[0].PublicKey) {
					t.Errorf("PinKey %d saw %s, PinKey 0 saw %s", i, Fingerprint(results[i].PublicKey), Fingerprint(results[0].PublicKey))
				}
			}
			if winners != 1 {
				t.Errorf("%d callers pinned, want exactly 1", winners)
			}
		})
	}
}

func TestRekey(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, c *clock) {
		ctx := context.Background()
		a, b := pub(testKey("a")), pub(testKey("b"))
		// Unknown host: nothing to rekey.
		if _, _, err := s.Rekey(ctx, Rekey{HostID: "nobody", Key: a, Credential: "alice"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("Rekey of an unknown host: %v", err)
		}
		// A host that reported unsigned (before signing) has no key row:
		// an administrator may still pin one.
		r := fleettest.Report(t, "debian-clean", "old", "old", t0)
		ingest(t, s, r, t0, Stored)
		before, after, err := s.Rekey(ctx, Rekey{HostID: "old", Key: a, Credential: "alice", Remote: "192.0.2.1:5555"})
		if err != nil || before.Pinned() || !bytes.Equal(after.PublicKey, a) || after.PinnedBy != "alice" {
			t.Fatalf("Rekey of an unpinned host = %+v, %+v, %v", before, after, err)
		}
		if k, _ := s.HostKey(ctx, "old"); !bytes.Equal(k.PublicKey, a) || k.PinnedBy != "alice" {
			t.Errorf("stored key after Rekey: %+v", k)
		}
		// Pinned to a; clearing lets the next key pin; the audit log
		// has both actions, newest first.
		c.Set(t0.Add(time.Minute))
		if _, after, err := s.Rekey(ctx, Rekey{HostID: "old", Credential: "cli:root"}); err != nil || after.Pinned() {
			t.Fatalf("clearing: %+v, %v", after, err)
		}
		if k, pinned, err := s.PinKey(ctx, "old", b, t0.Add(2*time.Minute)); err != nil || !pinned || !bytes.Equal(k.PublicKey, b) {
			t.Errorf("PinKey after clearing = %+v, %v, %v", k, pinned, err)
		}
		log, err := s.AuditLog(ctx, "old", 10)
		if err != nil || len(log) != 2 {
			t.Fatalf("AuditLog = %+v, %v", log, err)
		}
		if e := log[0]; e.Action != AuditKeyClear || e.Credential != "cli:root" || e.Remote != "" || !strings.Contains(e.Detail, Fingerprint(a)) {
			t.Errorf("newest audit entry %+v", e)
		}
		if e := log[1]; e.Action != AuditRekey || e.Credential != "alice" || e.Remote != "192.0.2.1:5555" || !e.At.Equal(t0) ||
			!strings.Contains(e.Detail, Fingerprint(a)) || !strings.Contains(e.Detail, "was none") {
			t.Errorf("oldest audit entry %+v", e)
		}
		if all, err := s.AuditLog(ctx, "", 1); err != nil || len(all) != 1 || all[0].ID != log[0].ID {
			t.Errorf("AuditLog(all, 1) = %+v, %v", all, err)
		}
		// Hostile text in an audit entry is stored bounded and clean.
		if err := s.Audit(ctx, AuditEntry{Credential: "x", Action: "test", Target: "t\x00\n" + strings.Repeat("é", 500)}); err != nil {
			t.Fatal(err)
		}
		all, _ := s.AuditLog(ctx, "", 1)
		if got := all[0].Target; strings.ContainsAny(got, "\x00\n") || len(got) > maxAuditField+len("…") {
			t.Errorf("hostile target stored as %q", got)
		}
		if _, _, err := s.Rekey(ctx, Rekey{HostID: "old", Key: a}); !errors.Is(err, ErrInvalid) {
			t.Errorf("Rekey without a name: %v", err)
		}
	})
}

// The key and signature a report came with are stored with it.
func TestSignedReport(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, c *clock) {
		ctx := context.Background()
		k := testKey("agent")
		r := fleettest.Report(t, "windows-kes-active", "w1", "w1", t0)
		raw := fleettest.JSON(t, r)
		sig := ed25519.Sign(k, raw)
		if out, err := s.Ingest(ctx, Incoming{Report: r, Raw: raw, TokenID: "tok", ReceivedAt: t0, PublicKey: pub(k), Signature: sig}); err != nil || out != Stored {
			t.Fatalf("Ingest: %v %v", out, err)
		}
		got, err := s.SignedReport(ctx, r.ReportID)
		if err != nil || !bytes.Equal(got.Raw, raw) || !bytes.Equal(got.PublicKey, pub(k)) || !bytes.Equal(got.Signature, sig) || !got.Verify() || got.HostID != "w1" {
			t.Errorf("SignedReport = %+v, %v", got, err)
		}
		unsigned := fleettest.Report(t, "windows-clean", "w1", "w1", t0.Add(time.Hour))
		ingest(t, s, unsigned, t0.Add(time.Hour), Stored)
		if got, err := s.SignedReport(ctx, unsigned.ReportID); err != nil || got.PublicKey != nil || got.Signature != nil || got.Verify() {
			t.Errorf("unsigned SignedReport = %+v, %v", got, err)
		}
		if _, err := s.SignedReport(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("SignedReport(nope) = %v", err)
		}
	})
}

func TestParseKey(t *testing.T) {
	k := pub(testKey("a"))
	text := FormatKey(k)
	if got, err := ParseKey(text); err != nil || !bytes.Equal(got, k) {
		t.Fatalf("ParseKey(FormatKey) = %x, %v", got, err)
	}
	for _, bad := range []string{"", "ed25519:", text[len(KeyPrefix):], "ED25519:" + text[len(KeyPrefix):], text + "=", text[:len(text)-2] + "==",
		"ed25519:" + strings.Repeat("A", 44), text + " ", "rsa:" + text[len(KeyPrefix):]} {
		if _, err := ParseKey(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
	if fp := Fingerprint(k); !strings.HasPrefix(fp, "SHA256:") || len(fp) != len("SHA256:")+43 {
		t.Errorf("Fingerprint = %q", fp)
	}
}

// A host id with NUL is stored with U+FFFD in its place (PostgreSQL text
// cannot hold NUL); its key, its rekeys and its audit entries are found
// by either spelling, on both databases.
func TestHostKeyNULSpelling(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, c *clock) {
		ctx := context.Background()
		a, b := pub(testKey("a")), pub(testKey("b"))
		const nul, stored = "h\x00-1", "h\uFFFD-1"
		ingest(t, s, fleettest.Report(t, "debian-clean", nul, "h", t0), t0, Stored)
		if k, pinned, err := s.PinKey(ctx, nul, a, t0); err != nil || !pinned || !bytes.Equal(k.PublicKey, a) {
			t.Fatalf("PinKey(NUL spelling) = %+v, %v, %v", k, pinned, err)
		}
		if k, pinned, err := s.PinKey(ctx, stored, b, t0); err != nil || pinned || !bytes.Equal(k.PublicKey, a) {
			t.Errorf("PinKey(stored spelling, another key) = %+v, %v, %v; want the key pinned by the NUL spelling", k, pinned, err)
		}
		if err := s.RefuseKey(ctx, nul, b, t0); err != nil {
			t.Errorf("RefuseKey(NUL spelling): %v", err)
		}
		if k, err := s.HostKey(ctx, stored); err != nil || !bytes.Equal(k.RefusedKey, b) {
			t.Errorf("HostKey(stored spelling) = %+v, %v", k, err)
		}
		if _, after, err := s.Rekey(ctx, Rekey{HostID: nul, Key: b, Credential: "alice"}); err != nil || !bytes.Equal(after.PublicKey, b) {
			t.Fatalf("Rekey(NUL spelling) = %+v, %v", after, err)
		}
		for _, id := range []string{nul, stored} {
			if k, err := s.HostKey(ctx, id); err != nil || !bytes.Equal(k.PublicKey, b) {
				t.Errorf("HostKey(%q) after Rekey = %+v, %v", id, k, err)
			}
			if log, err := s.AuditLog(ctx, id, 10); err != nil || len(log) != 1 || log[0].Target != stored {
				t.Errorf("AuditLog(%q) = %+v, %v", id, log, err)
			}
		}
	})
}

// TestPruneAccessLog: pruning drops the access log's entries older than
// the retention, and keeps newer ones and administrators' changes.
func TestPruneAccessLog(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, c *clock) {
		ctx := context.Background()
		old, recent := t0.Add(-400*24*time.Hour), t0.Add(-time.Hour)
		for _, e := range []AuditEntry{
			{At: old, Credential: "alice", Action: AuditRead, Target: "/v1/hosts"},
			{At: old, Credential: "alice", Action: AuditExport, Target: "/v1/export"},
			{At: old, Credential: "alice", Action: AuditRekey, Target: "h-1"},
			{At: recent, Credential: "bob", Action: AuditRead, Target: "/hosts"},
		} {
			if err := s.Audit(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Prune(ctx, 30*24*time.Hour); err != nil {
			t.Fatal(err)
		}
		log, err := s.AuditLog(ctx, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range log {
			got = append(got, e.Action+" "+e.Target)
		}
		if want := []string{"read /hosts", "host.rekey h-1"}; !slices.Equal(got, want) {
			t.Errorf("after pruning: %q, want %q", got, want)
		}
	})
}

// TestAuditPage: pages of the audit log, cut by the last entry's id, list
// every entry once, entries of the same microsecond included; filters by
// action and target.
func TestAuditPage(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, c *clock) {
		ctx := context.Background()
		at := t0.Add(-time.Hour)
		for i := range 7 {
			action := AuditRead
			if i%3 == 0 {
				action = AuditExport
			}
			e := AuditEntry{At: at, Credential: "alice", Action: action, Target: "/v1/export"}
			if i >= 5 {
				e.At = at.Add(time.Duration(i) * time.Second)
			}
			if err := s.Audit(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		seen := map[string]bool{}
		var before string
		for page := 0; ; page++ {
			entries, err := s.AuditPage(ctx, AuditFilter{Limit: 2, Before: before})
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) == 0 {
				break
			}
			for _, e := range entries {
				if seen[e.ID] {
					t.Fatalf("entry %s listed twice", e.ID)
				}
				seen[e.ID] = true
			}
			before = entries[len(entries)-1].ID
			if page > 10 {
				t.Fatal("paging does not end")
			}
		}
		if len(seen) != 7 {
			t.Errorf("pages listed %d entries, want 7", len(seen))
		}
		exports, err := s.AuditPage(ctx, AuditFilter{Action: AuditExport, Target: "/v1/export", Limit: 10})
		if err != nil || len(exports) != 3 {
			t.Errorf("action filter: %d entries, %v; want 3", len(exports), err)
		}
		if _, err := s.AuditPage(ctx, AuditFilter{Limit: 0}); !errors.Is(err, ErrInvalid) {
			t.Errorf("limit 0: %v", err)
		}
	})
}
