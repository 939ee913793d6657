package phone

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

// storedTokens are the signed-in user's tokens. Expiry is on the phone's
// clock (computed from expires_in when they came), so a host clock that is
// minutes off, or virtual time, does not matter.
type storedTokens struct {
	Issuer   string    `json:"issuer"`
	ClientID string    `json:"client_id"`
	Method   string    `json:"method"`
	User     string    `json:"user"`
	Access   string    `json:"access_token"`
	Refresh  string    `json:"refresh_token,omitempty"`
	Expiry   time.Time `json:"expiry"`
}

func (p *Phone) tokensPath() string { return filepath.Join(p.state.Path, TokensFile) }

// loadTokens reads the stored tokens; none stored is (nil, nil).
func (p *Phone) loadTokens() (*storedTokens, error) {
	data, err := os.ReadFile(p.tokensPath())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	var t storedTokens
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("tokens: %s: %w", TokensFile, err)
	}
	if t.Access == "" {
		return nil, fmt.Errorf("tokens: %s: no access token", TokensFile)
	}
	return &t, nil
}

func (p *Phone) saveTokens(t *storedTokens) error {
	data, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("tokens: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(p.tokensPath()), 0o700); err != nil {
		return fmt.Errorf("tokens: %w", err)
	}
	if err := atomicfile.Write(p.tokensPath(), data, 0o600); err != nil {
		return fmt.Errorf("tokens: %w", err)
	}
	return nil
}

func (p *Phone) clearTokens() error {
	err := os.Remove(p.tokensPath())
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("tokens: %w", err)
	}
	return atomicfile.SyncDir(filepath.Dir(p.tokensPath()))
}
