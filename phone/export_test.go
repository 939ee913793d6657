package phone

// InstallFirmware installs another firmware version into the phone's slots
// and reboots into it, as the update agent will.
func (p *Phone) InstallFirmware(version string) error {
	return p.doErr(func() error { return agentErr(p.upd.Install(version)) })
}

// PlaceBeside places a call to target beside the phone's calls, focused,
// as New Call during a held call will (issue 21, several calls): the
// conference tests need a held call and a current one.
func PlaceBeside(p *Phone, target string) error {
	return p.doErr(func() error { p.s.calls.place(target); return nil })
}
