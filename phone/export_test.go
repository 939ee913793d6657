package phone

// InstallFirmware installs another firmware version into the phone's slots
// and reboots into it, as the update agent will.
func (p *Phone) InstallFirmware(version string) error {
	return p.doErr(func() error { return agentErr(p.upd.Install(version)) })
}
