package phone

import "github.com/deskphone/deskphone/phone/catalog"

// InstallFirmware installs another firmware version into the phone's slots
// and reboots into it, as the update agent will.
func (p *Phone) InstallFirmware(version string) error {
	return p.doErr(func() error { return agentErr(p.upd.Install(version)) })
}

// RunAction performs a catalog action as a softkey bound to it would, for
// the actions no built-in screen binds to a softkey.
func (l Calls) RunAction(a catalog.Action) error {
	return l.p.do(func() { l.p.action(a) })
}
