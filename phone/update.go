package phone

import (
	"cmp"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/deskphone/deskphone/certs"
	"github.com/deskphone/deskphone/firmware"
	"github.com/deskphone/deskphone/internal/atomicfile"
	"github.com/deskphone/deskphone/phone/statedir"
)

// ErrNoUpdate: an update request with nothing to act on (no service, no
// offer, updates disabled or stopped).
var ErrNoUpdate = errors.New("no update")

// The update agent. The phone has two firmware slots in its state
// directory (firmware/slot-a.img, slot-b.img): the running image and the
// backup. The agent checks the update authorities at power-on, after
// sign-in and every 24 h on the phone's clock; an offered version is
// verified against the update root the firmware ships (TUF), downloaded
// into the spare slot when the phone has been idle long enough (or at once
// on Update), and booted on trial: the new firmware must register within
// the vendor's trial time, or the next boot goes back to the previous slot.
// What must survive a reboot or a crash is in update.json, replaced
// atomically, and every step is ordered so that a kill at any instant
// leaves a firmware that was verified in the active slot.

// checkEvery is the polling interval of the update check.
const checkEvery = 24 * time.Hour

// loopWindow is how far back the agent looks for versions alternating
// between two authorities.
const loopWindow = 7 * 24 * time.Hour

// updateFile is the agent's record in the state directory.
const updateFile = "update.json"

// Sources of firmware a phone may be told about.
const (
	sourceInBand       = "update service"
	sourceProvisioning = "provisioning server"
)

// update is the update part of the machine.
type update struct {
	// poll checks for firmware; trial ends a new firmware's trial boot;
	// idle waits for the phone to be idle to install; postpone ends a
	// postponement.
	poll, trial, idle, postpone timer
	state                       UpdateState
	offer                       *offer
	progress                    int
	// err is what went wrong last, raw (update_error and the syslog);
	// why its key in catalog.UpdateReasons, which the screen words.
	err, why  string
	lastInput time.Time
	offeredAt time.Time // when the offer was last put to the user
	// checking and working tell a check or a download/install in flight.
	checking, working bool
	// again is a check asked for while one was in flight (its line is in
	// the syslog already): it runs once that one has its answers, so what
	// a boot checks does not depend on which answer came back first.
	again bool
	// installNow is the Update softkey: install at once, idle or not.
	installNow bool
	signedIn   bool // the sign-in check was made this boot
	rec        updateRecord
	notes      []string // what the boot decided, for the syslog
	damaged    bool     // updateFile was damaged at boot
}

// offer is a version an authority offered.
type offer struct {
	version, source, base string
	res                   firmware.CheckResponse
	// metadataURL and imageURL are where the answer says, resolved and
	// checked by locate.
	metadataURL, imageURL string
}

// locate resolves the answer's metadata and image URLs, refusing hosts
// that are neither the service nor a mirror it lists.
func (o *offer) locate() error {
	var err error
	if o.metadataURL, err = o.res.Locate(o.base, o.res.MetadataURL); err != nil {
		return fmt.Errorf("metadata_url %w", err)
	}
	if o.imageURL, err = o.res.Locate(o.base, o.res.ImageURL); err != nil {
		return fmt.Errorf("image_url %w", err)
	}
	return nil
}

// updateRecord is update.json.
type updateRecord struct {
	// Slot holds the running firmware: "a" or "b".
	Slot  string `json:"slot"`
	Trial *trial `json:"trial,omitempty"`
	// Result is what the last update came to when not a success:
	// rolled-back, loop-stopped.
	Result    string `json:"result,omitempty"`
	Error     string `json:"error,omitempty"`
	Postponed string `json:"postponed,omitempty"` // the version put off
	// Refused is a version that was rolled back: not installed again.
	Refused   string      `json:"refused,omitempty"`
	Postpones int         `json:"postpones,omitempty"`
	History   []installed `json:"history,omitempty"`
}

// trial is a firmware booted but not yet known good.
type trial struct {
	Version      string `json:"version"`
	Previous     string `json:"previous"`
	PreviousSlot string `json:"previous_slot"`
	Boots        int    `json:"boots"`
}

// installed is one install, to recognise an update loop.
type installed struct {
	Version string    `json:"version"`
	Source  string    `json:"source"`
	At      time.Time `json:"at"`
}

// WithUpdateService sets the base URL of the in-band device update service.
func WithUpdateService(base string) Option {
	return func(p *Phone) error { p.updateURL = strings.TrimSuffix(base, "/"); return nil }
}

// WithProvisioningServer sets the base URL of a provisioning server that
// offers firmware too: a second update authority.
func WithProvisioningServer(base string) Option {
	return func(p *Phone) error { p.provisioningURL = strings.TrimSuffix(base, "/"); return nil }
}

