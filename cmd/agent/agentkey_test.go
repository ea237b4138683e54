package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/agentkey"
)

// Reports queued before the agent had a key (here: while no collector
// was configured, as on an agent upgraded from before keys) are signed
// when they are sent, with the key made then.
//
// After the "pinning" branch merges, cmd/collector's fleet end-to-end
// test runs this agent against the real collector, which then verifies
// the same signatures; this test's loopback collector checks them itself.
func TestServiceSignsReportsQueuedBeforeTheKey(t *testing.T) {
	const token = "enroll-prekey"
	coll := newLoopCollector(t, token)
	root := kasperskyRoot(t)
	offline, stateDir := agentConfig(t, "", "", "")
	for range 2 {
		if _, stderr, code := avscout(t, "service", "run", "--once", "--config", offline, "--root", root); code != 0 {
			t.Fatalf("run --once without a collector: exit %d: %s", code, stderr)
		}
	}
	keyFile := filepath.Join(stateDir, agentkey.FileName)
	if _, err := os.Stat(keyFile); !os.IsNotExist(err) {
		t.Fatalf("a key exists before any delivery: %v", err)
	}
	st, err := readStatus(t, offline)
	if err != nil {
		t.Fatal(err)
	}
	if st.Queue.Reports != 2 || st.AgentKey.Fingerprint != "" || !strings.Contains(st.AgentKey.Error, "none yet") {
		t.Fatalf("before delivery: queue %+v, agent key %+v", st.Queue, st.AgentKey)
	}

	online := filepath.Join(t.TempDir(), "config.yaml")
	doc := "collector:\n  url: \"" + coll.url + "\"\n  token: \"" + token + "\"\nstate_dir: \"" + stateDir + "\"\n"
	if err := os.WriteFile(online, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := avscout(t, "service", "run", "--once", "--config", online, "--root", root); code != 0 {
		t.Fatalf("run --once with the collector: exit %d: %s", code, stderr)
	}
	if p := coll.problems(); len(p) > 0 {
		t.Errorf("collector saw bad requests: %v", p)
	}
	signers := coll.signers()
	key := keyOf(t, stateDir)
	if len(signers) != 3 {
		t.Fatalf("collector stored %d signed reports, want 3 (two queued before the key, one after)", len(signers))
	}
	for id, s := range signers {
		if s != key {
			t.Errorf("report %s signed by %s, want %s", id, s, key)
		}
	}
}

// The agent's key is lost (its file corrupted): the agent keeps the bad
// file aside and makes a new key, the collector refuses it (key_mismatch)
// and nothing is dead-lettered: the reports stay queued, status and the
// one-off run tell the administrator to rekey, and once the collector
// re-pins (the rekey) the queued reports arrive.
func TestServiceKeyMismatchKeepsReportsUntilRekey(t *testing.T) {
	const token = "enroll-rekey"
	coll := newLoopCollector(t, token)
	cfg, stateDir := agentConfig(t, coll.url, token, "")
	root := kasperskyRoot(t)
	if _, stderr, code := avscout(t, "service", "run", "--once", "--config", cfg, "--root", root); code != 0 {
		t.Fatalf("first run: exit %d: %s", code, stderr)
	}
	oldKey := keyOf(t, stateDir)
	keyFile := filepath.Join(stateDir, agentkey.FileName)
	if err := os.WriteFile(keyFile, []byte("-----BEGIN PRIVATE KEY-----\ntruncated"), 0o600); err != nil {
		t.Fatal(err)
	}

	_, stderr, code := avscout(t, "service", "run", "--once", "--config", cfg, "--root", root)
	if code != exitUsage || !strings.Contains(stderr, "stays queued") || !strings.Contains(stderr, "avscout-collector host rekey") {
		t.Fatalf("run with a replaced key: exit %d, stderr %q; want exit 2, the report queued and the rekey advice", code, stderr)
	}
	newKey := keyOf(t, stateDir)
	if newKey == oldKey {
		t.Fatal("the corrupt key was not replaced")
	}
	if aside, _ := filepath.Glob(keyFile + ".corrupt-*"); len(aside) != 1 {
		t.Errorf("corrupt key kept as %v, want one file beside the new key", aside)
	}
	if r := coll.refusals(); len(r) != 1 || !strings.HasPrefix(r[0], "key_mismatch ") {
		t.Errorf("collector refusals %v, want one key_mismatch", r)
	}
	st, err := readStatus(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st.Queue.Reports != 1 || st.Queue.DeadLetters != 0 {
		t.Errorf("queue %+v, want the refused report kept, nothing dead-lettered", st.Queue)
	}
	k, _ := agentkey.Load(keyFile)
	if st.LastDelivery == nil || !strings.Contains(st.LastDelivery.Error, "avscout-collector host rekey") ||
		!strings.Contains(st.LastDelivery.Error, k.Fingerprint()) {
		t.Errorf("status last delivery %+v, want the rekey advice with the new key's fingerprint %s", st.LastDelivery, k.Fingerprint())
	}
	table, _, _ := avscout(t, "status", "--config", cfg)
	if !strings.Contains(table, "host rekey") || !strings.Contains(table, k.Fingerprint()) {
		t.Errorf("status table lacks the rekey advice or the key:\n%s", table)
	}

	// The administrator rekeys: the collector forgets the old pin.
	coll.mu.Lock()
	clear(coll.pinned)
	coll.mu.Unlock()
	if _, stderr, code := avscout(t, "service", "run", "--once", "--config", cfg, "--root", root); code != 0 {
		t.Fatalf("run after the rekey: exit %d: %s", code, stderr)
	}
	if len(coll.stored()) != 3 {
		t.Errorf("collector holds %d reports, want 3 (the first, the held one, the last)", len(coll.stored()))
	}
	for id, s := range coll.signers() {
		if s != oldKey && s != newKey {
			t.Errorf("report %s signed by an unknown key", id)
		}
	}
	if st, _ := readStatus(t, cfg); st.Queue.Reports != 0 {
		t.Errorf("queue after the rekey: %+v", st.Queue)
	}
}
