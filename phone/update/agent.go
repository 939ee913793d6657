// Package update is a phone's firmware update agent. The phone has two
// firmware slots in its state directory (firmware/slot-a.img, slot-b.img):
// the running image and the backup. The agent checks the update
// authorities at power-on, after sign-in and every 24 h on the phone's
// clock; an offered version is verified against the update root the
// firmware ships (TUF), downloaded into the spare slot when the phone has
// been idle long enough (or at once on Now), and booted on trial: the new
// firmware must register within the vendor's trial time, or the next boot
// goes back to the previous slot. What must survive a reboot or a crash is
// in update.json, replaced atomically, and every step is ordered so that a
// kill at any instant leaves a firmware that was verified in the active
// slot.
//
// The agent runs on the phone's loop behind a narrow environment (Env):
// the phone tells it what happens (a boot, an input, a policy change, the
// end of every task) and answers the few facts it acts on (a call, the
// idle screen, the policy), so it never reads the phone's state.
package update

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/internal/labdir"
	"github.com/deskphone/deskphone/phone/agenttimer"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/statedir"
)

// checkEvery is the polling interval of the update check.
const checkEvery = 24 * time.Hour

// Sources of firmware a phone may be told about.
const (
	sourceInBand       = "update service"
	sourceProvisioning = "provisioning server"
)

// Env is what the agent needs of the phone it runs in. The agent runs on
// the phone's loop, and every func but Do and Go is called there.
type Env interface {
	Clock() clock.Clock
	// Log writes a syslog line of the update event.
	Log(level, msg string)
	// Do runs f on the loop and returns once it ran; it fails once the
	// phone is closing. The agent's work hands its results back with it.
	Do(f func()) error
	// Go runs f off the loop under the phone's lifetime: ctx ends when the
	// phone closes, and Close waits for f.
	Go(f func(ctx context.Context))
	// After runs f on the loop after d, unless stop is called first (or
	// the phone boots or ends).
	After(d time.Duration, f func()) (stop func())
	// Hold counts work in flight, so a runner on virtual time waits for it.
	Hold() (release func())
	// Reboot boots the firmware in the active slot; the boot calls Boot
	// and Booted again, so the agent does nothing more after it.
	Reboot()
	// Alert shows a transient message on the screen.
	Alert(msg string)
	// Call is the state of the call in progress, "" with none.
	Call() string
	// Idle reports the phone idle enough to install: no call, no menu.
	Idle() bool
	// Policy is what the in-band policy says: EnableDeviceUpdate, and the
	// update service the in-band provisioning names.
	Policy() (enabled bool, service string)
	// TLS is the client configuration for an authority at host: the
	// phone's CA store, the firmware's TLS versions, validity on the
	// phone's clock, as for SIP.
	TLS(host string) *tls.Config
}

// Config is the agent's part of the phone's configuration, fixed for the
// phone's life.
type Config struct {
	Model    *catalog.Model
	State    *statedir.Dir
	Identity statedir.Identity
	Lab      *labdir.Dir // where the update roots are; nil: the default lab
	// Service is the in-band update service given at start; it wins over
	// the one the in-band provisioning names.
	Service string
	// Provisioning is a provisioning server that offers firmware too: a
	// second update authority.
	Provisioning string
	// Off is a phone provisioned without device update.
	Off bool
	// StateLimit caps the bytes the state directory may hold; 0 is no cap.
	StateLimit int64
}

// Agent is the update agent of one phone.
type Agent struct {
	cfg Config
	env Env
	// boots counts Boot calls: work set off before a reboot finds it
	// moved on and drops its result.
	boots  int
	fw     *catalog.Firmware // the firmware this boot runs
	bootAt time.Time
	s      state
}

// state is what the agent knows of one boot; Boot starts it afresh.
type state struct {
	// poll checks for firmware; trial ends a new firmware's trial boot;
	// idle waits for the phone to be idle to install; postpone ends a
	// postponement.
	poll, trial, idle, postpone timer
	state                       State
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
	rec        record
	notes      []string // what the boot decided, for the syslog
}

// New makes the agent of a phone; it does nothing until Boot.
func New(cfg Config, env Env) *Agent {
	cfg.Service = strings.TrimSuffix(cfg.Service, "/")
	cfg.Provisioning = strings.TrimSuffix(cfg.Provisioning, "/")
	return &Agent{cfg: cfg, env: env, s: state{state: None}}
}

// timer is one of the agent's timers; its zero value is stopped.
type timer = agenttimer.Timer

// start (re)starts t: f runs on the loop after d on the phone's clock.
func (a *Agent) start(t *timer, d time.Duration, f func()) { t.Start(a.env.After, d, f) }

func (a *Agent) logf(level, format string, args ...any) {
	a.env.Log(level, fmt.Sprintf(format, args...))
}

