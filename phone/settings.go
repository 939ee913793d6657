// The settings part: what the user changes on the phone itself.

package phone

import (
	"fmt"
	"strings"

	"github.com/deskphone/deskphone/phone/statedir"
)

// settings keeps the phone's configuration (the account, do not disturb,
// the volume, the clock's format, the last number dialled) in config.json:
// every change the user makes is saved at once.
type settings struct {
	cfg *statedir.Config // the machine's
	env *partEnv
	// kept is the statedir account while the gateway's is in force (nil
	// without a gateway): what a save writes.
	kept *statedir.Account
}

// save writes the configuration; a failure is logged and shown, and the
// phone goes on with the setting in memory.
func (st settings) save() {
	st.cfg.Revision++
	c := *st.cfg
	if st.kept != nil {
		c.Account = *st.kept
	}
	if err := st.env.state.SaveConfig(c); err != nil {
		st.env.logf("config", "err", "config", "saving configuration failed: %v", err)
		st.env.alert("Cannot save settings")
	}
}

// toggleDND is the DND key.
func (st settings) toggleDND() {
	st.cfg.DND = !st.cfg.DND
	st.save()
	st.env.alert(map[bool]string{true: "Do Not Disturb on", false: "Do Not Disturb off"}[st.cfg.DND])
}

// volume turns the volume up or down by delta, within 0 to 10.
func (st settings) volume(delta int) {
	v := min(max(st.cfg.Volume+delta, 0), 10)
	st.cfg.Volume = v
	st.save()
	st.env.alert(fmt.Sprintf("Volume %s%s %d", strings.Repeat("#", v), strings.Repeat(".", 10-v), v))
}

// toggleTimeFormat switches the clock between 12 and 24 hours from the
// format shown now.
func (st settings) toggleTimeFormat(shown int) {
	st.cfg.TimeFormat = 24
	if shown == 24 {
		st.cfg.TimeFormat = 12
	}
	st.save()
	st.env.alert(fmt.Sprintf("Time format: %d h", st.cfg.TimeFormat))
}
