// Package agentkey keeps the agent's Ed25519 key pair, which binds this
// host's reports to this installation of the agent. The enrollment token
// is the same on every endpoint of a fleet, so it cannot tell one host's
// reports from a forged copy; the collector instead pins the first key a
// host id reports with and accepts later reports for that id only when
// they are signed by it (README, "Trust model").
//
// The key is one file, <state_dir>/agent.key: a PEM block "PRIVATE KEY"
// holding the PKCS#8 encoding of the Ed25519 private key (RFC 8410), the
// form `openssl pkey` reads. It is made on first use and never replaced
// silently:
//
//   - It is created private from its first byte: mode 0600 on Unix; on
//     Windows a protected DACL granting only SYSTEM and Administrators,
//     set when the file is created, not after. It is written whole to a
//     temporary file and then linked (Unix) or moved (Windows) into place
//     without replacing, so of two agents creating it at once one wins and
//     the other loads the winner's key.
//   - A key file that is not private (on Unix owned by another user or
//     open to group or others; on Windows granting access to anyone but
//     SYSTEM, Administrators and the file's owner when that is the user
//     running the agent) is refused, not repaired, as OpenSSH
//     refuses such a key: it may have been copied. The error says what to
//     do.
//   - A key file that is not a valid key (truncated, wrong type or size)
//     cannot sign anything any more. It is moved aside to
//     agent.key.corrupt-<unix time>, kept for inspection, and a new key is
//     made and logged at error level. The collector refuses the new key
//     (403 key_mismatch) until an administrator runs
//     `avscout-collector host rekey`, which is the action a lost key needs
//     anyway; refusing to run on instead would also block a host the
//     collector has never pinned. A read error (I/O, permission) is not
//     corruption and never replaces the key.
package agentkey

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// FileName is the key's file name in the agent's state directory.
const FileName = "agent.key"

// pemType is the PEM block type of a PKCS#8 private key (RFC 7468).
const pemType = "PRIVATE KEY"

// maxFileSize bounds what is read of a key file; the PEM of an Ed25519
// key is 119 bytes.
const maxFileSize = 4 << 10

var (
	// ErrCorrupt: the file is not a PEM PKCS#8 Ed25519 private key.
	ErrCorrupt = errors.New("not an Ed25519 private key in PEM PKCS#8 form")
	// ErrNotPrivate: other users may read or change the file.
	ErrNotPrivate = errors.New("not private to the service")
)

// Key is the agent's key pair.
type Key struct {
	priv ed25519.PrivateKey
	// Path is the file it came from.
	Path string
}

// PublicKey returns the public half, as the collector pins it.
func (k *Key) PublicKey() ed25519.PublicKey { return k.priv.Public().(ed25519.PublicKey) }

// Sign returns the Ed25519 signature of msg.
func (k *Key) Sign(msg []byte) []byte { return ed25519.Sign(k.priv, msg) }

// Fingerprint returns the public key's fingerprint (see [Fingerprint]).
func (k *Key) Fingerprint() string { return Fingerprint(k.PublicKey()) }

// Fingerprint is how people compare keys: "SHA256:" and the unpadded
// standard base64 of the SHA-256 of the 32 public key bytes, the form
// OpenSSH prints. The collector shows pinned keys the same way.
func Fingerprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// Marshal encodes a private key as the key file holds it.
func Marshal(priv ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encode agent key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: der}), nil
}

// Parse decodes a key file's content: exactly one PEM block "PRIVATE KEY"
// holding a PKCS#8 Ed25519 key, nothing but white space around it. Errors
// wrap [ErrCorrupt].
func Parse(data []byte) (ed25519.PrivateKey, error) {
	block, rest := pem.Decode(data)
	switch {
	case block == nil:
		return nil, fmt.Errorf("%w: no PEM block (%d bytes)", ErrCorrupt, len(data))
	case block.Type != pemType:
		return nil, fmt.Errorf("%w: PEM block %q, want %q", ErrCorrupt, block.Type, pemType)
	case len(block.Headers) > 0:
		return nil, fmt.Errorf("%w: PEM block has headers (an encrypted key?)", ErrCorrupt)
	case len(trimSpace(rest)) > 0:
		return nil, fmt.Errorf("%w: %d bytes after the PEM block", ErrCorrupt, len(rest))
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: a %T, want Ed25519", ErrCorrupt, k)
	}
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrCorrupt, len(priv), ed25519.PrivateKeySize)
	}
	return priv, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	return b
}

// Load reads the key at path without ever creating one. A missing file
// gives an error wrapping [fs.ErrNotExist]; one that is not private wraps
// [ErrNotPrivate]; one that is not a key wraps [ErrCorrupt].
func Load(path string) (*Key, error) {
	data, err := readPrivate(path)
	if err != nil {
		return nil, err
	}
	priv, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("agent key %s: %w", path, err)
	}
	return &Key{priv: priv, Path: path}, nil
}

