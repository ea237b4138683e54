package collector

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/avscout/avscout/internal/privatefile"
	"github.com/avscout/avscout/internal/text"
)

// Admin credentials are named, so that one person's can be revoked by
// deleting its line and so that the audit log says who acted. The file
// given with --admin-token-file holds lines "NAME:SECRET" (blank lines
// and lines starting with # are ignored); a file of a single line
// without a colon is the older form, one credential named "admin".

// LegacyAdminName names the credential of an admin token file in the
// older, single-secret form.
const LegacyAdminName = "admin"

// maxAdminCredentialsFile bounds what LoadAdminCredentials reads.
const maxAdminCredentialsFile = 64 << 10

// adminNameRE is what a credential's name may be: it goes into logs and
// the audit log.
var adminNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$`)

type adminCredential struct {
	name string
	hash [sha256.Size]byte
}

// AdminCredentials is the set of named admin credentials, reloaded from
// its file when the file changes (see [AdminCredentials.Watch]). It is
// safe for concurrent use.
type AdminCredentials struct {
	path string
	mu   sync.RWMutex
	set  []adminCredential
	stat fileStamp // of the file when set was read
}

// fileStamp tells whether a file changed since it was read.
type fileStamp struct {
	size    int64
	modTime time.Time
}

// SingleAdmin is a credential set of one secret named name, as given by
// [Options.AdminToken]; it is not reloaded.
func SingleAdmin(name, secret string) *AdminCredentials {
	return &AdminCredentials{set: []adminCredential{{name: name, hash: sha256.Sum256([]byte(secret))}}}
}

// LoadAdminCredentials reads the named admin credentials from path. The
// file must be a regular file not accessible to all users (on systems
// with Unix permissions), of at most 64 KiB; every secret has at least
// [MinAdminToken] characters and no control characters or spaces; names
// and secrets are unique. Errors never quote a secret.
func LoadAdminCredentials(path string) (*AdminCredentials, error) {
	a := &AdminCredentials{path: path}
	if err := a.load(); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *AdminCredentials) load() error {
	b, stamp, err := readSecretFile(a.path)
	if err != nil {
		return err
	}
	set, err := parseAdminCredentials(b)
	if err != nil {
		return fmt.Errorf("admin token file %s: %w", a.path, err)
	}
	a.mu.Lock()
	a.set, a.stat = set, stamp
	a.mu.Unlock()
	return nil
}

func readSecretFile(path string) ([]byte, fileStamp, error) {
	b, st, err := privatefile.Read(path, maxAdminCredentialsFile)
	if err != nil {
		return nil, fileStamp{}, fmt.Errorf("admin token file: %w", err)
	}
	return b, fileStamp{size: st.Size(), modTime: st.ModTime()}, nil
}

// parseAdminCredentials reads "NAME:SECRET" lines, or a single secret.
func parseAdminCredentials(b []byte) ([]adminCredential, error) {
	type line struct {
		n    int
		text string
	}
	var lines []line
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), maxAdminCredentialsFile+1)
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		lines = append(lines, line{n, text})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(lines) == 0 {
		return nil, errors.New("no credential in it")
	}
	checkSecret := func(n int, secret string) error {
		switch {
		case len(secret) < MinAdminToken:
			return fmt.Errorf("line %d: the secret must be at least %d characters", n, MinAdminToken)
		case strings.ContainsFunc(secret, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }):
			return fmt.Errorf("line %d: the secret must not contain spaces or control characters", n)
		}
		return nil
	}
	if len(lines) == 1 && !strings.Contains(lines[0].text, ":") {
		if err := checkSecret(lines[0].n, lines[0].text); err != nil {
			return nil, err
		}
		return []adminCredential{{name: LegacyAdminName, hash: sha256.Sum256([]byte(lines[0].text))}}, nil
	}
	var set []adminCredential
	for _, l := range lines {
		name, secret, ok := strings.Cut(l.text, ":")
		name = strings.TrimSpace(name)
		if !ok || !adminNameRE.MatchString(name) {
			return nil, fmt.Errorf("line %d: want NAME:SECRET, NAME of letters, digits and . _ @ + - (at most 64)", l.n)
		}
		secret = strings.TrimSpace(secret)
		if err := checkSecret(l.n, secret); err != nil {
			return nil, err
		}
		c := adminCredential{name: name, hash: sha256.Sum256([]byte(secret))}
		for _, o := range set {
			if o.name == name {
				return nil, fmt.Errorf("line %d: the name %q is given twice", l.n, name)
			}
			if o.hash == c.hash {
				return nil, fmt.Errorf("line %d: %q has the same secret as %q", l.n, name, o.name)
			}
		}
		set = append(set, c)
	}
	return set, nil
}

// Names lists the credentials' names.
func (a *AdminCredentials) Names() []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	names := make([]string, len(a.set))
	for i, c := range a.set {
		names[i] = c.name
	}
	return names
}

// match returns the name of the credential whose secret is secret,
// comparing with all of them in constant time.
func (a *AdminCredentials) match(secret string) (string, bool) {
	sum := sha256.Sum256([]byte(secret))
	a.mu.RLock()
	defer a.mu.RUnlock()
	name := ""
	for _, c := range a.set {
		if subtle.ConstantTimeCompare(sum[:], c.hash[:]) == 1 {
			name = c.name
		}
	}
	return name, name != ""
}

// Reload reads the file again if it changed since it was read. A file
// that became unreadable or invalid leaves the credentials as they were
// and returns the error. It reports whether the set was replaced.
func (a *AdminCredentials) Reload() (bool, error) {
	if a.path == "" {
		return false, nil
	}
	st, err := os.Stat(a.path)
	if err != nil {
		return false, fmt.Errorf("admin token file: %w", err)
	}
	a.mu.RLock()
	same := a.stat == fileStamp{size: st.Size(), modTime: st.ModTime()}
	a.mu.RUnlock()
	if same {
		return false, nil
	}
	if err := a.load(); err != nil {
		return false, err
	}
	return true, nil
}

// Watch reloads the credentials every interval until ctx ends, so that
// a credential deleted from the file is refused within the interval
// without a restart. Each reload and each failure is logged, once per
// distinct failure.
func (a *AdminCredentials) Watch(ctx context.Context, every time.Duration, log *slog.Logger) {
	if a.path == "" {
		return
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	lastErr := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		changed, err := a.Reload()
		switch {
		case err != nil:
			if err.Error() != lastErr {
				log.Error("admin credentials not reloaded: the previous ones stay in force", "err", err)
				lastErr = err.Error()
			}
		case changed:
			lastErr = ""
			log.Info("admin credentials reloaded", "file", a.path, "names", strings.Join(a.Names(), ","))
		}
	}
}

// adminNameKey is the request context key of the admin credential's name.
type adminNameKey struct{}

// AdminName returns the name of the admin credential a request was
// authenticated with, or "" outside the admin API.
func AdminName(ctx context.Context) string {
	name, _ := ctx.Value(adminNameKey{}).(string)
	return name
}

// Backoff after failed admin authentication, per client address.
const (
	// adminFreeFailures are answered 401 before backoff begins.
	adminFreeFailures = 5
	adminBackoffBase  = time.Second
	adminBackoffMax   = 5 * time.Minute
	// adminForgetAfter: a client quiet this long starts afresh.
	adminForgetAfter = time.Hour
	// maxAdminClients bounds the memory of the backoff; beyond it, new
	// clients share one entry (so a spread-out attack slows everyone
	// rather than no one).
	maxAdminClients = 10000
	overflowClient  = "*"
)

// failGuard counts failed authentications per client and makes the
// client wait, exponentially longer, after adminFreeFailures of them.
// It is per replica.
type failGuard struct {
	mu      sync.Mutex
	now     func() time.Time
	clients map[string]*failState
}

type failState struct {
	failures int
	until    time.Time // refused until then
	last     time.Time
}

func newFailGuard(now func() time.Time) *failGuard {
	return &failGuard{now: now, clients: map[string]*failState{}}
}

// clientKey is the backoff key of a request: its remote IP, or for IPv6
// its /64, which one client usually holds whole.
func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	switch {
	case ip == nil:
		return host
	case ip.To4() != nil:
		return ip.String()
	default:
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
}

// wait returns how long client must still wait, or 0.
func (g *failGuard) wait(client string) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.clients[client]
	if st == nil {
		st = g.clients[overflowClient]
	}
	if st == nil {
		return 0
	}
	return max(0, st.until.Sub(g.now()))
}

// fail counts a failure of client and returns its count and how long
// the client must now wait (0 while failures are free).
func (g *failGuard) fail(client string) (int, time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	st := g.clients[client]
	if st != nil && now.Sub(st.last) > adminForgetAfter {
		st = nil
		delete(g.clients, client)
	}
	if st == nil {
		if len(g.clients) >= maxAdminClients {
			g.sweep(now)
		}
		if len(g.clients) >= maxAdminClients {
			client = overflowClient
			st = g.clients[client]
		}
		if st == nil {
			st = &failState{}
			g.clients[client] = st
		}
	}
	st.failures++
	st.last = now
	if st.failures < adminFreeFailures {
		return st.failures, 0
	}
	d := adminBackoffMax
	if shift := st.failures - adminFreeFailures; shift < 20 {
		d = min(adminBackoffBase<<shift, adminBackoffMax)
	}
	st.until = now.Add(d)
	return st.failures, d
}

// succeed forgets client's failures.
func (g *failGuard) succeed(client string) {
	g.mu.Lock()
	delete(g.clients, client)
	g.mu.Unlock()
}

// sweep forgets clients that are not waiting and were quiet for a while.
func (g *failGuard) sweep(now time.Time) {
	for k, st := range g.clients {
		if now.After(st.until) && now.Sub(st.last) > adminBackoffMax {
			delete(g.clients, k)
		}
	}
}

// adminUser is the user name of HTTP Basic authentication, for logs: it
// may name the credential tried. It is attacker-controlled: bounded.
func adminUser(r *http.Request) string {
	user, _, ok := r.BasicAuth()
	if !ok {
		return ""
	}
	return text.Clip(strings.ToValidUTF8(user, "\uFFFD"), 64)
}
