// The update agent's download and install: the image into the spare slot, verified, then the slots switched and a reboot.

package phone

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/deskphone/deskphone/firmware"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/statedir"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// startDownload verifies the offer's metadata, downloads the image into
// the download file (resuming), checks it and installs it.
func (p *Phone) startDownload() {
	u := &p.s.update
	o := u.offer
	if o == nil || u.working {
		return
	}
	if p.s.calls.state() != CallIdle {
		// Never during a call: try again when idle.
		p.armIdleInstall()
		return
	}
	p.s.update.idle.stop()
	u.working, u.state, u.progress = true, UpdateDownloading, 0
	root, rootName, err := p.updateRoot()
	if err != nil {
		p.updateFailed(err)
		return
	}
	room := int64(-1)
	if p.stateLimit > 0 {
		room = p.stateLimit - dirSize(p.state.Path)
	}
	dir := p.updateDir()
	client := firmware.Client{
		Root:        root,
		MetadataURL: o.metadataURL,
		// One cache per authority: each is its own repository.
		Dir:  filepath.Join(dir, "tuf", strings.ReplaceAll(o.source, " ", "-"), rootName),
		Now:  p.clock.Now(),
		HTTP: p.updateClient(o.base),
	}
	imageURL := o.imageURL
	model, gen := p.model.ID, p.s.reboots
	p.logf("update", "notice", "update", "downloading firmware %s from the %s", o.version, o.source)
	release := p.inflight.Hold()
	p.goWork(func(ctx context.Context) {
		defer release()
		post := func(f func()) bool {
			return p.do(func() {
				if p.s.reboots == gen {
					f()
				}
			}) == nil
		}
		err := os.MkdirAll(dir, 0o700)
		var tf *firmwareTarget
		if err == nil {
			tf, err = fetchTarget(client, o.res.Target)
		}
		if err == nil && (tf.manifest.Model != model || tf.manifest.Version != o.version) {
			err = fmt.Errorf("%w: signed target is %s %s, want %s %s", firmware.ErrWrongModel, tf.manifest.Model, tf.manifest.Version, model, o.version)
		}
		part := filepath.Join(dir, "download.part")
		if err == nil {
			last := -1
			err = firmware.Download(ctx, client.HTTP, imageURL, part, tf.files, room, func(done, total int64) {
				pct := int(done * 100 / max(total, 1))
				if pct != last {
					last = pct
					post(func() { p.s.update.progress = pct })
				}
			})
		}
		if errors.Is(err, firmware.ErrMismatch) {
			// Nothing to resume from a file that does not match.
			os.Remove(part)
		}
		if err == nil {
			post(func() { p.s.update.state = UpdateVerifying })
			err = checkImage(part, model)
			if err != nil {
				os.Remove(part)
			}
		}
		client.HTTP.CloseIdleConnections()
		post(func() { p.onDownloaded(part, err) })
	})
}

type firmwareTarget struct {
	files    *metadata.TargetFiles
	manifest firmware.Manifest
}

func fetchTarget(c firmware.Client, name string) (*firmwareTarget, error) {
	tf, m, err := c.Target(name)
	if err != nil {
		return nil, err
	}
	return &firmwareTarget{files: tf, manifest: m}, nil
}

func checkImage(path, model string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	defer f.Close()
	_, err = firmware.Check(f, model)
	return err
}

// onDownloaded installs a verified image: it becomes the spare slot's
// image, the record names the new firmware on trial, then the slots
// switch and the phone reboots into it. Each step is an atomic
// replacement, in this order, so a kill at any point boots a verified
// firmware: the old one until the slots switch, the new one after.
func (p *Phone) onDownloaded(part string, err error) {
	u := &p.s.update
	if err != nil {
		p.updateFailed(err)
		return
	}
	o := u.offer
	if p.s.calls.state() != CallIdle {
		// A call came in while downloading: install when idle again.
		u.working, u.state = false, UpdateAvailable
		p.armIdleInstall()
		return
	}
	u.state = UpdateInstalling
	running := p.s.fw.Version
	slot := otherSlot(u.rec.Slot)
	if err := os.Rename(part, filepath.Join(p.updateDir(), "slot-"+slot+".img")); err != nil {
		p.updateFailed(fmt.Errorf("install: %w", err))
		return
	}
	if err := syncDir(p.updateDir()); err != nil {
		p.updateFailed(fmt.Errorf("install: %w", err))
		return
	}
	rec := u.rec
	rec.Trial = &trial{Version: o.version, Previous: running, PreviousSlot: rec.Slot}
	rec.Slot = slot
	rec.Result, rec.Error, rec.Postponed, rec.Postpones = "", "", "", 0
	rec.History = append(rec.History, installed{Version: o.version, Source: o.source, At: p.clock.Now()})
	if len(rec.History) > 20 {
		rec.History = rec.History[len(rec.History)-20:]
	}
	if err := p.saveUpdateRecord(rec); err != nil {
		p.updateFailed(fmt.Errorf("install: %w", err))
		return
	}
	u.rec = rec
	if err := p.state.SaveFirmware(statedir.Firmware{Active: o.version, Backup: running}); err != nil {
		p.updateFailed(fmt.Errorf("install: %w", err))
		return
	}
	u.state = UpdateRebooting
	p.logf("update", "notice", "update", "firmware %s verified and installed into slot %s (was %s in slot %s), restarting", o.version, slot, running, otherSlot(slot))
	p.reboot()
}

// updateRoot is the update root the running firmware ships.
func (p *Phone) updateRoot() ([]byte, string, error) {
	name := p.s.fw.UpdateRoot
	if name == "" {
		name = p.model.Vendor.Update.Root
	}
	b, err := firmware.LabRoot(p.lab, name)
	if err != nil {
		return nil, name, fmt.Errorf("update root %s: %w", name, err)
	}
	return b, name, nil
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			n += info.Size()
		}
		return nil
	})
	return n
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
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

// installAndReboot installs version and boots it at once, as a technician
// would: a call in progress refuses it.
func (p *Phone) installAndReboot(version string) error {
	if p.s.calls.state() != CallIdle {
		return errorf(ErrBusy, "cannot install firmware %s: the phone is %s", version, p.s.calls.state())
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
