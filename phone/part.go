// What a part of the firmware may use of its phone.

package phone

import (
	"fmt"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/phone/statedir"
)

// partEnv is what the phone lends its parts (lock, policy): the clock and
// the timers, the state directory, the syslog, the alert line and the
// record of damaged state files. A part reaches the rest of the phone only
// through its own host interface, and hears of the other parts through the
// events the phone tells it.
type partEnv struct {
	clock clock.Clock
	tm    *timers
	state *statedir.Dir
	log   *syslog
	// alert shows a transient message; damaged and repaired keep the
	// status's state_damaged.
	alert             func(msg string)
	damaged, repaired func(name string)
}

// logf writes a syslog line for a named event.
func (e partEnv) logf(event, level, tag, format string, args ...any) {
	e.log.event(e.clock.Now(), event, level, tag, fmt.Sprintf(format, args...), nil)
}