// readPrivate opens path, checks it is a regular file private to the
// service through the open handle, and reads it (bounded).
func readPrivate(path string) ([]byte, error) {
	f, err := openNoFollow(path)
	if err != nil {
		return nil, fmt.Errorf("agent key: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("agent key: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("agent key %s: not a regular file (%v)", path, fi.Mode().Type())
	}
	if err := checkPrivate(f, fi); err != nil {
		return nil, fmt.Errorf("agent key %s: %w: %w", path, ErrNotPrivate, err)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("agent key %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("agent key %s: %w: larger than %d bytes", path, ErrCorrupt, maxFileSize)
	}
	return data, nil
}

// LoadOrCreate loads the key at path, or makes one when there is none
// (see the package documentation for a file that is not private or not a
// key). created says a new key was made. The folder must exist.
func LoadOrCreate(path string, logger *slog.Logger) (k *Key, created bool, err error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// A few rounds: another agent may create the file, or move a corrupt
	// one aside, between this one's steps.
	for range 3 {
		k, err := Load(path)
		switch {
		case err == nil:
			return k, false, nil
		case errors.Is(err, fs.ErrNotExist):
			k, err := create(path)
			if errors.Is(err, fs.ErrExist) {
				continue // another agent made it first: load theirs
			}
			if err != nil {
				return nil, false, err
			}
			logger.Info("agent key created", "path", path, "fingerprint", k.Fingerprint())
			return k, true, nil
		case errors.Is(err, ErrCorrupt):
			aside, merr := moveAside(path)
			if merr != nil {
				return nil, false, fmt.Errorf("%w; and it could not be moved aside: %w", err, merr)
			}
			if aside == "" {
				continue // gone or replaced meanwhile: look again
			}
			k, cerr := create(path)
			if errors.Is(cerr, fs.ErrExist) {
				continue
			}
			if cerr != nil {
				return nil, false, fmt.Errorf("%w; moved aside to %s, and a new key could not be made: %w", err, aside, cerr)
			}
			logger.Error("agent key was corrupt: moved aside and replaced by a new key; the collector will refuse "+
				"this host's reports (key_mismatch) until an administrator runs `avscout-collector host rekey` for it",
				"path", path, "moved_to", aside, "fingerprint", k.Fingerprint(), "err", err)
			return k, true, nil
		default:
			return nil, false, err
		}
	}
	return nil, false, fmt.Errorf("agent key %s: changed repeatedly while being loaded; is another agent replacing it?", path)
}

// create makes a new key at path, failing with an error wrapping
// [fs.ErrExist] when a file is there already.
func create(path string) (*Key, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("agent key: generate: %w", err)
	}
	data, err := Marshal(priv)
	if err != nil {
		return nil, err
	}
	if err := writeNew(path, data); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		return nil, fmt.Errorf("agent key: %w", err)
	}
	return &Key{priv: priv, Path: path}, nil
}

// moveAside renames a corrupt key file to a name of its own and checks
// that what it moved is still the corrupt file (not a key another agent
// wrote in between, which it puts back). It returns "" when the file was
// gone or had been replaced by a valid key.
func moveAside(path string) (string, error) {
	aside := path + ".corrupt-" + strconv.FormatInt(time.Now().Unix(), 10)
	if _, err := os.Lstat(aside); err == nil {
		aside += "-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 10)
	}
	if err := os.Rename(path, aside); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil
		}
		return "", err
	}
	if data, err := os.ReadFile(aside); err == nil {
		if _, perr := Parse(data); perr == nil {
			// A valid key: someone replaced the file meanwhile. Put it
			// back unless yet another one is there now.
			if err := linkBack(aside, path); err != nil && !errors.Is(err, fs.ErrExist) {
				return "", fmt.Errorf("put back the key moved to %s: %w", aside, err)
			}
			return "", nil
		}
	}
	return aside, nil
}

// Signer loads (or makes) the key on first use and keeps it: the
// transport's signer. A failure is returned to the caller and tried again
// at the next use, so that fixing the file's permissions needs no
// restart. It is safe for concurrent use.
type Signer struct {
	path   string
	logger *slog.Logger
	mu     sync.Mutex
	key    *Key
}

// NewSigner returns a signer for the key file in stateDir.
func NewSigner(stateDir string, logger *slog.Logger) *Signer {
	return &Signer{path: filepath.Join(stateDir, FileName), logger: logger}
}

// Key loads or makes the key, once.
func (s *Signer) Key() (*Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.key != nil {
		return s.key, nil
	}
	k, _, err := LoadOrCreate(s.path, s.logger)
	if err != nil {
		return nil, err
	}
	s.key = k
	return k, nil
}

// SignReport returns the public key and the signature of body.
func (s *Signer) SignReport(body []byte) (ed25519.PublicKey, []byte, error) {
	k, err := s.Key()
	if err != nil {
		return nil, nil, err
	}
	return k.PublicKey(), k.Sign(body), nil
}
