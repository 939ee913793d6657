package phone

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/crypto/argon2"

	"github.com/deskphone/deskphone/internal/atomicfile"
)

// LockFile keeps, in the state directory, the phone lock: the PIN as a
// salted argon2id hash (never the PIN), which lock set it, whether the
// phone is locked and the wrong PINs so far. It is replaced atomically,
// mode 0600, so a kill while a PIN is saved leaves the old PIN or the new
// one, never none.
const LockFile = "phonelock.json"

// argon2id parameters: RFC 9106's second recommended option scaled to a
// desk phone (19 MiB, two passes), as OWASP suggests for argon2id.
const (
	pinTime    = 2
	pinMemory  = 19 * 1024
	pinThreads = 1
	pinKeyLen  = 32
)

// lockRecord is LockFile.
type lockRecord struct {
	Kind     string `json:"kind"` // the firmware lock that set the PIN
	Algo     string `json:"algo"`
	Time     uint32 `json:"time"`
	Memory   uint32 `json:"memory"`
	Threads  uint8  `json:"threads"`
	Salt     []byte `json:"salt"`
	Hash     []byte `json:"hash"`
	Locked   bool   `json:"locked"`
	Failures int    `json:"failures"`
}

// hashPIN makes a new record for pin with a fresh salt.
func hashPIN(kind, pin string) (*lockRecord, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("PIN salt: %w", err)
	}
	r := &lockRecord{Kind: kind, Algo: "argon2id", Time: pinTime, Memory: pinMemory, Threads: pinThreads, Salt: salt}
	r.Hash = argon2.IDKey([]byte(pin), salt, r.Time, r.Memory, r.Threads, pinKeyLen)
	return r, nil
}

// matches reports whether pin is the record's PIN, in constant time.
func (r *lockRecord) matches(pin string) bool {
	if r.Algo != "argon2id" || len(r.Hash) == 0 || r.Memory == 0 || r.Time == 0 || r.Threads == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pin), r.Salt, r.Time, r.Memory, r.Threads, uint32(len(r.Hash)))
	return subtle.ConstantTimeCompare(got, r.Hash) == 1
}

// loadLockRecord reads LockFile; nil without one.
func loadLockRecord(dir string) (*lockRecord, error) {
	data, err := os.ReadFile(filepath.Join(dir, LockFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("phone lock: %w", err)
	}
	var r lockRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("phone lock: %s: %w", LockFile, err)
	}
	if len(r.Hash) == 0 {
		return nil, fmt.Errorf("phone lock: %s holds no PIN hash", LockFile)
	}
	return &r, nil
}

// saveLockRecord replaces LockFile; nil removes it.
func saveLockRecord(dir string, r *lockRecord) error {
	path := filepath.Join(dir, LockFile)
	if r == nil {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("phone lock: %w", err)
		}
		return atomicfile.SyncDir(dir)
	}
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("phone lock: %w", err)
	}
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return fmt.Errorf("phone lock: %w", err)
	}
	return nil
}

// checkPIN says why pin cannot be a PIN with at least min digits.
func checkPIN(pin string, minLen int) error {
	switch {
	case pin == "":
		return errorf(ErrBadPIN, "PIN is empty: enter %d to 15 digits", minLen)
	case len(pin) > 0 && trimDigits(pin) != "":
		return errorf(ErrBadPIN, "PIN must be digits only")
	case len(pin) < minLen:
		return errorf(ErrBadPIN, "PIN too short: %s, at least %d", count(len(pin), "digit", "digits"), minLen)
	case len(pin) > 15:
		return errorf(ErrBadPIN, "PIN too long: %s, at most 15", count(len(pin), "digit", "digits"))
	}
	return nil
}

func trimDigits(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			out = append(out, s[i])
		}
	}
	return string(out)
}