// WithDeviceUpdate turns the update agent on or off (EnableDeviceUpdate as
// provisioned; the in-band policy may say otherwise).
func WithDeviceUpdate(on bool) Option {
	return func(p *Phone) error { p.noDeviceUpdate = !on; return nil }
}

// WithStateLimit caps the bytes the state directory may hold, as a small
// flash disk would; 0 is no cap.
func WithStateLimit(bytes int64) Option {
	return func(p *Phone) error {
		if bytes < 0 {
			return fmt.Errorf("state limit %d: must not be negative", bytes)
		}
		p.stateLimit = bytes
		return nil
	}
}

// updateEnabled is EnableDeviceUpdate of the in-band policy, unless the
// phone was provisioned without device update.
func (p *Phone) updateEnabled() bool {
	return p.s.policy.deviceUpdate && !p.noDeviceUpdate
}

func (p *Phone) updateDir() string { return filepath.Join(p.state.Path, "firmware") }

// updateFileSpec is how updateFile is read: what every save writes.
var updateFileSpec = statedir.File{
	Name:     updateFile,
	Required: []string{"slot"},
	New:      func() any { return &updateRecord{} },
}

func (p *Phone) loadUpdateRecord() (updateRecord, error) {
	var rec updateRecord
	found, err := p.state.Load(updateFileSpec, &rec)
	if err != nil {
		return updateRecord{Slot: "a"}, fmt.Errorf("update record: %w", err)
	}
	if !found {
		return updateRecord{Slot: "a"}, nil
	}
	if rec.Slot != "a" && rec.Slot != "b" {
		rec.Slot = "a"
	}
	return rec, nil
}

func (p *Phone) saveUpdateRecord(rec updateRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("update record: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(p.state.Path, updateFile), b, 0o600); err != nil {
		return fmt.Errorf("update record: %w", err)
	}
	return nil
}

func otherSlot(s string) string {
	if s == "b" {
		return "a"
	}
	return "b"
}

// updateAtBoot runs before the boot reads the firmware slots: a firmware
// on trial that already had its boot and never came up is rolled back to
// the previous slot, and an install cut short is forgotten. It returns the
// update part of the new boot.
func (p *Phone) updateAtBoot() update {
	u := update{state: UpdateNone}
	rec, err := p.loadUpdateRecord()
	if err != nil {
		u.notes = append(u.notes, err.Error())
		u.damaged = errors.Is(err, statedir.ErrDamaged)
	}
	if t := rec.Trial; t != nil {
		slots, err := p.state.LoadFirmware()
		switch {
		case err != nil:
			u.notes = append(u.notes, fmt.Sprintf("firmware slots: %v", err))
		case slots.Active != t.Version:
			// Killed between writing the image and switching slots: the
			// old firmware is still the active one.
			u.notes = append(u.notes, fmt.Sprintf("install of %s did not complete; running %s", t.Version, slots.Active))
			rec.Slot, rec.Trial = t.PreviousSlot, nil
		case t.Boots >= 1:
			msg := fmt.Sprintf("firmware %s did not come up; rolled back to %s", t.Version, t.Previous)
			if err := p.state.SaveFirmware(statedir.Firmware{Active: t.Previous, Backup: t.Version}); err != nil {
				u.notes = append(u.notes, fmt.Sprintf("rollback: %v", err))
				break
			}
			u.notes = append(u.notes, msg)
			rec.Slot, rec.Trial = t.PreviousSlot, nil
			rec.Result, rec.Error, rec.Refused = "rolled-back", msg, t.Version
		default:
			t.Boots++
		}
		if err := p.saveUpdateRecord(rec); err != nil {
			u.notes = append(u.notes, err.Error())
		}
	}
	u.rec = rec
	switch rec.Result {
	case "rolled-back":
		u.state, u.err = UpdateRolledBack, rec.Error
	case "loop-stopped":
		u.state, u.err = UpdateLoopStopped, rec.Error
	}
	return u
}

// startUpdate runs once a boot has brought the parts up: it reports what
// the boot decided, starts the trial of a new firmware and checks for
// firmware (power-on), then every 24 h.
func (p *Phone) startUpdate() {
	u := &p.s.update
	for _, n := range u.notes {
		p.logf("update", "warn", "update", "%s", n)
	}
	u.notes = nil
	if t := u.rec.Trial; t != nil {
		p.logf("update", "notice", "update", "firmware %s on trial in slot %s: it must register within %v", t.Version, u.rec.Slot, p.model.Vendor.Update.TrialFor)
		p.tm.start(&p.s.update.trial, p.model.Vendor.Update.TrialFor, p.trialExpired)
	}
	p.updateCheck("power-on")
	p.scheduleCheck()
}

