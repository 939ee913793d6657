// The phone's side of sign-in: the sign-in part (phone/signin) wired to
// the loop, its actions and its public methods.

package phone

import (
	"context"
	"strings"
	"time"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/signin"
)

// SignIn configures sign-in with an OpenID Connect provider.
type SignIn = signin.Config

// TokensFile holds, in the state directory, the tokens of the signed-in
// user (mode 0600, replaced atomically).
const TokensFile = signin.TokensFile

// Errors of the sign-in part.
var (
	ErrNoSignIn      = signin.ErrNoSignIn
	ErrMethodOffered = signin.ErrMethodOffered
)

// WithSignIn makes the phone sign in with an identity provider: it boots
// signed out (unless it kept tokens) and registers with its access token.
func WithSignIn(s SignIn) Option {
	return func(p *Phone) error {
		if err := s.Check(); err != nil {
			return err
		}
		p.signin = &s
		return nil
	}
}

// bootSession is the sign-in part for a booted firmware. The phone keeps
// one for its life, so an answer of the provider to a request made before
// a reboot is dropped like any stale one.
func bootSession(p *Phone, fw *catalog.Firmware) *signin.Session {
	s := p.s.session
	if s == nil {
		s = signin.New(signin.Env{
			Host:         (*signInHost)(p),
			Dir:          p.state.Path,
			Manufacturer: p.model.Vendor.Name,
			Model:        p.model.Name,
			FailedAlert:  p.model.Vendor.SignIn.Failed,
		}, p.signin)
	}
	s.Boot(signin.Firmware{Version: fw.Version, Offered: fw.SignIn, ClientID: p.model.Vendor.SignIn.ClientIDs[fw.ClientID]})
	return s
}

// SignInWeb starts web sign-in ("web") or sign-in via PC ("pc"), as the
// sign-in screen's softkey does; the code shows in the status once the
// provider gave it.
// On a gateway phone it starts pairing with the gateway, whatever the
// method.
func (p *Phone) SignInWeb(method string) error {
	return p.doErr(func() error {
		if p.s.gw != nil {
			return gatewayErr(p.s.gw.SignIn())
		}
		return p.s.session.Web(signin.Method(method))
	})
}

// SignInPassword signs in with user credentials (the password grant).
func (p *Phone) SignInPassword(user, password string) error {
	return p.doErr(func() error { return p.s.session.Password(user, password) })
}

// SignInPIN signs in with an extension and PIN (on-premises accounts).
func (p *Phone) SignInPIN(extension, pin string) error {
	return p.doErr(func() error { return p.s.session.PIN(extension, pin) })
}

// SignInRetry asks for a new web sign-in code after the last expired (on
// a gateway phone, Back: a new pairing code).
func (p *Phone) SignInRetry() error {
	return p.do(func() {
		if p.s.gw != nil {
			p.s.gw.Back()
			return
		}
		p.s.session.Retry()
	})
}

// SignOut signs out: tokens cleared, registration removed. A gateway
// phone signs out at the gateway and registers as the device again.
func (p *Phone) SignOut() error {
	return p.doErr(func() error {
		if p.s.gw != nil {
			return gatewayErr(p.s.gw.SignOut())
		}
		p.s.session.SignOut(signin.WhySignedOut, signin.ReasonSignedOut)
		return nil
	})
}

// addSignInActions puts the sign-in part's actions into the action table.
func addSignInActions(t *[catalog.ActionCount]func(*Phone)) {
	t[catalog.ActionSignInWeb] = func(p *Phone) { _ = p.s.session.Web("web") }
	t[catalog.ActionSignInPC] = func(p *Phone) { _ = p.s.session.Web("pc") }
	t[catalog.ActionSignInUser] = func(p *Phone) {
		// The user name and password, typed on the keypad.
		if !p.s.session.MayAskCredentials() {
			return
		}
		p.s.menu.close()
		p.s.entry.ask("User name (UPN):", func(user string) {
			p.s.entry.ask("Password:", func(password string) {
				if err := p.s.session.Password(strings.TrimSpace(user), password); err != nil {
					p.logf("signin", "warn", "signin", "%v", err)
				}
			}).secret = true
		})
	}
	t[catalog.ActionSignInPIN] = func(p *Phone) {
		// The extension and PIN, typed on the keypad.
		p.s.menu.close()
		p.s.entry.ask("Extension:", func(ext string) {
			p.s.entry.ask("PIN:", func(pin string) { _ = p.s.session.PIN(ext, pin) }).secret = true
		})
	}
	t[catalog.ActionSignInRetry] = func(p *Phone) { p.s.session.Retry() }
	t[catalog.ActionSignInCancel] = func(p *Phone) { p.s.session.Cancel() }
	t[catalog.ActionSignOut] = func(p *Phone) {
		p.s.menu.close()
		if p.s.gw != nil {
			_ = p.s.gw.SignOut()
			return
		}
		p.s.session.SignOut(signin.WhySignedOut, signin.ReasonSignedOut)
	}
}

// signInHost is the phone as its sign-in session's host (signin.Host).
type signInHost Phone

func (h *signInHost) Clock() clock.Clock { return h.clock }
func (h *signInHost) Log(level, format string, args ...any) {
	(*Phone)(h).logf("signin", level, "signin", format, args...)
}
func (h *signInHost) Go(f func(context.Context)) { h.goWork(f) }
func (h *signInHost) Post(f func()) bool         { return h.post(nil, f) }
func (h *signInHost) Hold() func()               { return h.inflight.Hold() }
func (h *signInHost) AfterFunc(d time.Duration, f func()) func() {
	t := new(timer)
	h.tm.start(t, d, f)
	return t.stop
}
func (h *signInHost) Alert(msg string) { (*Phone)(h).showAlert(msg) }
func (h *signInHost) CloseMenu()       { h.s.menu.close() }
func (h *signInHost) User() string     { return h.s.cfg.Account.User }

// SignedIn registers with the token where there is a SIP server; the
// session is signed in once registered, or at once without.
func (h *signInHost) SignedIn() {
	if h.s.cfg.Account.Server != "" {
		(*Phone)(h).startLine()
		return
	}
	h.s.session.Established()
	h.s.lock.signedIn()
}

func (h *signInHost) Bearer(access string) {
	if l := h.s.line; l != nil {
		l.ua.SetBearer(access)
	}
}

func (h *signInHost) Register() {
	if l := h.s.line; l != nil {
		l.ua.Register(registerExpires)
	}
}

func (h *signInHost) StopLine() { (*Phone)(h).stopLine(true) }

// Ended: what belongs to the session ends with it: an open PIN entry (a
// PIN typed after the session ended would be saved for nobody), a call or
// a number being dialled whose line is gone, the voice messages of the
// user's mailbox.
func (h *signInHost) Ended() {
	h.s.entry.sessionEnded()
	if h.s.line == nil {
		h.s.calls.endAll()
		h.s.mwi = 0
	}
}
