// The phone's side of the Teams SIP Gateway: the gateway part
// (phone/gateway) wired to the loop, its screens, its actions and status.

package phone

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/internal/gwurl"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/gateway"
	"github.com/deskphone/deskphone/phone/statedir"
)

// GatewayState is where a phone stands with the Teams SIP Gateway.
type GatewayState = gateway.State

// Gateway states (status key gateway).
const (
	GatewayNone       = gateway.None
	GatewayOnboarding = gateway.Onboarding
	GatewayRefused    = gateway.Refused
	GatewaySignedOut  = gateway.SignedOut
	GatewaySigningIn  = gateway.SigningIn
	GatewaySignedIn   = gateway.SignedIn
	GatewayOffboarded = gateway.Offboarded
)

// GatewayFile is the gateway record in the state directory.
const GatewayFile = gateway.File

// WithProvisioningServer sets the phone's provisioning server, what DHCP
// option 66 or 160 gives a real phone. A Teams SIP Gateway URL
// (http://HOST:PORT/REGION[/tenantid/GUID]) is kept in config.json, and
// the phone onboards with it at every boot, this one and the later ones;
// any other URL is a provisioning server that offers firmware too (a
// second update authority, for this run) and clears a kept gateway URL.
func WithProvisioningServer(base string) Option {
	return func(p *Phone) error {
		o := gwOptions(p)
		if gwurl.IsGateway(base) {
			o.provisioning = &base
			return nil
		}
		p.updateCfg.Provisioning = base
		none := ""
		o.provisioning = &none
		return nil
	}
}

// WithMAC gives a fresh state directory the MAC address mac (a directory
// that has an identity keeps its own): a phone the cloud must know in
// advance, as a common-area phone or a bulk sign-in's.
func WithMAC(mac string) Option {
	return func(p *Phone) error { gwOptions(p).mac = mac; return nil }
}

// gatewayOptions are the options about the gateway, kept aside so that a
// phone given none carries one nil pointer.
type gatewayOptions struct {
	provisioning *string // nil: keep config.json's
	mac          string
}

// gwOptions are the phone's gateway options, made on first use.
func gwOptions(p *Phone) *gatewayOptions {
	if p.gwOpts == nil {
		p.gwOpts = &gatewayOptions{}
	}
	return p.gwOpts
}

// bootGateway is the gateway part for this boot, nil unless the phone's
// provisioning URL is a gateway's. The phone keeps one agent while its
// URL stays, so an answer to a request made before a reboot is dropped.
func bootGateway(p *Phone, old *gateway.Agent, url string) *gateway.Agent {
	if !gwurl.IsGateway(url) {
		if old != nil {
			old.Stop()
		}
		return nil
	}
	if old != nil && old.URL() == url {
		return old
	}
	if old != nil {
		old.Stop()
	}
	return gateway.New((*gatewayHost)(p), url)
}

// startGateway onboards at boot: the statedir account waits aside (saves
// keep it) while the gateway's is in force.
func startGateway(p *Phone) {
	gw := p.s.gw
	if gw == nil {
		return
	}
	kept := p.s.cfg.Account
	p.s.settings.kept = &kept
	p.s.cfg.Account = statedir.Account{}
	gw.Boot(gateway.Device{MAC: p.id.MAC, Vendor: p.model.Vendor.Name, Model: p.model.Name,
		Firmware: p.s.fw.Version, Mode: p.s.fw.Mode})
}

// keptAccount is the statedir account for a new boot: the one a gateway
// set aside, else the one in force.
func keptAccount(s *machine) statedir.Account {
	if s.settings.kept != nil {
		return *s.settings.kept
	}
	return s.cfg.Account
}

// addGatewayActions puts the gateway's actions into the action table.
func addGatewayActions(t *[catalog.ActionCount]func(*Phone)) {
	t[catalog.ActionGatewaySignIn] = func(p *Phone) {
		if p.s.gw != nil {
			_ = p.s.gw.SignIn()
		}
	}
	t[catalog.ActionGatewayBack] = func(p *Phone) {
		if p.s.gw != nil {
			p.s.gw.Back()
		}
	}
}

// gatewayErr words an agent's refusal as the phone's errors.
func gatewayErr(err error) error {
	if err == nil {
		return nil
	}
	return &phoneError{msg: err.Error(), kind: ErrNoSignIn, cause: err}
}

// gatewayScreen is the gateway screen to show (a GatewayScreens name), ""
// when none: signed in, with no gateway, or while a call is up.
func gatewayScreen(p *Phone) string {
	gw := p.s.gw
	if gw == nil || !p.s.calls.idle() {
		return ""
	}
	switch gw.State() {
	case gateway.Onboarding:
		return "onboarding"
	case gateway.Refused:
		if p.s.cfg.Account.User != "" {
			return "" // the account it had is in force
		}
		return "refused"
	case gateway.Offboarded:
		return "offboarded"
	case gateway.SignedOut:
		return "signed_out"
	case gateway.SigningIn:
		if gw.Expired() {
			return "expired"
		}
		return "pairing"
	}
	return ""
}

