// The download and install: the image into the spare slot, verified, then the slots switched and a reboot.

package update

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/deskphone/deskphone/firmware"
	"github.com/deskphone/deskphone/phone/statedir"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// dir is where the agent keeps the slots, the download and the TUF caches.
func (a *Agent) dir() string { return filepath.Join(a.cfg.State.Path, "firmware") }

// startDownload verifies the offer's metadata, downloads the image into
// the download file (resuming), checks it and installs it.
func (a *Agent) startDownload() {
	u := &a.s
	o := u.offer
	if o == nil || u.working {
		return
	}
	if a.env.Call() != "" {
		// Never during a call: try again when idle.
		a.armIdleInstall()
		return
	}
	u.idle.Stop()
	u.working, u.state, u.progress = true, Downloading, 0
	root, rootName, err := a.root()
	if err != nil {
		a.failed(err)
		return
	}
	room := int64(-1)
	if a.cfg.StateLimit > 0 {
		room = a.cfg.StateLimit - dirSize(a.cfg.State.Path)
	}
	dir := a.dir()
	conf := a.tlsFor(o.base)
	now := a.env.Clock().Now()
	model := a.cfg.Model.ID
	a.logf("notice", "downloading firmware %s from the %s", o.version, o.source)
	a.work(func(ctx context.Context, post func(func())) {
		c := firmware.Client{
			Root:        root,
			MetadataURL: o.metadataURL,
			// One cache per authority: each is its own repository.
			Dir:  filepath.Join(dir, "tuf", strings.ReplaceAll(o.source, " ", "-"), rootName),
			Now:  now,
			HTTP: client(ctx, conf),
		}
		err := os.MkdirAll(dir, 0o700)
		var tf *target
		if err == nil {
			tf, err = fetchTarget(c, o.res.Target)
		}
		if err == nil && (tf.manifest.Model != model || tf.manifest.Version != o.version) {
			err = fmt.Errorf("%w: signed target is %s %s, want %s %s", firmware.ErrWrongModel, tf.manifest.Model, tf.manifest.Version, model, o.version)
		}
		part := filepath.Join(dir, "download.part")
		if err == nil {
			last := -1
			err = firmware.Download(ctx, c.HTTP, o.imageURL, part, tf.files, room, func(done, total int64) {
				pct := int(done * 100 / max(total, 1))
				if pct != last {
					last = pct
					post(func() { a.s.progress = pct })
				}
			})
		}
		if errors.Is(err, firmware.ErrMismatch) {
			// Nothing to resume from a file that does not match.
			os.Remove(part)
		}
		if err == nil {
			post(func() { a.s.state = Verifying })
			err = checkImage(part, model)
			if err != nil {
				os.Remove(part)
			}
		}
		c.HTTP.CloseIdleConnections()
		post(func() { a.onDownloaded(part, err) })
	})
}

// target is the signed target of an offer: its files and manifest.
type target struct {
	files    *metadata.TargetFiles
	manifest firmware.Manifest
}

func fetchTarget(c firmware.Client, name string) (*target, error) {
	tf, m, err := c.Target(name)
	if err != nil {
		return nil, err
	}
	return &target{files: tf, manifest: m}, nil
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
func (a *Agent) onDownloaded(part string, err error) {
	u := &a.s
	if err != nil {
		a.failed(err)
		return
	}
	o := u.offer
	if a.env.Call() != "" {
		// A call came in while downloading: install when idle again.
		u.working, u.state = false, Available
		a.armIdleInstall()
		return
	}
	u.state = Installing
	running := a.fw.Version
	slot := otherSlot(u.rec.Slot)
	if err := os.Rename(part, filepath.Join(a.dir(), "slot-"+slot+".img")); err != nil {
		a.failed(fmt.Errorf("install: %w", err))
		return
	}
	if err := syncDir(a.dir()); err != nil {
		a.failed(fmt.Errorf("install: %w", err))
		return
	}
	rec := u.rec
	rec.Trial = &trial{Version: o.version, Previous: running, PreviousSlot: rec.Slot}
	rec.Slot = slot
	rec.Result, rec.Error, rec.Postponed, rec.Postpones = "", "", "", 0
	rec.History = append(rec.History, installed{Version: o.version, Source: o.source, At: a.env.Clock().Now()})
	if len(rec.History) > 20 {
		rec.History = rec.History[len(rec.History)-20:]
	}
	if err := a.save(rec); err != nil {
		a.failed(fmt.Errorf("install: %w", err))
		return
	}
	u.rec = rec
	if err := a.cfg.State.SaveFirmware(statedir.Firmware{Active: o.version, Backup: running}); err != nil {
		a.failed(fmt.Errorf("install: %w", err))
		return
	}
	u.state = Rebooting
	a.logf("notice", "firmware %s verified and installed into slot %s (was %s in slot %s), restarting", o.version, slot, running, otherSlot(slot))
	a.env.Reboot()
}

// root is the update root the running firmware ships.
func (a *Agent) root() ([]byte, string, error) {
	name := a.fw.UpdateRoot
	if name == "" {
		name = a.cfg.Model.Vendor.Update.Root
	}
	b, err := firmware.LabRoot(a.cfg.Lab, name)
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
