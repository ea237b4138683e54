package agentkey

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/avscout/avscout/internal/edkey"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeKeyFile puts data at dir/agent.key, private as the agent makes it
// (mode 0600, or the Windows DACL).
func writeKeyFile(t *testing.T, dir string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, FileName)
	if err := writeNew(p, data); err != nil {
		t.Fatal(err)
	}
	return p
}

// tempDir is t.TempDir without failing the test when the folder cannot be
// removed: Go's RemoveAll fails under Wine 8, where these tests also run
// (make test-windows).
func tempDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "agentkey-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// A key file OpenSSL wrote loads, and its fingerprint is the one OpenSSL
// computes (testdata/README.md): the format is the standard one.
func TestLoadOpenSSLKey(t *testing.T) {
	p := writeKeyFile(t, tempDir(t), fixture(t, "openssl-ed25519.pem"))
	k, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := k.Fingerprint(), "SHA256:wdwpFIUcjFONlRGLkJDF3pO5vLqefW4MZyt1ZnExWVo"; got != want {
		t.Errorf("fingerprint %s, want %s", got, want)
	}
	msg := []byte(`{"report_id":"x"}`)
	if !ed25519.Verify(k.PublicKey(), msg, k.Sign(msg)) {
		t.Error("signature does not verify")
	}
}

func TestCreateThenLoadSameKey(t *testing.T) {
	dir := tempDir(t)
	p := filepath.Join(dir, FileName)
	k1, created, err := LoadOrCreate(p, nil)
	if err != nil || !created {
		t.Fatalf("first LoadOrCreate: created=%v err=%v", created, err)
	}
	k2, created, err := LoadOrCreate(p, nil)
	if err != nil || created {
		t.Fatalf("second LoadOrCreate: created=%v err=%v", created, err)
	}
	if !k1.PublicKey().Equal(k2.PublicKey()) {
		t.Error("the second load gave another key")
	}
	data, _ := os.ReadFile(p)
	if !bytes.HasPrefix(data, []byte("-----BEGIN PRIVATE KEY-----\n")) {
		t.Errorf("key file is not PEM PRIVATE KEY:\n%s", data)
	}
	if runtime.GOOS != "windows" {
		fi, _ := os.Stat(p)
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries, want only the key (no temporary left)", len(entries))
	}
}

// A key file that is not a key: each is moved aside (kept, byte for
// byte), a new key is made, and the replacement is logged at error level
// with the rekey advice.
func TestCorruptKeyMovedAsideAndReplaced(t *testing.T) {
	valid := fixture(t, "openssl-ed25519.pem")
	for _, tc := range []struct {
		name, want string
		data       []byte
	}{
		{"empty", "no PEM block", nil},
		{"truncated", "no PEM block", valid[:60]},
		{"garbage", "no PEM block", []byte("not a key\x00\xff")},
		{"encrypted", `"ENCRYPTED PRIVATE KEY"`, fixture(t, "openssl-ed25519-encrypted.pem")},
		{"p256", "want Ed25519", fixture(t, "openssl-p256.pem")},
		{"x25519", "", fixture(t, "openssl-x25519.pem")},
		{"trailing data", "bytes after the PEM block", append(append([]byte{}, valid...), "junk"...)},
		{"two keys", "bytes after the PEM block", append(append([]byte{}, valid...), valid...)},
		// The public key of RFC 8410 section 10.1.
		{"public key", `"PUBLIC KEY"`, []byte("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n")},
		{"bad DER", "", []byte("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEILXZzUexDxe98KBmD5vSlAd51sG+IAXfD9mUot7j\n-----END PRIVATE KEY-----\n")},
		{"too large", "larger than", bytes.Repeat([]byte("A"), maxFileSize+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tempDir(t)
			p := writeKeyFile(t, dir, tc.data)
			_, err := Load(p)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("Load: %v; want ErrCorrupt naming the file and saying %q", err, tc.want)
			}
			var logs bytes.Buffer
			k, created, err := LoadOrCreate(p, slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil || !created {
				t.Fatalf("LoadOrCreate: created=%v err=%v", created, err)
			}
			asides, _ := filepath.Glob(p + ".corrupt-*")
			if len(asides) != 1 {
				t.Fatalf("moved-aside files %v, want one", asides)
			}
			if kept, _ := os.ReadFile(asides[0]); !bytes.Equal(kept, tc.data) {
				t.Errorf("the corrupt file was not kept as it was")
			}
			if k2, err := Load(p); err != nil || !k2.PublicKey().Equal(k.PublicKey()) {
				t.Errorf("new key not in place: %v", err)
			}
			log := logs.String()
			if !strings.Contains(log, "level=ERROR") || !strings.Contains(log, "host rekey") || !strings.Contains(log, k.Fingerprint()) {
				t.Errorf("replacement not logged loudly with the rekey advice and new fingerprint:\n%s", log)
			}
		})
	}
}

