// Package gateway is the phone's side of the Teams SIP Gateway: a phone
// on its vendor's plain SIP firmware whose provisioning URL is a gateway's
// onboards at every boot (POST BASE/device), registers with the account the
// gateway gives it (the device's own while signed out, the user's once
// signed in), pairs with a code the user enters in a browser, signs out,
// and fetches its provisioning again when the cloud says so (a check-sync
// NOTIFY) or its registration is refused.
//
// The Agent runs on the phone's loop behind a narrow Env, as the sign-in
// session does: its HTTP exchanges run off the loop under the phone's
// lifetime, an in-flight hold covers each until its answer has been
// handled on the loop, a generation counter drops the answers of an
// attempt that ended (a reboot, a newer request), and its timers run on
// the phone's clock.
package gateway

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/phone/agenttimer"
	"github.com/deskphone/deskphone/phone/statedir"
)

// State is where the phone stands with the gateway.
type State int

// The gateway states, as the status key gateway names them.
const (
	None State = iota
	Onboarding
	Refused
	SignedOut
	SigningIn
	SignedIn
	Offboarded
)

var stateNames = [...]string{"none", "onboarding", "refused", "signed-out", "signing-in", "signed-in", "offboarded"}

func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return "none"
	}
	return stateNames[s]
}

// Env is what the Agent needs of its phone. It is called on the phone's
// loop, but for Post, which the work Go runs calls to hand a result back.
type Env interface {
	Clock() clock.Clock
	// Log writes a syslog line of the gateway part at level.
	Log(level, format string, args ...any)
	// Go runs f off the loop under the phone's lifetime: the phone's end
	// cancels ctx and waits for f.
	Go(f func(ctx context.Context))
	// Post hands f to the loop, reporting false when the loop has ended.
	Post(f func()) bool
	// Hold keeps virtual time from jumping over an exchange until release.
	Hold() (release func())
	// AfterFunc runs f on the loop after d on the phone's clock, unless
	// stop is called first.
	AfterFunc(d time.Duration, f func()) (stop func())
	// Dir is the state directory gateway.json lives in; Damaged reports a
	// damaged state file by name.
	Dir() *statedir.Dir
	Damaged(name string)
	// Account: the gateway gave the phone an account to register with (a
	// nil one: the phone has none, its line stops).
	Account(a *Account)
	// Alert shows a transient message.
	Alert(msg string)
}

// Device is what the phone tells the gateway of itself.
type Device struct {
	MAC      string // lower-case, colons
	Vendor   string // "AudioCodes"
	Model    string // the catalog model's display name, "430HD"
	Firmware string // the version string
	Mode     string // sip, 3pip or lpe
}

// Agent is the gateway part of one phone.
type Agent struct {
	env    Env
	url    string
	client *http.Client
	dev    Device

	state State
	err   string // why the gateway refused, offboarded or a request failed
	rec   record
	// inUse is the account the line was last given this boot; nil: none.
	inUse *Account
	// gen is bumped at every boot, pairGen whenever a pairing starts or
	// ends, so an answer of an older boot or attempt is dropped.
	gen, pairGen int
	// fetching: a /device request is out; again: another was asked for
	// meanwhile (a check-sync), sent when it is in.
	fetching, again bool
	// refetched: a refused REGISTER already cost one fetch; the next
	// refusal shows. refusal: that fetch is out, and its answer restarts
	// the line whatever the account.
	refetched, refusal bool
	// pair is the pairing code on the screen; nil when none.
	pair *pairCode
	// retry is the back-off of a failed onboarding.
	retry time.Duration
	// poll asks whether the pairing is done; expiry ends its code;
	// refresh fetches the provisioning again (config.poll_seconds), or
	// retries a failed onboarding.
	poll, expiry, refresh timer
	// held is an account given while a call was up (holding: one is),
	// for the phone to apply once it is idle.
	held    *Account
	holding bool
}

// Hold keeps acc, given while a call was up, for TakeHeld: a line changed
// under a call would end it without a word.
func (a *Agent) Hold(acc *Account) { a.held, a.holding = acc, true }

// TakeHeld is the account held for the phone's next idle moment, if any.
func (a *Agent) TakeHeld() (*Account, bool) {
	acc, ok := a.held, a.holding
	a.held, a.holding = nil, false
	return acc, ok
}

// pairCode is a pairing code the gateway gave.
type pairCode struct {
	code, url string
	expires   time.Time
	interval  time.Duration
	expired   bool
}

