package phone

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/deskphone/deskphone/internal/inflight"
	"github.com/deskphone/deskphone/media"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/signin"
	"github.com/deskphone/deskphone/phone/sipua"
	"github.com/deskphone/deskphone/phone/statedir"
)

// Registration timing. The phone refreshes at 80 % of the granted time and
// retries a failed registration with a doubling back-off, so a server that
// is down or a wrong password never causes a retry storm.
const (
	registerExpires = time.Hour
	retryFirst      = 5 * time.Second
	retryMax        = 5 * time.Minute
	mwiExpires      = time.Hour
	// keepAliveBound is RFC 5626's upper bound for the CRLF ping interval
	// on TLS and TCP when the registrar gives no Flow-Timer (section
	// 4.4.1).
	keepAliveBound = 120 * time.Second
)

// line is the phone's SIP account and the UA that serves it; loop-owned.
type line struct {
	ua SIPLine
	// stop ends event delivery from this UA before it is closed, so a UA
	// goroutine blocked on handing over an event never waits on a loop that
	// is waiting for it.
	stop chan struct{}

	registered bool
	regError   string
	tlsVersion uint16
	retry      time.Duration
	flowTimer  time.Duration // the registrar's Flow-Timer, 0 when it gave none

	// reg refreshes or retries the registration; keepalive pings the
	// server while registered.
	reg, keepalive timer

	env *partEnv
	// jitter is the phone's register jitter (WithRegisterJitter).
	jitter float64
	// retired: the phone has let this line go; its timers do nothing.
	retired bool
	on      lineEvents
}

// lineEvents are what the line tells the phone: the registration is up
// or lost, the registrar refused the access token (the phone says whether
// it tries a fresh one), and what the UA reports that belongs to other
// parts: a pushed policy, the voice messages, a call's event. The phone
// hears them as its parts' host (phoneHost).
type lineEvents interface {
	lineUp()
	lineLost()
	tokenRefused(reason string) bool
	// endOfLife: the registrar refused the firmware (3PIP end of life);
	// the phone says whether a signed-in session took it over.
	endOfLife(reason string) bool
	policyPushed(body []byte)
	messageWaiting(ev sipua.MessageWaiting)
	callEvent(ev sipua.Event)
	// accountRefused: the registrar refused the account (401, 403); true
	// when the phone fetches its provisioning first and the failure waits.
	accountRefused() bool
	// checkSync: the cloud said to fetch the provisioning again.
	checkSync()
}

// WithAccount sets the SIP account the phone registers with, saved in its
// configuration.
func WithAccount(a statedir.Account) Option {
	return func(p *Phone) error {
		if a.Server == "" || a.User == "" {
			return errors.New("account needs a server and a user")
		}
		if _, _, err := sipua.ParseServer(a.Server); err != nil {
			return err
		}
		p.account = &a
		return nil
	}
}

// WithInflight shares a scenario's in-flight tracker with the phone: its
// UA's requests, the messages it acts on and the events its loop has not
// yet run are counted there, so virtual time never passes them by.
func WithInflight(t *inflight.Tracker) Option {
	return func(p *Phone) error { p.inflight = t; return nil }
}

// WithClientCertificate presents a client certificate in the TLS handshake
// (mutual TLS), loaded from PEM files.
func WithClientCertificate(certFile, keyFile string) Option {
	return func(p *Phone) error {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return fmt.Errorf("client certificate: %w", err)
		}
		p.clientCert = &cert
		return nil
	}
}

// WithKeyLog writes the TLS secrets of the phone's connections to w in the
// NSS key log format, for Wireshark.
func WithKeyLog(w io.Writer) Option {
	return func(p *Phone) error { p.keyLog = w; return nil }
}