// work runs f off the loop under the phone's lifetime, holding the
// in-flight tracker until f ends; post hands a result to the loop, where
// it is dropped if the phone rebooted since.
func (a *Agent) work(f func(ctx context.Context, post func(func()))) {
	boots := a.boots
	release := a.env.Hold()
	post := func(g func()) {
		_ = a.env.Do(func() {
			if a.boots == boots {
				g()
			}
		})
	}
	a.env.Go(func(ctx context.Context) {
		defer release()
		f(ctx, post)
	})
}

// Boot runs before a boot reads the firmware slots: a firmware on trial
// that already had its boot and never came up is rolled back to the
// previous slot, and an install cut short is forgotten. It reports
// whether update.json was damaged (the boot goes on without it).
func (a *Agent) Boot() (damaged bool) {
	a.boots++
	for _, t := range []*timer{&a.s.poll, &a.s.trial, &a.s.idle, &a.s.postpone} {
		t.Stop()
	}
	a.s = state{state: None}
	a.s.rec, a.s.notes, damaged = a.rollback()
	switch a.s.rec.Result {
	case "rolled-back":
		a.s.state, a.s.err = RolledBack, a.s.rec.Error
	case "loop-stopped":
		a.s.state, a.s.err = LoopStopped, a.s.rec.Error
	}
	return damaged
}

// Booted runs once a boot has brought the phone's parts up on fw: it
// reports what the boot decided, starts the trial of a new firmware and
// checks for firmware (power-on), then every 24 h.
func (a *Agent) Booted(fw *catalog.Firmware, at time.Time) {
	a.fw, a.bootAt = fw, at
	u := &a.s
	for _, n := range u.notes {
		a.logf("warn", "%s", n)
	}
	u.notes = nil
	if t := u.rec.Trial; t != nil {
		trialFor := a.cfg.Model.Vendor.Update.TrialFor
		a.logf("notice", "firmware %s on trial in slot %s: it must register within %v", t.Version, u.rec.Slot, trialFor)
		a.start(&u.trial, trialFor, a.trialExpired)
	}
	a.Check("power-on")
	a.scheduleCheck()
}

func (a *Agent) scheduleCheck() {
	a.start(&a.s.poll, checkEvery, func() {
		a.Check("daily")
		a.scheduleCheck()
	})
}

// AfterTask runs after every task of the phone's loop. A call is activity:
// the idle time counts from its end. up says the phone registered or
// signed in: a firmware on trial is then marked good, and the first time
// of a boot it triggers a check.
func (a *Agent) AfterTask(up bool) {
	u := &a.s
	if a.env.Call() != "" {
		u.lastInput = a.env.Clock().Now()
	}
	if !up {
		return
	}
	if t := u.rec.Trial; t != nil {
		u.rec.Trial = nil
		if err := a.save(u.rec); err != nil {
			a.logf("err", "%v", err)
		}
		u.trial.Stop()
		a.logf("notice", "firmware %s came up in slot %s: marked good, %s kept as the backup", t.Version, u.rec.Slot, t.Previous)
	}
	if !u.signedIn {
		u.signedIn = true
		a.Check("sign-in")
	}
}

// Input records a key or softkey for the idle rule.
func (a *Agent) Input() { a.s.lastInput = a.env.Clock().Now() }

// PolicyChanged checks for firmware at the update service the in-band
// provisioning just named, unless one given at start wins.
func (a *Agent) PolicyChanged() {
	if _, service := a.env.Policy(); a.cfg.Service == "" && service != "" {
		a.Check("provisioning")
	}
}

// trialExpired rolls a firmware that did not come up in time back.
func (a *Agent) trialExpired() {
	t := a.s.rec.Trial
	if t == nil {
		return
	}
	a.logf("err", "firmware %s did not register within %v; rolling back to %s", t.Version, a.cfg.Model.Vendor.Update.TrialFor, t.Previous)
	// The next boot sees a trial that already had its boot.
	a.env.Reboot()
}

// enabled is EnableDeviceUpdate of the in-band policy, unless the phone
// was provisioned without device update.
func (a *Agent) enabled() bool {
	on, _ := a.env.Policy()
	return on && !a.cfg.Off
}

// armIdleInstall installs once the phone has been idle (no call, no input)
// for the vendor's idle time, counted from the boot at the earliest.
func (a *Agent) armIdleInstall() {
	idle := a.cfg.Model.Vendor.Update.IdleFor
	wait := idle
	if a.env.Idle() {
		since := a.bootAt
		for _, t := range []time.Time{a.s.lastInput, a.s.offeredAt} {
			if t.After(since) {
				since = t
			}
		}
		wait = idle - a.env.Clock().Now().Sub(since)
	}
	if wait <= 0 {
		a.startDownload()
		return
	}
	a.start(&a.s.idle, wait, func() {
		if a.s.state == Available && a.s.offer != nil {
			a.armIdleInstall()
		}
	})
}

func (a *Agent) failed(err error) {
	u := &a.s
	u.state, u.err, u.why, u.working, u.installNow, u.progress = Failed, err.Error(), problem(err), false, false, 0
	a.logf("err", "update failed: %v", err)
}