// renderGateway fills the gateway screen name: the gateway's own lines of
// the signed-out and pairing screens when it pushed them, else the
// vendor's; {url}, {code}, {expires} and {reason} filled.
func renderGateway(s *Screen, name string, p *Phone) {
	ui, gw := &p.model.Vendor.Gateway, p.s.gw
	s.Title = ui.Title
	var lines []string
	switch name {
	case "onboarding":
		lines = ui.Onboarding
	case "refused":
		lines = ui.Refused
	case "offboarded":
		lines = ui.Offboarded
	case "expired":
		lines = ui.Expired
	case "signed_out":
		lines = ui.SignedOut
		if pushed := gw.Screens().SignedOut; len(pushed) > 0 {
			lines = pushed
		}
		if e := gw.Err(); e != "" {
			lines = append(lines[:len(lines):len(lines)], e)
		}
	case "pairing":
		lines = ui.Pairing
		if pushed := gw.Screens().Pairing; len(pushed) > 0 {
			lines = pushed
		}
		if code, _, _ := gw.Code(); code == "" {
			lines = ui.Onboarding
		}
	}
	for _, l := range lines {
		for _, w := range wrapText(expandWith(l, gatewayVars(gw)), s.Columns-2) {
			s.Lines = append(s.Lines, Line{Text: w})
		}
	}
}

// gatewayIdleLines are the idle screen's lines of a signed-in user (the
// number); none without a gateway or a user.
func gatewayIdleLines(p *Phone) []Line {
	gw := p.s.gw
	if gw == nil || gw.State() != gateway.SignedIn {
		return nil
	}
	var out []Line
	for _, l := range p.model.Vendor.Gateway.SignedIn {
		if t := strings.TrimSpace(expandWith(l, gatewayVars(gw))); t != "" {
			out = append(out, Line{Text: t})
		}
	}
	return out
}

// gatewayVars are the values of the gateway's placeholders.
func gatewayVars(gw *gateway.Agent) func(string) (string, bool) {
	code, url, left := gw.Code()
	return func(v string) (string, bool) {
		switch v {
		case "url":
			return url, true
		case "code":
			return code, true
		case "expires":
			if left <= 0 {
				return "", true
			}
			return fmt.Sprint(int((left + time.Minute - 1) / time.Minute)), true
		case "reason":
			return gw.Err(), true
		case "name":
			return gw.DisplayName(), true
		case "number":
			return gw.Number(), true
		}
		return "", false
	}
}

// gatewayStatus fills the status keys of the gateway.
func gatewayStatus(p *Phone, s *Status) {
	gw := p.s.gw
	if gw == nil {
		return
	}
	s.Gateway, s.GatewayError = gw.State(), gw.Err()
	if code, u, left := gw.Code(); code != "" {
		s.PairingCode, s.PairingURL, s.PairingExpiresIn = code, u, int(left/time.Second)
	}
}

// gatewayHost is the phone as its gateway part's environment
// (gateway.Env).
type gatewayHost Phone

func (h *gatewayHost) Clock() clock.Clock { return h.clock }
func (h *gatewayHost) Log(level, format string, args ...any) {
	(*Phone)(h).logf("gateway", level, "gateway", format, args...)
}
func (h *gatewayHost) Go(f func(context.Context)) { h.goWork(f) }
func (h *gatewayHost) Post(f func()) bool         { return h.post(nil, f) }
func (h *gatewayHost) Hold() func()               { return h.inflight.Hold() }
func (h *gatewayHost) AfterFunc(d time.Duration, f func()) func() {
	t := new(timer)
	h.tm.start(t, d, f)
	return t.stop
}
func (h *gatewayHost) Dir() *statedir.Dir  { return h.state }
func (h *gatewayHost) Damaged(name string) { h.s.damaged.add(name) }
func (h *gatewayHost) Alert(msg string)    { (*Phone)(h).showAlert(msg) }

// Account registers the line with the gateway's account (none: the line
// stops); the statedir account stays aside.
func (h *gatewayHost) Account(a *gateway.Account) {
	p := (*Phone)(h)
	if !p.s.calls.idle() {
		p.s.gw.Hold(a) // applied once the calls end (applyHeldAccount)
		return
	}
	p.s.gw.TakeHeld() // this one supersedes what waited
	p.stopLine(true)
	p.s.cfg.Account = statedir.Account{}
	if a == nil {
		if k := p.s.settings.kept; k != nil && k.User != "" && p.s.gw.State() == gateway.Refused && p.s.fw.Mode != catalog.ModeSIP {
			// Skype for Business firmware the gateway will not have
			// goes on with the sign-in it had.
			p.s.cfg.Account = *k
			p.startLine()
		}
		return
	}
	p.s.cfg.Account = statedir.Account{Server: a.Server, User: a.User, Password: a.Password,
		Domain: a.Domain, DisplayName: a.DisplayName}
	p.startLine()
}

// applyHeldAccount gives the line the account the gateway gave during a
// call, once the phone is idle; after every task.
func applyHeldAccount(p *Phone) {
	if gw := p.s.gw; gw != nil && p.s.calls.idle() {
		if acc, ok := gw.TakeHeld(); ok {
			(*gatewayHost)(p).Account(acc)
		}
	}
}
