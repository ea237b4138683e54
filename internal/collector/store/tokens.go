package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Token is an enrollment token as listed: never its secret, which only
// [Store.CreateToken] returns.
type Token struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	RevokedAt time.Time `json:"revoked_at,omitzero"` // zero while valid
	LastUsed  time.Time `json:"last_used,omitzero"`  // to the minute; zero if never
}

// Revoked reports whether the token is revoked.
func (t Token) Revoked() bool { return !t.RevokedAt.IsZero() }

// SecretPrefix starts every enrollment token secret, so that secret
// scanners and people recognise one.
const SecretPrefix = "avst_"

// MaxTokenName bounds a token's name, in bytes.
const MaxTokenName = 200

type tokenHash struct {
	id   string
	hash []byte
}

// CreateToken creates an enrollment token called name and returns its id
// and its secret. The secret is not stored (only its SHA-256) and cannot
// be shown again.
func (s *Store) CreateToken(ctx context.Context, name string) (id, secret string, err error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", "", fmt.Errorf("%w token name: empty", ErrInvalid)
	case len(name) > MaxTokenName:
		return "", "", fmt.Errorf("%w token name: longer than %d bytes", ErrInvalid, MaxTokenName)
	case strings.ContainsFunc(name, unicode.IsControl):
		return "", "", fmt.Errorf("%w token name: contains control characters", ErrInvalid)
	}
	var idBytes [8]byte
	var secretBytes [32]byte
	rand.Read(idBytes[:]) // crypto/rand.Read never fails
	rand.Read(secretBytes[:])
	id = hex.EncodeToString(idBytes[:])
	secret = SecretPrefix + base64.RawURLEncoding.EncodeToString(secretBytes[:])
	sum := sha256.Sum256([]byte(secret))
	if _, err := s.w.ExecContext(ctx, "INSERT INTO tokens (id, name, secret_sha256, created_at) VALUES ($1, $2, $3, $4)",
		id, name, sum[:], micros(s.now())); err != nil {
		return "", "", fmt.Errorf("creating token %q: %w", name, err)
	}
	s.forgetTokens()
	return id, secret, nil
}

// RevokeToken revokes the token id, or returns [ErrNotFound]. Every
// replica refuses it within the token cache TTL. Revoking twice is not an
// error.
func (s *Store) RevokeToken(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, "UPDATE tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1", id, micros(s.now()))
	if err != nil {
		return fmt.Errorf("revoking token %q: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("revoking token %q: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("token %q: %w", id, ErrNotFound)
	}
	s.forgetTokens()
	return nil
}

// ListTokens lists all tokens, revoked ones included, oldest first.
func (s *Store) ListTokens(ctx context.Context) ([]Token, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT id, name, created_at, revoked_at, last_used_at FROM tokens ORDER BY created_at, id")
	if err != nil {
		return nil, fmt.Errorf("listing tokens: %w", err)
	}
	defer rows.Close()
	tokens := []Token{}
	for rows.Next() {
		var t Token
		var created int64
		var revoked, used sql.NullInt64
		if err := rows.Scan(&t.ID, &t.Name, &created, &revoked, &used); err != nil {
			return nil, fmt.Errorf("listing tokens: %w", err)
		}
		t.CreatedAt = fromMicros(created)
		if revoked.Valid {
			t.RevokedAt = fromMicros(revoked.Int64)
		}
		if used.Valid {
			t.LastUsed = fromMicros(used.Int64)
		}
		tokens = append(tokens, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing tokens: %w", err)
	}
	return tokens, nil
}

// Authenticate returns the id of the valid token whose secret is secret,
// or [ErrUnauthorized]. The hashes of valid tokens are cached for the
// token cache TTL and compared in constant time, all of them every time.
func (s *Store) Authenticate(ctx context.Context, secret string) (string, error) {
	sum := sha256.Sum256([]byte(secret))
	tokens, err := s.validTokens(ctx)
	if err != nil {
		return "", err
	}
	id := ""
	for _, t := range tokens {
		if subtle.ConstantTimeCompare(t.hash, sum[:]) == 1 {
			id = t.id
		}
	}
	if id == "" || secret == "" {
		return "", ErrUnauthorized
	}
	return id, nil
}

// validTokens returns the cached valid tokens, reloading them when older
// than the TTL.
func (s *Store) validTokens(ctx context.Context) ([]tokenHash, error) {
	s.tokMu.Lock()
	defer s.tokMu.Unlock()
	now := time.Now() // the cache's age is real time, whatever the store's clock says
	if !s.tokAt.IsZero() && now.Sub(s.tokAt) < s.tokenTTL && now.After(s.tokAt) {
		return s.tokens, nil
	}
	rows, err := s.r.QueryContext(ctx, "SELECT id, secret_sha256 FROM tokens WHERE revoked_at IS NULL")
	if err != nil {
		return nil, fmt.Errorf("loading tokens: %w", err)
	}
	defer rows.Close()
	var tokens []tokenHash
	for rows.Next() {
		var t tokenHash
		if err := rows.Scan(&t.id, &t.hash); err != nil {
			return nil, fmt.Errorf("loading tokens: %w", err)
		}
		tokens = append(tokens, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("loading tokens: %w", err)
	}
	s.tokens, s.tokAt = tokens, now
	return tokens, nil
}

// forgetTokens drops the token cache after a change made here.
func (s *Store) forgetTokens() {
	s.tokMu.Lock()
	s.tokAt = time.Time{}
	s.tokMu.Unlock()
}
