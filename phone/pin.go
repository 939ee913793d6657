package phone

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/deskphone/deskphone/phone/gateway"

	"github.com/deskphone/deskphone/internal/atomicfile"
	"github.com/deskphone/deskphone/phone/statedir"
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
	// AdminFailures are the wrong administrator codes since the PIN's
	// tries ran out, and AdminWait the instant on the phone's clock before
	// which the next one is not checked.
	AdminFailures int       `json:"admin_failures,omitempty"`
	AdminWait     time.Time `json:"admin_wait,omitzero"`
}

// lockFileSpec is how the lock record is read: the keys every write of
// it holds.
var lockFileSpec = statedir.File{
	Name:     LockFile,
	Required: []string{"kind", "algo", "time", "memory", "threads", "salt", "hash", "locked", "failures"},
	New:      func() any { return &lockRecord{} },
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

// loadLockRecord reads LockFile; nil without one. A record that is not
// what a save writes (null, torn, {}, no PIN hash, not a regular file) is
// a *statedir.DamagedError naming the file: the lock then fails closed.
func loadLockRecord(d *statedir.Dir) (*lockRecord, error) {
	var r lockRecord
	found, err := d.Load(lockFileSpec, &r)
	if err != nil || !found {
		return nil, err
	}
	if r.Algo != "argon2id" || len(r.Hash) == 0 || len(r.Salt) == 0 || r.Time == 0 || r.Memory == 0 || r.Threads == 0 {
		return nil, &statedir.DamagedError{Path: filepath.Join(d.Path, LockFile), Reason: "it holds no usable PIN hash"}
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

// StateFiles are the phone's own state files, for the tools that check
// and repair a state directory (statedir.Check, statedir.Repair).
func StateFiles() []statedir.File {
	return []statedir.File{lockFileSpec, policyFileSpec, updateFileSpec, historyFileSpec, gateway.FileSpec}
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