// Retry bounds of a failed onboarding, and the fetch interval's bounds.
const (
	retryFirst  = 10 * time.Second
	retryMax    = 5 * time.Minute
	pollMin     = time.Minute
	pollMax     = 24 * time.Hour
	defaultPoll = time.Hour
)

// New is the gateway part of a phone whose provisioning URL is url.
func New(env Env, url string) *Agent {
	return &Agent{env: env, url: url, client: &http.Client{Timeout: requestTimeout}}
}

// URL is the provisioning URL the agent onboards with.
func (a *Agent) URL() string { return a.url }

// Boot starts afresh for a booted firmware: every answer still out is
// dropped, the record is read again and the phone onboards.
func (a *Agent) Boot(dev Device) {
	a.stopTimers()
	a.gen++
	a.dev, a.state, a.err, a.pair, a.inUse = dev, Onboarding, "", nil, nil
	a.fetching, a.again, a.refetched, a.refusal, a.retry = false, false, false, false, retryFirst
	a.load()
	if a.rec.State == "offboarded" {
		// Only a factory reset (a fresh state directory) onboards it
		// again; the gateway says so to the old key.
		a.env.Log("notice", "this device was offboarded; onboarding with its old key")
	}
	a.env.Log("info", "onboarding with the SIP Gateway at %s", a.url)
	a.fetch()
}

// State is where the phone stands with the gateway.
func (a *Agent) State() State { return a.state }

// Err is why the gateway refused or offboarded the phone, or why the last
// request failed; "" when all is well.
func (a *Agent) Err() string { return a.err }

// Screens are the sign-in screens the gateway pushed.
func (a *Agent) Screens() Screens { return a.rec.Screens }

// Code is the pairing code on the screen, its address and the time it
// has left; "" when none is shown (or it expired).
func (a *Agent) Code() (code, url string, left time.Duration) {
	pc := a.pair
	if pc == nil || pc.expired {
		return "", "", 0
	}
	return pc.code, pc.url, max(pc.expires.Sub(a.env.Clock().Now()), 0)
}

// Expired reports whether the pairing code ran out (the screen says so
// until Back).
func (a *Agent) Expired() bool { return a.pair != nil && a.pair.expired }

// Pairing reports whether the pairing screen shows (a code, or its
// expiry, or the request for one).
func (a *Agent) Pairing() bool { return a.state == SigningIn }

// DisplayName is the signed-in user's name, "" when none.
func (a *Agent) DisplayName() string {
	if a.state == SignedIn && a.rec.Account != nil {
		return a.rec.Account.DisplayName
	}
	return ""
}

// Number is the signed-in user's number, "" when none.
func (a *Agent) Number() string {
	if a.state == SignedIn && a.rec.Account != nil {
		return a.rec.Account.Number
	}
	return ""
}

// do runs f off the loop under the phone's lifetime, then done with its
// result on the loop, unless the boot (or, for a pairing request, the
// pairing) ended meanwhile. The hold covers the exchange until done ran.
func (a *Agent) do(pairing bool, f func(ctx context.Context) error, done func(error)) {
	gen, pairGen := a.gen, a.pairGen
	release := a.env.Hold()
	a.env.Go(func(ctx context.Context) {
		err := f(ctx)
		if !a.env.Post(func() {
			defer release()
			if a.gen == gen && (!pairing || a.pairGen == pairGen) {
				done(err)
			}
		}) {
			release()
		}
	})
}

// req is the request body of the device now.
func (a *Agent) req(onboard bool) request {
	r := request{MAC: a.dev.MAC, DeviceKey: a.rec.DeviceKey}
	if onboard {
		r.Vendor, r.Model, r.Firmware, r.Mode = a.dev.Vendor, a.dev.Model, a.dev.Firmware, a.dev.Mode
	}
	return r
}

// fetch asks for the device's provisioning (POST BASE/device): onboarding
// at boot, again after a check-sync, a refused registration or a pairing.
// One is out at a time; one asked for meanwhile follows it.
func (a *Agent) fetch() {
	if a.fetching {
		a.again = true
		return
	}
	a.fetching = true
	a.refresh.Stop()
	var prov provisioning
	body := a.req(true)
	a.do(false, func(ctx context.Context) error {
		return post(ctx, a.client, a.url, "/device", body, &prov)
	}, func(err error) {
		a.fetching = false
		a.provisioned(&prov, err)
		if a.again {
			a.again = false
			a.fetch()
		}
	})
}

