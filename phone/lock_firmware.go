package phone

// ChangeFirmware installs another firmware version and reboots into it on
// the same state directory, as an upgrade does: the lock the new firmware
// has decides what becomes of the PIN (a Device-Lock code does not carry
// over to Phone-Lock). A call in progress refuses it.
func (p *Phone) ChangeFirmware(version string) error {
	return p.doErr(func() error { return agentErr(p.upd.Install(version)) })
}
