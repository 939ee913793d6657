package phone

import "github.com/deskphone/deskphone/phone/catalog"

// lock is the phone-lock part. The firmware decides which lock it has
// (none, device-lock, phone-lock); the phone boots unlocked, and nothing
// locks it yet: locking, the unlock screen and its PIN timer come with the
// lock feature, which fills in lockKey.
type lock struct {
	state LockState
	kind  string // the firmware's lock type, from the catalog
}

// newLock is the lock part at boot: unlocked.
func newLock(fw *catalog.Firmware) lock { return lock{state: Unlocked, kind: fw.Lock} }

// lockKey is the lock screen's stage of the input router: a locked phone
// takes no key until it is unlocked.
func (p *Phone) lockKey(Key) bool { return p.s.lock.state == Locked }
