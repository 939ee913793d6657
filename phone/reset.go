// Factory reset from the phone's menu: the state directory back to what a
// phone out of the box has (statedir's Reset), then a reboot.

package phone

import "github.com/deskphone/deskphone/phone/statedir"

// factoryReset is the menu's factory_reset (a locked phone never reaches
// the menu): it leaves the account's registration, removes every state
// file but the identity and the firmware slots, and reboots on the
// configuration a phone out of the box has.
func factoryReset(p *Phone) {
	p.s.menu.close()
	p.logf("reset", "notice", "boot", "factory reset requested")
	p.stopLine(true)
	removed, err := p.state.Reset()
	if err != nil {
		// What could not go stays; the phone still reboots on defaults.
		p.logf("reset", "err", "boot", "factory reset: %v", err)
	}
	p.logf("reset", "notice", "boot", "factory reset: %d state files removed", len(removed))
	cfg, err := factoryConfig(p)
	if err != nil {
		p.logf("reset", "err", "boot", "factory reset: %v", err)
	}
	p.s.cfg = cfg
	p.reboot()
}

// factoryConfig is the configuration a reset phone boots with: the
// defaults, plus what the phone's options give it at every power-on (the
// account of `run --server`, the gateway URL of `--provisioning`), as
// DHCP would give a real phone again; the options are saved as at
// power-on.
func factoryConfig(p *Phone) (statedir.Config, error) {
	cfg := statedir.DefaultConfig()
	given := false
	if p.account != nil {
		cfg.Account, given = *p.account, true
	}
	if o := p.gwOpts; o != nil && o.provisioning != nil {
		cfg.Provisioning, given = *o.provisioning, true
	}
	if !given {
		return cfg, nil
	}
	return cfg, p.state.SaveConfig(cfg)
}
