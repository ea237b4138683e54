package auditbundle

import (
	"archive/tar"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/agentkey"
	"github.com/avscout/avscout/internal/auditbundle/bundletest"
)

var t0 = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

type edKey struct{ priv ed25519.PrivateKey }

func (k edKey) PublicKey() ed25519.PublicKey { return k.priv.Public().(ed25519.PublicKey) }
func (k edKey) Sign(m []byte) []byte         { return ed25519.Sign(k.priv, m) }

func keyOf(seed string) edKey {
	s := sha256.Sum256([]byte(seed))
	return edKey{ed25519.NewKeyFromSeed(s[:])}
}

// reportJSON is a minimal report of host, scanned at, with a verdict:
// non_compliant with a restricted product installed, compliant without.
func reportJSON(id, host string, at time.Time, verdict string) []byte {
	products := []any{}
	if verdict == "non_compliant" {
		products = append(products, map[string]any{"id": "kaspersky-endpoint-security-linux", "vendor": "Kaspersky",
			"name": "Kaspersky Endpoint Security for Linux", "version": "12.1.0", "category": "antivirus", "state": "installed",
			"restricted": true, "policy": map[string]string{"rule": "bis-icts-2021-002", "reason": "restricted"},
			"white_label": false, "confidence": "high", "evidence": []any{}})
	}
	b, _ := json.Marshal(map[string]any{
		"schema_version": 1, "report_id": id, "generated_at": at.Format(time.RFC3339),
		"host":    map[string]string{"id": host, "hostname": host + ".example", "os": "linux"},
		"verdict": verdict, "compliant": verdict == "compliant", "products": products, "sources": []any{},
	})
	return b
}