func (p *Phone) scheduleCheck() {
	p.tm.start(&p.s.update.poll, checkEvery, func() {
		p.updateCheck("daily")
		p.scheduleCheck()
	})
}

// updateObserve runs after every task: a firmware on trial that has
// registered is marked good, and a sign-in triggers a check.
func (p *Phone) updateObserve() {
	u := &p.s.update
	if p.s.call != CallIdle {
		// A call is activity: the idle time counts from its end.
		u.lastInput = p.clock.Now()
	}
	registered := p.s.line != nil && p.s.line.registered
	if registered || p.s.session.State() == SignedIn {
		if t := u.rec.Trial; t != nil {
			u.rec.Trial = nil
			if err := p.saveUpdateRecord(u.rec); err != nil {
				p.logf("update", "err", "update", "%v", err)
			}
			p.s.update.trial.stop()
			p.logf("update", "notice", "update", "firmware %s came up in slot %s: marked good, %s kept as the backup", t.Version, u.rec.Slot, t.Previous)
		}
		if !u.signedIn {
			u.signedIn = true
			p.updateCheck("sign-in")
		}
	}
}

// trialExpired rolls a firmware that did not come up in time back.
func (p *Phone) trialExpired() {
	t := p.s.update.rec.Trial
	if t == nil {
		return
	}
	p.logf("update", "err", "update", "firmware %s did not register within %v; rolling back to %s", t.Version, p.model.Vendor.Update.TrialFor, t.Previous)
	// The next boot sees a trial that already had its boot.
	p.reboot()
}

// updateService is the in-band update service: WithUpdateService, else
// the one the in-band provisioning names.
func (p *Phone) updateService() string {
	if p.updateURL != "" {
		return p.updateURL
	}
	return strings.TrimSuffix(p.s.policy.updateService, "/")
}

// updateServiceChanged checks for firmware at the update service the
// in-band provisioning just named, unless one given at start wins.
func (p *Phone) updateServiceChanged() {
	if p.updateURL == "" && p.s.policy.updateService != "" {
		p.updateCheck("provisioning")
	}
}

// updateTimeout bounds one exchange with an update authority, in wall
// time: it guards against a server that never answers.
const updateTimeout = 30 * time.Second

// armIdleInstall installs once the phone has been idle (no call, no input)
// for the vendor's idle time, counted from the boot at the earliest.
func (p *Phone) armIdleInstall() {
	idle := p.model.Vendor.Update.IdleFor
	wait := idle
	if p.s.call == CallIdle && !p.menuOpen() {
		since := p.s.bootAt
		for _, t := range []time.Time{p.s.update.lastInput, p.s.update.offeredAt} {
			if t.After(since) {
				since = t
			}
		}
		wait = idle - p.clock.Now().Sub(since)
	}
	if wait <= 0 {
		p.startDownload()
		return
	}
	p.tm.start(&p.s.update.idle, wait, func() {
		if p.s.update.state == UpdateAvailable && p.s.update.offer != nil {
			p.armIdleInstall()
		}
	})
}

// noteInput records a key or softkey for the idle rule.
func (p *Phone) noteInput() { p.s.update.lastInput = p.clock.Now() }

func (p *Phone) updateFailed(err error) {
	u := &p.s.update
	u.state, u.err, u.why, u.working, u.installNow, u.progress = UpdateFailed, err.Error(), updateProblem(err), false, false, 0
	p.logf("update", "err", "update", "update failed: %v", err)
}

// updateProblem is the reason (a key of catalog.UpdateReasons) an update
// error stands for, which the screen words in the vendor's way.
func updateProblem(err error) string {
	switch {
	case errors.Is(err, firmware.ErrNoSpace):
		return "no_space"
	case errors.Is(err, firmware.ErrUntrusted), errors.Is(err, firmware.ErrMismatch), errors.Is(err, firmware.ErrCorrupt),
		errors.Is(err, firmware.ErrTruncated), errors.Is(err, firmware.ErrWrongModel), errors.Is(err, firmware.ErrForeignHost):
		return "rejected"
	}
	if f := certs.Classify(err); f != certs.FailureNone && f != certs.FailureHandshake {
		return "untrusted"
	}
	var cv *tls.CertificateVerificationError
	if errors.As(err, &cv) {
		return "untrusted"
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return "unreachable"
	}
	return "failed"
}

// updateWords is the vendor's wording of what went wrong with the update,
// for the screen (update_error keeps the raw text).
func (p *Phone) updateWords(version string) string {
	u := &p.s.update
	why := cmp.Or(u.why, "failed")
	switch u.state {
	case UpdateRolledBack:
		why, version = "rolled_back", cmp.Or(u.rec.Refused, version)
	case UpdateLoopStopped:
		why = "loop_stopped"
	}
	return strings.ReplaceAll(p.model.Vendor.Update.Reasons[why], "{version}", version)
}

