package phone

import "time"

// DefaultDialTimeout is UserDialTimeoutMS of the in-band policy: a number is
// dialled after this long without a key.
const DefaultDialTimeout = 5000 * time.Millisecond

// policy is the in-band policy part: the settings an administrator's policy
// sets on the phone. Today they are the defaults, or what the phone was
// provisioned with (WithDialTimeout); a policy pushed by the server replaces
// them here.
type policy struct {
	dialTimeout time.Duration // UserDialTimeoutMS
}

// newPolicy is the policy part at boot.
func (p *Phone) newPolicy() policy { return policy{dialTimeout: p.dialTimeout} }