// makeBundle writes a bundle of n reports (the chain starting after
// `before` entries), three agent hosts each with its key; every third
// report of host-0 unsigned.
func makeBundle(t testing.TB, n, before int, collector edKey) []byte {
	t.Helper()
	var prev *Entry
	for i := range before {
		e := Next(prev, fmt.Sprintf("old-%d", i), "host-0", t0.Add(-time.Hour).UnixMicro(), sha256.Sum256([]byte{byte(i)}))
		prev = &e
	}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, collector, t.TempDir(), t0, t0.Add(24*time.Hour), t0.Add(25*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		host := fmt.Sprintf("host-%d", i%3)
		verdict := []string{"non_compliant", "compliant"}[min(i/6, 1)]
		raw := reportJSON(fmt.Sprintf("rep-%03d", i), host, t0.Add(time.Duration(i)*time.Minute), verdict)
		e := Next(prev, fmt.Sprintf("rep-%03d", i), host, t0.Add(time.Duration(i)*time.Minute+time.Second).UnixMicro(), sha256.Sum256(raw))
		prev = &e
		agent := keyOf(host)
		var pub ed25519.PublicKey
		var sig []byte
		if !(host == "host-0" && i%9 == 0) {
			pub, sig = agent.PublicKey(), agent.Sign(raw)
		}
		if err := w.Report(e, raw, pub, sig); err != nil {
			t.Fatal(err)
		}
	}
	// The access log: entry 7 of its chain, then 8 (whose action
	// retention deleted), then 9.
	accPrev := [HashSize]byte{7}
	for i, a := range []*AccessEntry{
		{ID: "a1", At: t0, Credential: "alice", Remote: "127.0.0.1:5000", Action: "export", Target: "/v1/audit/export", Detail: "since=x"},
		nil,
		{ID: "a3", At: t0.Add(time.Minute), Credential: "cli (root)", Action: "host.rekey", Target: "host-1"},
	} {
		seq := int64(7 + i)
		var digest [HashSize]byte
		at, id := t0.UnixMicro(), fmt.Sprintf("a%d", i+1)
		if a != nil {
			digest, at = AccessDigest(*a), a.At.UnixMicro()
		}
		hash := AccessHash(seq, accPrev, digest, at, id)
		if err := w.Access(seq, at, id, digest, accPrev, hash, a); err != nil {
			t.Fatal(err)
		}
		accPrev = hash
	}
	head := ChainHead{}
	if prev != nil {
		head = ChainHead{Seq: prev.Seq, Hash: prev.Hash}
	}
	if err := w.Close(head, ChainHead{Seq: 9, Hash: accPrev}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func verifyBytes(t testing.TB, b []byte, keys ...string) *Result {
	t.Helper()
	res, err := Verify(bytes.NewReader(b), Options{CollectorKeys: keys})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return res
}

func TestRoundTrip(t *testing.T) {
	collector := keyOf("collector")
	fp := agentkey.Fingerprint(collector.PublicKey())
	for _, tt := range []struct{ n, before int }{{0, 0}, {1, 0}, {12, 5}} {
		t.Run(fmt.Sprintf("%d_after_%d", tt.n, tt.before), func(t *testing.T) {
			res := verifyBytes(t, makeBundle(t, tt.n, tt.before, collector), fp)
			if !res.OK() || !res.SignerPinned || res.Signer != fp {
				t.Fatalf("faults %v, signer %s pinned %v", res.Faults, res.Signer, res.SignerPinned)
			}
			if res.Header.Reports != int64(tt.n) || res.Header.Access != 3 || res.Header.AccessPruned != 1 || res.Header.AccessFirstSeq != 7 {
				t.Errorf("header %+v", res.Header)
			}
			if tt.n == 12 {
				for _, h := range res.Hosts {
					if len(h.Signers) != 1 {
						t.Errorf("%s signed by %v, want one key", h.ID, h.Signers)
					}
				}
				if res.Header.FirstSeq != 6 || res.Header.LastSeq != 17 || len(res.Hosts) != 3 || res.AgentKeys != 3 || res.Unsigned != 2 {
					t.Errorf("header %+v, %d hosts, %d keys, %d unsigned", res.Header, len(res.Hosts), res.AgentKeys, res.Unsigned)
				}
				h := res.Hosts[0]
				if h.ID != "host-0" || h.Hostname != "host-0.example" || h.Reports != 4 || len(h.Verdicts) != 2 ||
					h.Verdicts[0].Verdict != "non_compliant" || h.Verdicts[1].Verdict != "compliant" || !h.FirstSeen.Equal(t0.Add(time.Second)) ||
					!h.LastReport.Equal(t0.Add(9*time.Minute)) {
					t.Errorf("host-0 summary %+v", h)
				}
			}
		})
	}
}

// Each kind of tampering fails verification with a fault that names it.
func TestTampering(t *testing.T) {
	collector, other := keyOf("collector"), keyOf("mallory")
	fp := agentkey.Fingerprint(collector.PublicKey())
	good := makeBundle(t, 12, 3, collector)
	for _, tt := range []struct {
		name   string
		tamper func([]byte) ([]byte, error)
		want   string
	}{
		{"byte", func(b []byte) ([]byte, error) { return bundletest.ChangeByte(b, 4) }, "report rep-004 (entry 8, host host-1) changed"},
		{"drop", func(b []byte) ([]byte, error) { return bundletest.Drop(b, 5) }, "report rep-005 (entry 9, host host-2) dropped"},
		{"swap_contents", func(b []byte) ([]byte, error) { return bundletest.SwapContents(b, 2, 3) }, "reports reordered: reports/000000000006.json holds report rep-003"},
		{"swap_order", func(b []byte) ([]byte, error) { return bundletest.SwapOrder(b, 2, 3) }, "reports reordered in the archive"},
		{"manifest", func(b []byte) ([]byte, error) { return bundletest.EditManifest(b, `"rep-007"`, `"rep-070"`) }, "the manifest changed"},
		{"access_changed", func(b []byte) ([]byte, error) { return bundletest.Edit(b, AccessName, `"alice"`, `"bob"`) },
			"access log entry 7 (id a1: export /v1/audit/export by bob) changed since it was logged"},
		{"access_dropped", func(b []byte) ([]byte, error) { return bundletest.DropLine(b, AccessName, 1) },
			"access log entry 8 missing: access log entry 9 (id a3: host.rekey host-1 by cli (root)) follows entry 7: an action was dropped"},
		{"access_last_dropped", func(b []byte) ([]byte, error) { return bundletest.DropLine(b, AccessName, 2) }, "the last entries were dropped"},
		{"resign_other", func(b []byte) ([]byte, error) { return bundletest.Resign(b, other.priv, true) }, "unknown signer"},
		{"resign_same_header", func(b []byte) ([]byte, error) { return bundletest.Resign(b, other.priv, false) }, "but key SHA256:"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bad, err := tt.tamper(bytes.Clone(good))
			if err != nil {
				t.Fatal(err)
			}
			res := verifyBytes(t, bad, fp)
			if res.OK() {
				t.Fatal("tampered bundle verified")
			}
			if !strings.Contains(strings.Join(res.Faults, "\n"), tt.want) {
				t.Errorf("faults lack %q:\n%s", tt.want, strings.Join(res.Faults, "\n"))
			}
		})
	}
}

// Hostile archives are refused with a clear error, never a crash.
func TestHostileArchives(t *testing.T) {
	good := makeBundle(t, 3, 0, keyOf("collector"))
	files, err := bundletest.Read(good)
	if err != nil {
		t.Fatal(err)
	}
	withHeader := func(h *tar.Header, body []byte) []byte {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
		// A header claiming more than the body holds makes a truncated
		// archive, which Close reports: that is the point.
		if err := tw.Close(); err != nil && int64(len(body)) == h.Size {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	for _, tt := range []struct {
		name string
		b    []byte
		want string
	}{
		{"truncated", good[:len(good)/2], "unexpected EOF"},
		{"traversal", bundletest.Write([]bundletest.File{{Name: "../../etc/passwd", Body: []byte("x")}}), `unexpected file name "../../etc/passwd"`},
		{"duplicate", bundletest.Write([]bundletest.File{files[0], files[0]}), "appears twice"},
		{"symlink", withHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "reports/000000000001.json", Linkname: "/etc/passwd"}, nil), "not a regular file"},
		{"huge_report", withHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "reports/000000000001.json", Size: 1 << 40, Mode: 0o600}, nil), "more than the"},
		{"sparse", sparseTar(), "sparse"},
		{"not_tar", []byte(strings.Repeat("{}", 600)), "not a readable audit bundle"},
		{"long_line", bundletest.Write([]bundletest.File{{Name: "manifest.jsonl", Body: bytes.Repeat([]byte("a"), 100<<10)}}), "longer than"},
		{"sig_first", bundletest.Write([]bundletest.File{{Name: "reports/000000000002.json.sig", Body: []byte("{}")}}), "does not follow its report"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Verify(bytes.NewReader(tt.b), Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Verify = %v, want an error with %q", err, tt.want)
			}
		})
	}
	// An empty archive reads, but vouches for nothing.
	res := verifyBytes(t, bundletest.Write(nil))
	if res.OK() || !strings.Contains(res.Faults[0], "manifest.jsonl is missing") {
		t.Errorf("empty archive: %v", res.Faults)
	}
}