// UpdateCheck checks for firmware now.
func (p *Phone) UpdateCheck() error {
	return p.doErr(func() error {
		if len(p.updateSources()) == 0 {
			return errorf(ErrNoUpdate, "no update service configured")
		}
		if !p.updateEnabled() {
			return errorf(ErrNoUpdate, "device update is disabled by policy")
		}
		if p.s.update.state == UpdateLoopStopped {
			return errorf(ErrNoUpdate, "%s", p.s.update.err)
		}
		p.updateCheck("manual")
		return nil
	})
}

// UpdateNow is the Update softkey: download, verify, install and reboot at
// once, whatever the idle rule (never during a call).
func (p *Phone) UpdateNow() error { return p.doErr(p.updateNow) }

func (p *Phone) updateNow() error {
	u := &p.s.update
	if p.s.call != CallIdle {
		return errorf(ErrBusy, "cannot update: the phone is %s", p.s.call)
	}
	if u.state == UpdateLoopStopped {
		return errorf(ErrNoUpdate, "%s", u.err)
	}
	if u.working {
		return nil
	}
	u.installNow = true
	if u.offer == nil {
		if len(p.updateSources()) == 0 {
			u.installNow = false
			return errorf(ErrNoUpdate, "no update service configured")
		}
		p.updateCheck("manual")
		return nil
	}
	p.startDownload()
	return nil
}

// UpdatePostpone is the Postpone softkey.
func (p *Phone) UpdatePostpone() error { return p.doErr(p.updatePostpone) }

func (p *Phone) updatePostpone() error {
	u := &p.s.update
	up := p.model.Vendor.Update
	if u.offer == nil || u.state != UpdateAvailable {
		return errorf(ErrNoUpdate, "no update offered")
	}
	if u.rec.Postponed != u.offer.version {
		u.rec.Postponed, u.rec.Postpones = u.offer.version, 0
	}
	if u.rec.Postpones >= up.MaxPostpones {
		p.showAlert("The update cannot be postponed again")
		return errorf(ErrNoUpdate, "update to %s already postponed %s", u.offer.version, count(u.rec.Postpones, "time", "times"))
	}
	u.rec.Postpones++
	if err := p.saveUpdateRecord(u.rec); err != nil {
		p.logf("update", "err", "update", "%v", err)
	}
	u.state = UpdatePostponed
	p.s.update.idle.stop()
	p.logf("update", "info", "update", "update to %s postponed (%d of %d) for %v", u.offer.version, u.rec.Postpones, up.MaxPostpones, up.PostponeFor)
	p.tm.start(&p.s.update.postpone, up.PostponeFor, func() {
		if p.s.update.state == UpdatePostponed {
			p.s.update.state = UpdateAvailable
			p.s.update.offeredAt = p.clock.Now()
			p.armIdleInstall()
		}
	})
	return nil
}

// updateOffered tells the render to show the offer screen: a vendor that
// asks, an offer not put off, nothing else on the screen.
func (p *Phone) updateOffered() bool {
	return p.model.Vendor.Update.Ask && p.s.update.state == UpdateAvailable && p.s.call == CallIdle && p.s.prompt == nil
}

// updateLines are the idle screen's lines about the update.
func (p *Phone) updateLines() []Line {
	u := &p.s.update
	v := ""
	if u.offer != nil {
		v = u.offer.version
	}
	switch u.state {
	case UpdateAvailable:
		if p.model.Vendor.Update.Ask || v != "" {
			return []Line{{Text: strings.ReplaceAll(p.model.Vendor.Update.Offer, "{version}", v)}}
		}
	case UpdateDownloading:
		return []Line{{Text: fmt.Sprintf("Downloading %s: %d%%", v, u.progress)}}
	case UpdateVerifying:
		return []Line{{Text: "Verifying firmware " + v}}
	case UpdateInstalling, UpdateRebooting:
		return []Line{{Text: "Installing firmware " + v}}
	case UpdateFailed, UpdateRolledBack, UpdateLoopStopped:
		return []Line{{Text: p.updateWords(v)}}
	}
	return nil
}

// updateVersion is the version the update status is about.
func (p *Phone) updateVersion() string {
	u := &p.s.update
	switch {
	case u.offer != nil:
		return u.offer.version
	case u.rec.Trial != nil:
		return u.rec.Trial.Version
	}
	return ""
}

// reportUpdate shows why a softkey's update request was refused.
func (p *Phone) reportUpdate(err error) {
	if err != nil {
		p.logf("update", "info", "update", "%v", err)
	}
}
