package signin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/deskphone/deskphone/internal/atomicfile"
)

// TokensFile holds, in the state directory, the tokens of the signed-in
// user: mode 0600, replaced atomically, so a reboot or a crash keeps the
// sign-in and nothing else on the host reads them.
const TokensFile = "signin/tokens.json"

// Tokens are the signed-in user's tokens. Expiry is on the phone's clock
// (computed from expires_in when they came), so a host clock that is
// minutes off, or virtual time, does not matter.
type Tokens struct {
	Issuer   string    `json:"issuer"`
	ClientID string    `json:"client_id"`
	Method   string    `json:"method"`
	User     string    `json:"user"`
	Access   string    `json:"access_token"`
	Refresh  string    `json:"refresh_token,omitempty"`
	Expiry   time.Time `json:"expiry"`
}

func tokensPath(dir string) string { return filepath.Join(dir, TokensFile) }

// loadTokens reads the tokens kept in dir; none kept is (nil, nil).
func loadTokens(dir string) (*Tokens, error) {
	data, err := os.ReadFile(tokensPath(dir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	var t Tokens
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("tokens: %s: %w", TokensFile, err)
	}
	if t.Access == "" {
		return nil, fmt.Errorf("tokens: %s: no access token", TokensFile)
	}
	return &t, nil
}

func saveTokens(dir string, t *Tokens) error {
	data, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("tokens: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(tokensPath(dir)), 0o700); err != nil {
		return fmt.Errorf("tokens: %w", err)
	}
	if err := atomicfile.Write(tokensPath(dir), data, 0o600); err != nil {
		return fmt.Errorf("tokens: %w", err)
	}
	return nil
}

func clearTokens(dir string) error {
	err := os.Remove(tokensPath(dir))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("tokens: %w", err)
	}
	return atomicfile.SyncDir(filepath.Dir(tokensPath(dir)))
}