// provisioned takes the answer of /device or /signout.
func (a *Agent) provisioned(prov *provisioning, err error) {
	if err == nil {
		err = prov.check()
	}
	var ref *refusal
	switch {
	case errors.As(err, &ref) && ref.Status == http.StatusForbidden:
		a.refuse(Refused, ref, "not onboarded")
	case errors.As(err, &ref) && ref.Status == http.StatusConflict:
		a.refuse(Refused, ref, "device in use")
	case errors.As(err, &ref) && ref.Status == http.StatusGone:
		a.rec.State = "offboarded"
		a.save()
		a.refuse(Offboarded, ref, "offboarded")
	case err != nil:
		a.failed(err)
	default:
		a.took(prov)
	}
}

// refuse ends in state s (refused, offboarded): no account, the reason
// shown; the phone tries again at its next boot.
func (a *Agent) refuse(s State, ref *refusal, fallback string) {
	a.stopTimers()
	a.pair = nil
	a.state, a.err = s, ref.Reason
	if a.err == "" {
		a.err = fallback
	}
	a.env.Log("err", "SIP Gateway: %s", a.err)
	a.use(nil)
}

// use gives the line the account acc (nil: none).
func (a *Agent) use(acc *Account) {
	a.inUse = acc
	a.env.Account(acc)
}

// failed: the gateway could not be reached or answered nonsense. The
// phone keeps what it had (an account kept from an earlier boot keeps
// registering) and tries again with a doubling back-off.
func (a *Agent) failed(err error) {
	a.err = err.Error()
	a.env.Log("err", "SIP Gateway: %v (retry in %v)", err, a.retry)
	if (a.inUse == nil || a.refusal) && a.rec.Account != nil {
		// Registering with what the gateway gave before beats no line.
		a.refusal = false
		a.use(a.rec.Account)
	}
	a.start(&a.refresh, a.retry, a.fetch)
	a.retry = min(a.retry*2, retryMax)
}

// took applies a provisioning: the state, the key, the screens and the
// account, saved; the line registers with the account when it changed.
func (a *Agent) took(prov *provisioning) {
	acc := &Account{Server: prov.Registrar.Server, Domain: prov.Registrar.Domain,
		User: prov.Account.User, Password: prov.Account.Password,
		DisplayName: prov.Account.DisplayName, Number: prov.Account.Number}
	differs := a.rec.Account == nil || *a.rec.Account != *acc
	changed := a.inUse == nil || *a.inUse != *acc || a.refusal
	a.refusal = false
	a.rec = record{DeviceKey: prov.DeviceKey, State: prov.State, Account: acc, Screens: prov.Screens}
	a.save()
	a.err, a.retry = "", retryFirst
	was := a.state
	if prov.State == "signed-in" {
		a.state = SignedIn
		a.endPairing()
	} else if a.state != SigningIn {
		a.state = SignedOut
	}
	if was != a.state {
		a.env.Log("notice", "SIP Gateway: %s as %s", a.state, acc.User)
	}
	if differs {
		a.refetched = false
	}
	if changed {
		a.use(acc)
	}
	every := time.Duration(prov.Config.PollSeconds) * time.Second
	if every == 0 {
		every = defaultPoll
	}
	a.start(&a.refresh, min(max(every, pollMin), pollMax), a.fetch)
}

// CheckSync is the cloud's check-sync NOTIFY: fetch the provisioning
// again (a sign-in, sign-out or enrollment happened elsewhere).
func (a *Agent) CheckSync() {
	if a.state == Refused || a.state == Offboarded {
		return
	}
	a.env.Log("info", "check-sync: fetching the provisioning again")
	a.fetch()
}

// RegisterRefused is a REGISTER refused 401 or 403 on the gateway's
// account: the first one fetches the provisioning again before the
// failure shows (true: the phone waits for it); the next shows.
func (a *Agent) RegisterRefused() bool {
	if a.refetched || a.rec.Account == nil {
		return false
	}
	a.refetched, a.refusal = true, true
	a.env.Log("warn", "registration refused: fetching the provisioning again")
	a.fetch()
	return true
}

// Registered: the line is up on the gateway's account; a later refusal
// may cost a fetch again.
func (a *Agent) Registered() { a.refetched = false }

// Stop drops what is out and stops the timers: the phone closes or its
// provisioning URL changed.
func (a *Agent) Stop() {
	a.stopTimers()
	a.gen++
}

func (a *Agent) stopTimers() {
	a.poll.Stop()
	a.expiry.Stop()
	a.refresh.Stop()
}

// timer is one of the agent's timers; its zero value is stopped.
type timer = agenttimer.Timer

// start (re)starts t: f runs on the loop after d on the phone's clock.
func (a *Agent) start(t *timer, d time.Duration, f func()) { t.Start(a.env.AfterFunc, d, f) }
