package collector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"
	"unicode"
)

// maxAdminTokenFile bounds what LoadAdminToken reads.
const maxAdminTokenFile = 4096

// LoadAdminToken reads the admin credential from the file path: its
// content without surrounding white space, at least [MinAdminToken]
// bytes. A file every user may read is refused (on systems with Unix
// permissions), as is a credential with control characters.
func LoadAdminToken(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("admin token file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("admin token file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("admin token file %s: not a regular file", path)
	}
	if err := checkPrivate(st); err != nil {
		return "", fmt.Errorf("admin token file %s: %w", path, err)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxAdminTokenFile+1))
	if err != nil {
		return "", fmt.Errorf("admin token file %s: %w", path, err)
	}
	if len(b) > maxAdminTokenFile {
		return "", fmt.Errorf("admin token file %s: larger than %d bytes", path, maxAdminTokenFile)
	}
	token := strings.TrimSpace(string(b))
	switch {
	case len(token) < MinAdminToken:
		return "", fmt.Errorf("admin token file %s: the token must be at least %d characters", path, MinAdminToken)
	case strings.ContainsFunc(token, unicode.IsControl):
		return "", fmt.Errorf("admin token file %s: the token must be one line without control characters", path)
	}
	return token, nil
}

// Pruner deletes old history; [*store.Store] is one.
type Pruner interface {
	Prune(ctx context.Context, keep time.Duration) (int64, error)
}

// RunRetention prunes history older than keep now and then every
// interval until ctx ends. Replicas may all run it: pruning is idempotent.
func RunRetention(ctx context.Context, p Pruner, keep, every time.Duration, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := p.Prune(ctx, keep)
		switch {
		case errors.Is(err, context.Canceled):
			return
		case err != nil:
			log.Error("pruning history", "err", err)
		case n > 0:
			log.Info("pruned history", "reports", n, "older_than", keep)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