// A key file open to other users is refused, not repaired and not
// replaced: it may have been copied.
func TestKeyNotPrivateRefused(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix modes; the Windows ACL is tested under Wine (cmd/agent)")
	}
	original := fixture(t, "openssl-ed25519.pem")
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644, 0o660} {
		dir := tempDir(t)
		p := writeKeyFile(t, dir, original)
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		_, _, err := LoadOrCreate(p, nil)
		if !errors.Is(err, ErrNotPrivate) || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %04o: err = %v, want ErrNotPrivate advising chmod 600", mode, err)
		}
		fi, _ := os.Stat(p)
		data, _ := os.ReadFile(p)
		if fi.Mode().Perm() != mode || !bytes.Equal(data, original) {
			t.Errorf("mode %04o: the file was changed (now %04o)", mode, fi.Mode().Perm())
		}
		if m, _ := filepath.Glob(p + ".*"); len(m) > 0 {
			t.Errorf("mode %04o: files made beside it: %v", mode, m)
		}
	}
}

func TestKeyOwnedByAnotherUserRefused(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix owners")
	}
	if os.Geteuid() != 0 {
		t.Fatal("this test gives a file to another user and needs root (CI runs as root)")
	}
	p := writeKeyFile(t, tempDir(t), fixture(t, "openssl-ed25519.pem"))
	if err := os.Chown(p, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	_, _, err := LoadOrCreate(p, nil)
	if !errors.Is(err, ErrNotPrivate) || !strings.Contains(err.Error(), "owned by uid 65534") {
		t.Errorf("err = %v, want ErrNotPrivate naming the owner", err)
	}
}

// Neither a symbolic link nor a folder is taken for the key, and neither
// is replaced.
func TestKeyNotARegularFile(t *testing.T) {
	dir := tempDir(t)
	p := filepath.Join(dir, FileName)
	if err := os.Mkdir(p, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreate(p, nil); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("folder: err = %v", err)
	}
	if runtime.GOOS == "windows" {
		return
	}
	target := writeKeyFile(t, tempDir(t), fixture(t, "openssl-ed25519.pem"))
	link := filepath.Join(tempDir(t), FileName)
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreate(link, nil); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("symbolic link: err = %v, want a refusal", err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the link was replaced")
	}
}

// Many agents creating the key at once: exactly one creates it, and all
// end up with that key.
func TestConcurrentCreateOneKey(t *testing.T) {
	for round := range 20 {
		p := filepath.Join(tempDir(t), FileName)
		const n = 8
		keys := make([]*Key, n)
		created := make([]bool, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				keys[i], created[i], errs[i] = LoadOrCreate(p, nil)
			}()
		}
		close(start)
		wg.Wait()
		creators := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("round %d, agent %d: %v", round, i, errs[i])
			}
			if created[i] {
				creators++
			}
			if !keys[i].PublicKey().Equal(keys[0].PublicKey()) {
				t.Fatalf("round %d: agents hold different keys", round)
			}
		}
		if creators != 1 {
			t.Fatalf("round %d: %d agents say they created the key, want 1", round, creators)
		}
		onDisk, err := Load(p)
		if err != nil || !onDisk.PublicKey().Equal(keys[0].PublicKey()) {
			t.Fatalf("round %d: key on disk differs: %v", round, err)
		}
	}
}