// WithRegisterJitter spreads the phone's timers, for fleets: each
// registration back-off wait is shortened by a random part of up to frac of
// it, and a lost connection is registered again after a random wait of up
// to frac of the first back-off, so phones that lost their server together
// do not come back together. Keep-alives take a random point of RFC 5626's
// last fifth of their period, and the clock on the screen turns over at a
// random point of the minute's first second, so that ten thousand phones
// do not all wake at once. Without it the waits are exact.
func WithRegisterJitter(frac float64) Option {
	return func(p *Phone) error {
		if frac < 0 || frac > 1 {
			return fmt.Errorf("register jitter %v: must be 0 to 1", frac)
		}
		p.regJitter = frac
		if frac > 0 {
			p.tickOffset = time.Duration(rand.Int64N(int64(time.Second))).Truncate(time.Millisecond)
		}
		return nil
	}
}

// jitterOf is a random part of d of up to frac.
func jitterOf(frac float64, d time.Duration) time.Duration {
	if frac <= 0 {
		return 0
	}
	return time.Duration(rand.Float64() * frac * float64(d)).Round(time.Millisecond)
}

var tlsVersions = map[string]uint16{"1.0": tls.VersionTLS10, "1.1": tls.VersionTLS11, "1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13}

func tlsName(v uint16) string {
	for name, n := range tlsVersions {
		if n == v {
			return name
		}
	}
	return ""
}

// startLine creates the UA for the configured account and registers. It
// runs at boot, so a reboot picks up a changed CA store.
func (p *Phone) startLine() {
	p.stopLine(false)
	a := p.s.cfg.Account
	bearer := ""
	if s := p.s.session; s.Configured() {
		if s.Tokens() == nil && !s.Restore(a.Server != "") {
			return
		}
		a.User, a.Password, bearer = s.Tokens().User, "", s.Tokens().Access
	}
	if a.Server == "" || a.User == "" {
		return
	}
	uri, transport, err := sipua.ParseServer(a.Server)
	if err != nil {
		p.logf("sip", "err", "sip", "%s", err)
		p.s.session.End(signin.WhyLineFailed, err.Error())
		return
	}
	cfg := sipua.Config{
		Server: a.Server, User: a.User, Password: a.Password, Domain: a.Domain,
		DisplayName: a.DisplayName,
		UserAgent:   fmt.Sprintf("%s %s/%s", p.model.Vendor.Name, p.model.Name, p.s.fw.Version),
		Media:       p.media,
		Clock:       p.clock,
		Inflight:    p.inflight,
		Bearer:      bearer,
	}
	if p.source != "" {
		spec := p.source
		cfg.Source = func() media.Source {
			src, err := ParseSource(spec)
			if err != nil {
				return nil // checked by WithAudioSource; a WAV gone since means silence
			}
			return src
		}
	}
	if transport == "tls" {
		conf := p.s.cas.ClientConfig(uri.Host, tlsVersions[p.s.fw.TLSMin], tlsVersions[p.s.fw.TLSMax])
		conf.KeyLogWriter = p.keyLog
		// Certificates expire on the phone's clock, not the host's.
		conf.Time = p.clock.Now
		if p.clientCert != nil {
			conf.Certificates = []tls.Certificate{*p.clientCert}
		}
		cfg.TLS = conf
	}
	l := &line{stop: make(chan struct{}), retry: retryFirst, env: &p.env, jitter: p.regJitter, on: (*phoneHost)(p)}
	ua, err := p.newLine(cfg, func(ev sipua.Event) {
		// Held from the UA's hand-over until the loop has run it.
		release := p.inflight.Hold()
		if !p.post(l.stop, func() { defer release(); l.onSIP(ev) }) {
			release()
		}
	})
	if err != nil {
		p.logf("sip", "err", "sip", "%s", err)
		p.s.session.End(signin.WhyLineFailed, err.Error())
		return
	}
	// The policy's codec order from the first call on, as status shows it.
	ua.SetCodecOrder(p.s.policy.codecs)
	l.ua = ua
	p.s.line = l
	p.ua.Store(&ua)
	if bearer == "" {
		p.s.session.Start(signin.Provisioned)
	} else {
		p.s.session.Start(p.s.session.Method())
	}
	p.logf("sip", "info", "sip", "registering %s at %s", a.User, a.Server)
	ua.Register(registerExpires)
}

// unregisterTimeout bounds the sign-out REGISTER of a retiring UA.
const unregisterTimeout = 2 * time.Second

// stopLine retires the UA; with unregister it first removes the
// registration (sign-out, shutdown). The loop moves on at once: the old UA
// unregisters and closes on a goroutine of its own, bounded by
// unregisterTimeout, whose outcome goes to the syslog. Only a phone that is
// closing waits for it, so Close leaves nothing running.
func (p *Phone) stopLine(unregister bool) {
	l := p.s.line
	if l == nil {
		return
	}
	p.s.line = nil
	p.ua.Store(nil)
	l.retired = true
	l.reg.stop()
	l.keepalive.stop()
	close(l.stop)
	unregister = unregister && l.registered
	release := p.inflight.Hold()
	retired := make(chan struct{})
	go func() {
		defer close(retired)
		defer release()
		if unregister {
			ctx, cancel := context.WithTimeout(context.Background(), unregisterTimeout)
			err := l.ua.Unregister(ctx)
			cancel()
			if err != nil {
				p.post(nil, func() { p.logf("sip", "warn", "sip", "unregister: %v", err) })
			}
		}
		l.ua.Close()
	}()
	select {
	case <-p.closed:
		<-retired
	default:
	}
}

// The phone as the line's listener.

func (h *phoneHost) lineUp() {
	if h.s.gw != nil {
		h.s.gw.Registered()
	}
	if h.s.session.Established() {
		h.s.lock.signedIn()
	}
}
func (h *phoneHost) accountRefused() bool { return h.s.gw != nil && h.s.gw.RegisterRefused() }
func (h *phoneHost) checkSync() {
	if h.s.gw != nil {
		h.s.gw.CheckSync()
	}
}
func (h *phoneHost) lineLost()                       { h.s.session.Lost() }
func (h *phoneHost) tokenRefused(reason string) bool { return h.s.session.TokenRefused(reason) }
func (h *phoneHost) endOfLife(reason string) bool    { return h.s.session.EndOfLife(reason) }
func (h *phoneHost) callEvent(ev sipua.Event)        { h.s.calls.onSIP(ev) }
func (h *phoneHost) messageWaiting(ev sipua.MessageWaiting) {
	h.s.mwi = ev.New
	if !ev.Waiting {
		h.s.mwi = 0
	}
}

// onSIP is the line's reaction to its UA; what belongs to other parts goes
// on to them.
func (l *line) onSIP(ev sipua.Event) {
	if l.retired {
		return
	}
	switch ev := ev.(type) {
	case sipua.Registered:
		l.registeredFor(ev)
	case sipua.RegisterFailed:
		l.registerFailed(ev)
	case sipua.PolicyPushed:
		l.on.policyPushed(ev.Body)
	case sipua.CheckSync:
		l.on.checkSync()
	case sipua.FlowChanged:
		if l.registered {
			l.env.logf("sip", "warn", "sip", "the connection to the server was replaced; registering again")
			l.ua.Register(registerExpires)
		}
	case sipua.MessageWaiting:
		l.on.messageWaiting(ev)
		l.env.logf("sip", "info", "mwi", "voice messages: %d new, %d old", ev.New, ev.Old)
	default:
		l.on.callEvent(ev)
	}
}

// registeredFor: the registrar took the binding for ev.Expires; it is
// refreshed at 80 % of that.
func (l *line) registeredFor(ev sipua.Registered) {
	first := !l.registered
	l.registered, l.regError, l.retry = true, "", retryFirst
	l.tlsVersion, l.flowTimer = ev.TLSVersion, ev.FlowTimer
	l.on.lineUp()
	if first {
		l.env.logf("sip", "notice", "sip", "registered, expires in %v", ev.Expires)
		l.ua.SubscribeMWI(mwiExpires)
		l.keepAlive()
	}
	// The policy subscription, renewed with every refresh.
	l.ua.SubscribeProvisioning(policyExpires)
	l.registerIn(ev.Expires * 4 / 5)
}

// registerIn sends the next REGISTER after d.
func (l *line) registerIn(d time.Duration) {
	l.env.tm.start(&l.reg, d, func() {
		if !l.retired {
			l.ua.Register(registerExpires)
		}
	})
}

// The reasons a failed registration shows (registration_error) in the
// phone's own words; the others carry the server's words or the TLS
// failure.
const (
	reasonWrongPassword401 = "Wrong password (401)"
	reasonWrongPassword407 = "Wrong password (407)"
	reasonForbidden        = "Forbidden (403)"
	reasonUnknownUser      = "Unknown user (404)"
	reasonConnectionLost   = "Connection lost"
	reasonNoResponse       = "No response"
	reasonBadResponse      = "Bad response from server"
	reasonNotKept          = "Not kept by server (Expires: 0)"
	reasonDNS              = "Server not found (DNS)"
	reasonUnreachable      = "Server unreachable"
	reasonTimeout          = "Timeout"
	reasonHandshake        = "TLS handshake failed"
	// reasonEndOfLife: the registrar refused Skype for Business firmware
	// (403 3PIP End Of Life); the screen shows the vendor's wording of
	// catalog.ReasonEndOfLife.
	reasonEndOfLife = "3PIP End Of Life (403)"
)

// tick keeps the clock in the status bar and the call timer current: every
// second in a call, else on the minute.
func (p *Phone) tick() {
	now := p.clock.Now().Add(-p.tickOffset)
	next := now.Truncate(time.Minute).Add(time.Minute).Sub(now)
	if f := p.s.calls.focus; f != nil && f.up() {
		next = now.Truncate(time.Second).Add(time.Second).Sub(now)
	}
	p.tm.start(&p.s.tick, next, p.tick)
}

// keepAliveEvery is the wait before the next ping: the registrar's
// Flow-Timer, else keepAliveBound. A phone with register jitter (a fleet's)
// takes a random point of the last fifth below it, as RFC 5626 asks, so
// phones that registered together do not ping together; without jitter the
// wait is the bound itself, so runs on virtual time repeat exactly.
func (l *line) keepAliveEvery() time.Duration {
	d := cmp.Or(l.flowTimer, keepAliveBound)
	if l.jitter > 0 {
		d -= time.Duration(rand.Float64() * float64(d) / 5).Round(time.Millisecond)
	}
	return d
}

// keepAlive pings the server every keepAliveEvery while registered.
func (l *line) keepAlive() {
	l.env.tm.start(&l.keepalive, l.keepAliveEvery(), func() {
		if l.retired || !l.registered {
			return
		}
		if err := l.ua.KeepAlive(); err != nil {
			// The flow is gone: register again at once (a new connection);
			// failures from here on back off as usual.
			l.env.logf("sip", "warn", "sip", "connection to the server lost (%v); registering again", err)
			l.registered, l.regError = false, reasonConnectionLost
			l.on.lineLost()
			if d := jitterOf(l.jitter, retryFirst); d > 0 {
				l.registerIn(d)
				return
			}
			l.ua.Register(registerExpires)
			return
		}
		l.keepAlive()
	})
}

// registering reports whether the phone has booted with an account on
// server and its line (nil: none) has had no registration outcome yet:
// the boot screen shows.
func (l *line) registering(server string) bool {
	return server != "" && l != nil && !l.registered && l.regError == ""
}

// registration describes the line (nil: none) for the idle screen; words
// are the vendor's sign-in reasons, which word the 3PIP end of life.
func (l *line) registration(server string, words map[string]string) string {
	switch {
	case l != nil && l.regError == reasonEndOfLife && words[catalog.ReasonEndOfLife] != "":
		return words[catalog.ReasonEndOfLife]
	case server == "":
		return "No account"
	case l == nil:
		return "Not registered"
	case l.registered:
		return "Registered"
	case l.regError != "":
		return "Failed: " + l.regError
	}
	return "Registering..."
}

// tlsInfo is the connection's TLS version for the status screen, else the
// versions fw speaks.
func (l *line) tlsInfo(fw *catalog.Firmware) string {
	if l != nil && l.tlsVersion != 0 {
		return "TLS " + tlsName(l.tlsVersion)
	}
	return "TLS " + fw.TLSMin + "-" + fw.TLSMax + " (not connected)"
}