// FuzzVerify: whatever the bytes, Verify returns (no panic, no hang)
// within the limits.
func FuzzVerify(f *testing.F) {
	f.Add(makeBundle(f, 3, 1, keyOf("collector")))
	f.Add(makeBundle(f, 0, 0, keyOf("collector")))
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := Verify(bytes.NewReader(b), Options{Limits: Limits{MaxReport: 1 << 20, MaxReports: 1000}})
		if err == nil && res == nil {
			t.Fatal("nil result without an error")
		}
	})
}

// The entry hash is the documented encoding: a fixed vector, so that a
// change to the encoding cannot pass unnoticed.
func TestEntryHashVector(t *testing.T) {
	var prev, sum [HashSize]byte
	for i := range sum {
		sum[i] = byte(i)
	}
	var enc bytes.Buffer
	enc.WriteString("avscout-chain/1\n")
	enc.Write([]byte{0, 0, 0, 0, 0, 0, 0, 7})
	enc.Write(prev[:])
	enc.Write(sum[:])
	enc.Write([]byte{0, 0, 0, 0, 0, 0, 0x03, 0xe8})
	enc.Write([]byte{0, 0, 0, 3})
	enc.WriteString("r-1")
	enc.Write([]byte{0, 0, 0, 2})
	enc.WriteString("h1")
	if got, want := EntryHash(7, prev, sum, 1000, "r-1", "h1"), sha256.Sum256(enc.Bytes()); got != want {
		t.Errorf("EntryHash = %x, want %x", got, want)
	}
}