// Separate processes (the service and a one-off run) creating the key at
// once: the test binary is run several times as a helper.
func TestConcurrentCreateAcrossProcesses(t *testing.T) {
	if p := os.Getenv("AGENTKEY_HELPER_PATH"); p != "" {
		k, _, err := LoadOrCreate(p, nil)
		if err != nil {
			os.Stdout.WriteString("ERR " + err.Error())
			os.Exit(1)
		}
		os.Stdout.WriteString(k.Fingerprint())
		os.Exit(0)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(tempDir(t), FileName)
	outs := make([]string, 6)
	var wg sync.WaitGroup
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(exe, "-test.run=^TestConcurrentCreateAcrossProcesses$")
			cmd.Env = append(os.Environ(), "AGENTKEY_HELPER_PATH="+p)
			out, err := cmd.Output()
			outs[i] = string(out)
			if err != nil {
				outs[i] += " (" + err.Error() + ")"
			}
		}()
	}
	wg.Wait()
	k, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range outs {
		if o != k.Fingerprint() {
			t.Errorf("process %d: %q, want the key on disk %s", i, o, k.Fingerprint())
		}
	}
}

func TestSignerCachesAndRetries(t *testing.T) {
	dir := tempDir(t)
	p := writeKeyFile(t, dir, fixture(t, "openssl-ed25519.pem"))
	if runtime.GOOS != "windows" {
		if err := os.Chmod(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := NewSigner(dir, nil)
	if runtime.GOOS != "windows" {
		if _, _, err := s.SignReport([]byte("x")); !errors.Is(err, ErrNotPrivate) {
			t.Fatalf("SignReport with an open key file: %v", err)
		}
		// the administrator fixes it; no restart needed
		if err := os.Chmod(p, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	pub, sig, err := s.SignReport([]byte("report"))
	if err != nil || !ed25519.Verify(pub, []byte("report"), sig) {
		t.Fatalf("SignReport: %v", err)
	}
	os.Remove(p)
	if _, _, err := s.SignReport([]byte("again")); err != nil {
		t.Errorf("the loaded key is kept: %v", err)
	}
}

func TestFingerprintForm(t *testing.T) {
	pub := make(ed25519.PublicKey, ed25519.PublicKeySize)
	// sha256 of 32 zero bytes, base64 without padding.
	if got, want := Fingerprint(pub), "SHA256:Zmh6rfhivXdsj8GLjp+OIAiXFIVu4jOzkCpZHQ1fKSU"; got != want {
		t.Errorf("Fingerprint = %s, want %s", got, want)
	}
}

// A key whose public half is weak (here the identity point, which
// verifies forged signatures) or does not belong to its seed is refused.
// Parse cannot meet one (PKCS#8 holds the seed only, and the public key
// is derived from it), so the guard is tried on crafted keys.
func TestWeakPublicKeyRefused(t *testing.T) {
	seed := bytes.Repeat([]byte{7}, ed25519.SeedSize)
	identity := make([]byte, ed25519.PublicKeySize)
	identity[0] = 1
	weak := ed25519.PrivateKey(append(bytes.Clone(seed), identity...))
	if err := checkPublic(weak); !errors.Is(err, edkey.ErrSmallOrder) {
		t.Errorf("identity public key: %v, want ErrSmallOrder", err)
	}
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, ed25519.SeedSize))
	mixed := ed25519.PrivateKey(append(bytes.Clone(seed), other.Public().(ed25519.PublicKey)...))
	if err := checkPublic(mixed); err == nil || !strings.Contains(err.Error(), "not the one") {
		t.Errorf("public key of another seed: %v", err)
	}
	if err := checkPublic(ed25519.NewKeyFromSeed(seed)); err != nil {
		t.Errorf("a real key: %v", err)
	}
	// A key file, parsed: its public half is derived, and passes.
	if _, err := Parse(fixture(t, "openssl-ed25519.pem")); err != nil {
		t.Errorf("OpenSSL key: %v", err)
	}
}
