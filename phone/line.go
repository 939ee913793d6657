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
	ua *sipua.UA
	// stop ends event delivery from this UA before it is closed, so a UA
	// goroutine blocked on handing over an event never waits on a loop that
	// is waiting for it.
	stop chan struct{}

	registered bool
	regError   string
	tlsVersion uint16
	retry      time.Duration
	flowTimer  time.Duration // the registrar's Flow-Timer, 0 when it gave none

	callID    string // the UA's id of the current call
	callStart time.Time
	progress  string // "Ringing" once the far end rings
	waiting   string // id of a second incoming call (call waiting)
	waitFrom  string
	waitName  string // waitFrom's display name
	transfer  bool   // collecting the transfer target in digits

	// reg refreshes or retries the registration; keepalive pings the
	// server while registered.
	reg, keepalive timer
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

// jitter is a random part of d of up to the phone's register jitter.
func (p *Phone) jitter(d time.Duration) time.Duration {
	if p.regJitter <= 0 {
		return 0
	}
	return time.Duration(rand.Float64() * p.regJitter * float64(d)).Round(time.Millisecond)
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
		p.lineFailed(err.Error())
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
	stop := make(chan struct{})
	ua, err := sipua.New(cfg, func(ev sipua.Event) {
		// Held from the UA's hand-over until the loop has run it.
		release := p.inflight.Hold()
		if !p.post(stop, func() { defer release(); p.onSIP(ev) }) {
			release()
		}
	})
	if err != nil {
		p.lineFailed(err.Error())
		return
	}
	// The policy's codec order from the first call on, as status shows it.
	ua.SetCodecOrder(p.s.policy.codecs)
	p.s.line = &line{ua: ua, stop: stop, retry: retryFirst}
	p.ua.Store(ua)
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

func (p *Phone) lineFailed(reason string) {
	p.logf("sip", "err", "sip", "%s", reason)
	p.s.session.End(signin.WhyLineFailed, reason)
}

// post hands f to the loop without waiting for it; it gives up when stop
// closes or the phone ends, and reports whether f was queued.
func (p *Phone) post(stop chan struct{}, f func()) bool {
	t := task{f: f, done: make(chan struct{})}
	p.queued.Add(1)
	select {
	case p.tasks <- t:
		return true
	case <-stop:
	case <-p.done:
	case <-p.closed:
	}
	p.queued.Add(-1)
	return false
}

// onSIP is the state machine's reaction to the UA.
func (p *Phone) onSIP(ev sipua.Event) {
	l := p.s.line
	if l == nil {
		return
	}
	switch ev := ev.(type) {
	case sipua.Registered:
		first := !l.registered
		l.registered, l.regError, l.retry = true, "", retryFirst
		l.tlsVersion, l.flowTimer = ev.TLSVersion, ev.FlowTimer
		if p.s.session.Established() {
			p.askPINAfterSignIn()
		}
		if first {
			p.logf("sip", "notice", "sip", "registered, expires in %v", ev.Expires)
			l.ua.SubscribeMWI(mwiExpires)
			p.keepAlive(l)
		}
		p.signedIn(l)
		refresh := ev.Expires * 4 / 5
		p.tm.start(&l.reg, refresh, func() {
			if p.s.line == l {
				l.ua.Register(registerExpires)
			}
		})
	case sipua.RegisterFailed:
		p.registerFailed(l, ev)
	case sipua.PolicyPushed:
		p.onPolicy(ev.Body)
	case sipua.CallProgress:
		if ev.ID == l.callID && (ev.Code == 180 || ev.Code == 183) {
			l.progress = "Ringing"
		}
	case sipua.CallAnswered:
		if ev.ID != l.callID {
			return
		}
		p.s.call = CallConnected
		p.s.remote = ev.Remote
		l.callStart = p.clock.Now()
		p.logf("call", "info", "call", "connected to %s", ev.Remote)
		p.tick()
	case sipua.CallFailed:
		if ev.ID != l.callID {
			return
		}
		reason := failureReason(ev.Code, ev.Reason, ev.Err)
		if ev.Code == 487 {
			// We cancelled it ourselves.
			p.logf("call", "info", "call", "call to %s cancelled", p.s.remote)
			p.endCall()
			return
		}
		p.callFailed(reason)
	case sipua.CallEnded:
		if ev.ID == l.waiting {
			l.waiting = ""
			return
		}
		if ev.ID != l.callID {
			return
		}
		p.logf("call", "info", "call", "call with %s ended by the far end", p.s.remote)
		p.endCall()
		p.showAlert("Call ended")
	case sipua.IncomingCall:
		p.incoming(l, ev)
	case sipua.IncomingCancelled:
		if ev.ID == l.waiting {
			l.waiting = ""
			return
		}
		if ev.ID == l.callID && p.s.call == CallRinging {
			who := p.remoteLabel()
			p.endCall()
			p.showAlert("Missed call: " + who)
			p.logf("call", "info", "call", "missed call from %s", who)
		}
	case sipua.CallHoldChanged:
		if ev.ID != l.callID {
			return
		}
		if ev.Err != nil {
			p.logf("call", "warn", "call", "hold/resume failed: %v", ev.Err)
			p.showAlert("Hold failed")
			return
		}
		if ev.Hold {
			p.s.call = CallHeld
		} else {
			p.s.call = CallConnected
		}
	case sipua.TransferResult:
		if ev.ID != l.callID {
			return
		}
		if ev.Err != nil || ev.Code >= 300 {
			why := transferProblem(ev)
			p.logf("call", "warn", "call", "transfer of %s to %s failed: %s", p.s.remote, ev.Target, why)
			p.showAlert("Transfer failed: " + why)
			return
		}
		p.logf("call", "info", "call", "transferred %s", p.s.remote)
		l.ua.Hangup(l.callID)
		p.endCall()
		p.showAlert("Call transferred")
	case sipua.Transferred:
		if ev.ID != l.callID {
			return
		}
		// The transferor hangs up on us once the new call is answered; the
		// new call takes the old one's place now.
		p.logf("call", "info", "call", "transferred by %s to %s", p.s.remote, ev.Target)
		l.callID, l.progress, l.callStart = ev.NewID, "", time.Time{}
		p.s.call = CallCalling
		p.s.remote, p.s.remoteName = ev.Target, ""
	case sipua.MessageWaiting:
		p.s.mwi = ev.New
		if !ev.Waiting {
			p.s.mwi = 0
		}
		p.logf("sip", "info", "mwi", "voice messages: %d new, %d old", ev.New, ev.Old)
	}
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
)

func (p *Phone) incoming(l *line, ev sipua.IncomingCall) {
	who := ev.From
	if ev.DisplayName != "" {
		who = ev.DisplayName
	}
	switch {
	case p.s.cfg.DND:
		p.logf("call", "info", "call", "call from %s rejected: do not disturb", who)
		l.ua.Reject(ev.ID, 486)
	case p.s.call == CallIdle:
		p.closeMenu()
		p.s.call = CallRinging
		p.s.remote, p.s.remoteName = ev.From, ev.DisplayName
		l.callID = ev.ID
		p.logf("call", "info", "call", "incoming call from %s", who)
	case l.waiting == "" && (p.s.call == CallConnected || p.s.call == CallHeld):
		l.waiting, l.waitFrom, l.waitName = ev.ID, ev.From, ev.DisplayName
		p.logf("call", "info", "call", "call waiting: %s", who)
	default:
		l.ua.Reject(ev.ID, 486)
	}
}

// tick keeps the clock in the status bar and the call timer current: every
// second in a call, else on the minute.
func (p *Phone) tick() {
	now := p.clock.Now().Add(-p.tickOffset)
	next := now.Truncate(time.Minute).Add(time.Minute).Sub(now)
	if p.s.call == CallConnected || p.s.call == CallHeld {
		next = now.Truncate(time.Second).Add(time.Second).Sub(now)
	}
	p.tm.start(&p.s.tick, next, p.tick)
}

// keepAliveEvery is the wait before the next ping: the registrar's
// Flow-Timer, else keepAliveBound. A phone with register jitter (a fleet's)
// takes a random point of the last fifth below it, as RFC 5626 asks, so
// phones that registered together do not ping together; without jitter the
// wait is the bound itself, so runs on virtual time repeat exactly.
func (p *Phone) keepAliveEvery(l *line) time.Duration {
	d := cmp.Or(l.flowTimer, keepAliveBound)
	if p.regJitter > 0 {
		d -= time.Duration(rand.Float64() * float64(d) / 5).Round(time.Millisecond)
	}
	return d
}

// keepAlive pings the server every keepAliveEvery while registered.
func (p *Phone) keepAlive(l *line) {
	p.tm.start(&l.keepalive, p.keepAliveEvery(l), func() {
		if p.s.line != l || !l.registered {
			return
		}
		if err := l.ua.KeepAlive(); err != nil {
			// The flow is gone: register again at once (a new connection);
			// failures from here on back off as usual.
			p.logf("sip", "warn", "sip", "connection to the server lost (%v); registering again", err)
			l.registered, l.regError = false, reasonConnectionLost
			p.s.session.Lost()
			if d := p.jitter(retryFirst); d > 0 {
				p.tm.start(&l.reg, d, func() {
					if p.s.line == l {
						l.ua.Register(registerExpires)
					}
				})
				return
			}
			l.ua.Register(registerExpires)
			return
		}
		p.keepAlive(l)
	})
}
