package phone

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/deskphone/deskphone/certs"
	"github.com/deskphone/deskphone/internal/atomicfile"
	"github.com/deskphone/deskphone/internal/labdir"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/statedir"
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
	img, problems := loadImage(*p.booted.Load(), p.state, p.model, p.lab)
	cfg := p.s.cfg
	cfg.Account = keptAccount(&p.s)
	reboots := p.s.reboots
	p.s = machine{
		cfg:     cfg,
		fw:      img.fw,
		cas:     img.cas,
		session: bootSession(p, img.fw),
		gw:      bootGateway(p, p.s.gw, cfg.Provisioning),
		policy:  newPolicy(&p.env, (*phoneHost)(p), p.dialTimeout),
		calls:   calls{p: p},
		bootAt:  p.clock.Now(),
		reboots: reboots,
	}
	p.s.settings = settings{cfg: &p.s.cfg, env: &p.env}
	p.s.menu, p.s.entry = inputParts(p)
	p.booted.Store(&img)
	if updDamaged {
		p.s.damaged.add(update.File)
	}
	p.s.policy.load()
	p.s.history = loadHistory(&p.env, p.model.Vendor)
	p.s.lock = newLock(&p.env, (*phoneHost)(p), img.fw, p.model.Vendor, p.s.policy.lock)
	p.s.lock.booted()
	p.s.policy.armPowerSave()
	for _, line := range p.model.Vendor.Boot {
		p.logf("boot", "info", "boot", "%s", p.expand(line))
	}
	for _, pr := range problems {
		p.logf(pr.event, "err", pr.event, "%s", pr.msg)
	}
	if err := recordBootedRoots(p.state, p.s.cas); err != nil {
		p.logf("ca", "warn", "ca", "%v", err)
	}
	p.logf("ca", "info", "ca", "%s", count(countActive(p.s.cas.List()), "trusted root certificate", "trusted root certificates"))
	for _, note := range p.mediaNotes {
		p.logf("media", "notice", "media", "%s", note)
	}
	startGateway(p)
	p.startLine()
	p.upd.Booted(p.s.fw, p.s.bootAt)
	p.tick()
}

// damagedFiles are the state files this boot found damaged and worked
// around (status state_damaged); whoever finds one says so in the syslog.
type damagedFiles []string

// add records that the state file name is damaged.
func (d *damagedFiles) add(name string) {
	if !slices.Contains(*d, name) {
		*d = append(*d, name)
	}
}

// repaired is the end of add: the file was set aside.
func (d *damagedFiles) repaired(name string) {
	*d = slices.DeleteFunc(*d, func(n string) bool { return n == name })
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
func loadImage(cur image, state *statedir.Dir, model *catalog.Model, lab *labdir.Dir) (image, []bootProblem) {
	var problems []bootProblem
	fwProblem := func(format string, args ...any) {
		problems = append(problems, bootProblem{"firmware", fmt.Sprintf(format, args...)})
	}
	img := cur
	slots, err := state.LoadFirmware()
	if err != nil {
		fwProblem("firmware slots: %v; booting %s", err, cur.fw.Version)
	} else if fw, err := model.FirmwareVersion(slots.Active); err == nil {
		img.fw = fw
	} else if fw, berr := model.FirmwareVersion(slots.Backup); slots.Backup != "" && berr == nil {
		fwProblem("active firmware: %v; booting the backup %s", err, fw.Version)
		img.fw = fw
	} else {
		fwProblem("active firmware: %v; booting %s", err, cur.fw.Version)
	}
	cas, err := certs.OpenStoreIn(lab, state.Path, img.fw.FactoryRoots)
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

func recordBootedRoots(state *statedir.Dir, cas *certs.Store) error {
	var fps []string
	for _, e := range cas.List() {
		if e.Active {
			fps = append(fps, e.Fingerprint)
		}
	}
	data, err := json.Marshal(fps)
	if err != nil {
		return fmt.Errorf("booted roots: %w", err)
	}
	path := filepath.Join(state.Path, BootedRootsFile)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("booted roots: %w", err)
	}
	return atomicfile.Write(path, data, 0o600)
}
