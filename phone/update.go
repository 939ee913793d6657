package phone

import (
	"fmt"

	"github.com/deskphone/deskphone/phone/catalog"
)

// update is the firmware-update part. The phone has two firmware slots in
// its state directory: the active image, which boots, and the backup.
// Installing writes the new version into the active slot (the running one
// becomes the backup) and reboots into it; the boot reads the slots again
// and takes the model's traits, CA store and sign-in methods from the
// firmware it finds. The agent that polls for, downloads and schedules
// updates adds its states (pending, downloading) and timers here.
type update struct {
	state UpdateState
}

// installFirmware resolves version ("" for the one in the active slot, or
// the model's default) and records it in the firmware slots: a version
// other than the active one becomes active and the old one the backup.
func (p *Phone) installFirmware(version string) (*catalog.Firmware, error) {
	slots, err := p.state.LoadFirmware()
	if err != nil {
		return nil, fmt.Errorf("install firmware: %w", err)
	}
	if version == "" {
		version = slots.Active
	}
	fw, err := p.model.FirmwareVersion(version)
	if err != nil {
		return nil, fmt.Errorf("install firmware: %w", err)
	}
	if slots.Active != fw.Version {
		if slots.Active != "" {
			slots.Backup = slots.Active
		}
		slots.Active = fw.Version
		if err := p.state.SaveFirmware(slots); err != nil {
			return nil, fmt.Errorf("install firmware: %w", err)
		}
	}
	return fw, nil
}

// installAndReboot installs version and boots it, as the update agent does
// once an image is downloaded. A call in progress refuses it.
func (p *Phone) installAndReboot(version string) error {
	if p.s.call != CallIdle {
		return errorf(ErrBusy, "cannot install firmware %s: the phone is %s", version, p.s.call)
	}
	p.s.update.state = UpdateInstalling
	fw, err := p.installFirmware(version)
	if err != nil {
		p.s.update.state = UpdateNone
		return err
	}
	p.logf("update", "notice", "update", "firmware %s installed (was %s), restarting", fw.Version, p.s.fw.Version)
	p.reboot()
	return nil
}
