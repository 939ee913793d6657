package phone

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/deskphone/deskphone/certs"
	"github.com/deskphone/deskphone/internal/atomicfile"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/update"
)

// image is the firmware a boot brought up and the CA store it opened with
// that firmware's factory roots. The loop owns the current one (machine.fw,
// machine.cas) and publishes it for readers on other goroutines.
type image struct {
	fw  *catalog.Firmware
	cas *certs.Store
}

// boot starts the firmware in the active slot: every part starts afresh
// from its traits, the settings survive.
func (p *Phone) boot() {
	p.stopLine(true)
	p.tm.stopAll()
	updDamaged := p.upd.Boot()
	img, problems := p.loadImage()
	cfg := p.s.cfg
	reboots := p.s.reboots
	p.s = machine{
		cfg:     cfg,
		fw:      img.fw,
		cas:     img.cas,
		session: p.bootSession(img.fw),
		policy:  newPolicy(p.partEnv(), p, p.dialTimeout),
		calls:   calls{p: p},
		bootAt:  p.clock.Now(),
		reboots: reboots,
	}
	p.s.settings = settings{cfg: &p.s.cfg, env: p.partEnv()}
	p.s.menu, p.s.entry = inputParts(p)
	p.booted.Store(&img)
	if updDamaged {
		p.stateDamaged(update.File)
	}
	p.s.policy.load()
	p.s.lock = newLock(p.partEnv(), p, img.fw, p.model.Vendor, p.s.policy.lock)
	p.s.lock.booted()
	p.s.policy.armPowerSave()
	for _, line := range p.model.Vendor.Boot {
		p.logf("boot", "info", "boot", "%s", p.expand(line))
	}
	for _, pr := range problems {
		p.logf(pr.event, "err", pr.event, "%s", pr.msg)
	}
	if err := p.recordBootedRoots(); err != nil {
		p.logf("ca", "warn", "ca", "%v", err)
	}
	p.logf("ca", "info", "ca", "%s", count(countActive(p.s.cas.List()), "trusted root certificate", "trusted root certificates"))
	for _, note := range p.mediaNotes {
		p.logf("media", "notice", "media", "%s", note)
	}
	p.startLine()
	p.upd.Booted(p.s.fw, p.s.bootAt)
	p.tick()
}

// stateDamaged records that this boot found the state file name damaged,
// for status; the caller says so in the syslog.
func (p *Phone) stateDamaged(name string) {
	if !slices.Contains(p.s.damaged, name) {
		p.s.damaged = append(p.s.damaged, name)
	}
}

// stateRepaired is the end of stateDamaged: the file was set aside.
func (p *Phone) stateRepaired(name string) {
	p.s.damaged = slices.DeleteFunc(p.s.damaged, func(n string) bool { return n == name })
}

func (p *Phone) reboot() {
	p.logf("reboot", "notice", "boot", "restart requested")
	p.s.reboots++
	p.boot()
}

// loadImage reads the firmware slots and opens the CA store with the active
// firmware's factory roots; like the real phones, certificates imported
// since the last boot are trusted from this boot on. What goes wrong is
// returned for the syslog: an active slot the catalog does not know boots
// the backup, and failing that the image already running.
func (p *Phone) loadImage() (image, []bootProblem) {
	var problems []bootProblem
	fwProblem := func(format string, args ...any) {
		problems = append(problems, bootProblem{"firmware", fmt.Sprintf(format, args...)})
	}
	cur := *p.booted.Load()
	img := cur
	slots, err := p.state.LoadFirmware()
	if err != nil {
		fwProblem("firmware slots: %v; booting %s", err, cur.fw.Version)
	} else if fw, err := p.model.FirmwareVersion(slots.Active); err == nil {
		img.fw = fw
	} else if fw, berr := p.model.FirmwareVersion(slots.Backup); slots.Backup != "" && berr == nil {
		fwProblem("active firmware: %v; booting the backup %s", err, fw.Version)
		img.fw = fw
	} else {
		fwProblem("active firmware: %v; booting %s", err, cur.fw.Version)
	}
	cas, err := certs.OpenStoreIn(p.lab, p.state.Path, img.fw.FactoryRoots)
	switch {
	case cas == nil:
		problems = append(problems, bootProblem{"ca", fmt.Sprintf("CA store: %v; keeping the roots of %s", err, cur.fw.Version)})
	case err != nil:
		// A damaged imported file is skipped rather than keeping the phone
		// from booting.
		problems = append(problems, bootProblem{"ca", fmt.Sprintf("CA store: %v", err)})
		img.cas = cas
	default:
		img.cas = cas
	}
	return img, problems
}

// bootProblem is a syslog line about what a boot had to work around.
type bootProblem struct{ event, msg string }

func countActive(entries []certs.Entry) int {
	n := 0
	for _, e := range entries {
		if e.Active {
			n++
		}
	}
	return n
}

// BootedRootsFile lists, in the state directory, the fingerprints of the
// roots the phone trusted at its last boot, so tools can tell an import
// that waits for a reboot from one in use.
const BootedRootsFile = "ca/booted.json"

func (p *Phone) recordBootedRoots() error {
	var fps []string
	for _, e := range p.s.cas.List() {
		if e.Active {
			fps = append(fps, e.Fingerprint)
		}
	}
	data, err := json.Marshal(fps)
	if err != nil {
		return fmt.Errorf("booted roots: %w", err)
	}
	path := filepath.Join(p.state.Path, BootedRootsFile)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("booted roots: %w", err)
	}
	return atomicfile.Write(path, data, 0o600)
}