// sparseTar is a PAX archive of one GNU sparse (format 1.0) file named
// access.jsonl of 1 TiB with no data: a reader that honours the sparse
// map reads zeros without end. Made by hand: archive/tar writes no
// sparse files.
func sparseTar() []byte {
	block := func(name string, typeflag byte, size int) []byte {
		b := make([]byte, 512)
		copy(b, name)
		copy(b[100:], "0000600\x00")
		copy(b[108:], "0000000\x00")
		copy(b[116:], "0000000\x00")
		copy(b[124:], fmt.Sprintf("%011o\x00", size))
		copy(b[136:], "00000000000\x00")
		b[156] = typeflag
		copy(b[257:], "ustar\x0000")
		copy(b[148:], "        ")
		sum := 0
		for _, c := range b {
			sum += int(c)
		}
		copy(b[148:], fmt.Sprintf("%06o\x00 ", sum))
		return b
	}
	pad := func(b []byte) []byte { return append(b, make([]byte, (512-len(b)%512)%512)...) }
	var recs string
	for _, kv := range [][2]string{{"GNU.sparse.major", "1"}, {"GNU.sparse.minor", "0"}, {"GNU.sparse.name", "access.jsonl"}, {"GNU.sparse.realsize", "1099511627776"}} {
		rec := " " + kv[0] + "=" + kv[1] + "\n"
		n := len(rec) + 1
		for len(fmt.Sprint(n))+len(rec) != n {
			n = len(fmt.Sprint(n)) + len(rec)
		}
		recs += fmt.Sprint(n) + rec
	}
	var out []byte
	out = append(out, block("PaxHeaders/x", 'x', len(recs))...)
	out = append(out, pad([]byte(recs))...)
	out = append(out, block("GNUSparseFile.0/access.jsonl", '0', 512)...)
	out = append(out, pad([]byte("0\n"))...)
	return append(out, make([]byte, 1024)...)
}

// A host whose reports in the window are signed by two keys verifies
// (an administrator may have rekeyed it) but the change is noted.
func TestKeyChangeNoted(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, keyOf("collector"), t.TempDir(), t0, t0.Add(time.Hour), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var prev *Entry
	for i, agent := range []edKey{keyOf("old agent"), keyOf("new agent")} {
		raw := reportJSON(fmt.Sprintf("r%d", i), "h", t0, "compliant")
		e := Next(prev, fmt.Sprintf("r%d", i), "h", t0.UnixMicro(), sha256.Sum256(raw))
		prev = &e
		if err := w.Report(e, raw, agent.PublicKey(), agent.Sign(raw)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(ChainHead{Seq: prev.Seq, Hash: prev.Hash}, ChainHead{}); err != nil {
		t.Fatal(err)
	}
	res := verifyBytes(t, buf.Bytes())
	if !res.OK() || len(res.Hosts) != 1 || len(res.Hosts[0].Signers) != 2 || len(res.Notes) != 1 ||
		!strings.Contains(res.Notes[0], "host h: report r1 (entry 2) is signed by agent key "+agentkey.Fingerprint(keyOf("new agent").PublicKey())) {
		t.Errorf("faults %v, hosts %+v, notes %v", res.Faults, res.Hosts, res.Notes)
	}
}
