// Package phonetest gives the phone's state tests a scripted SIP line: the
// phone runs on a fake clock with no server, no TLS and no wall-clock
// polling; a test says what the network reports and reads what the phone
// asked of its line.
package phonetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/deskphone/deskphone/media"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/sipua"
)

// ErrClosed is what a line retired by the phone answers.
var ErrClosed = errors.New("phonetest: line closed")

// Line is a scripted SIP line. The phone makes one at every boot through
// Option; a test reports events with Send and reads the phone's requests
// with Ops. It never answers by itself: a REGISTER is registered only when
// the test sends sipua.Registered.
type Line struct {
	mu     sync.Mutex
	cfg    sipua.Config
	events func(sipua.Event)
	ops    []string
	calls  int
	closed bool
	phone  *phone.Phone
	// Fail makes the named request (INVITE, ANSWER, HOLD, REFER,
	// REFER-REPLACES, ...) fail with its error, as a UA whose dialog is
	// gone does.
	Fail map[string]error
}

// New makes a line; pass its Option to phone.New.
func New() *Line { return &Line{} }

// Option puts the line in the phone's place of a SIP user agent.
func (l *Line) Option() phone.Option {
	return phone.WithSIPLine(func(cfg sipua.Config, events func(sipua.Event)) (phone.SIPLine, error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.cfg, l.events, l.closed = cfg, events, false
		return l, nil
	})
}

// Attach names the phone the line serves, so that Send returns only once
// the phone has acted on the event.
func (l *Line) Attach(p *phone.Phone) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.phone = p
}

// Config is what the phone gave its line at the last boot.
func (l *Line) Config() sipua.Config {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cfg
}

// Send reports ev to the phone, as the UA does. With the phone attached
// it returns once the phone has acted on it (its loop runs tasks in
// order, and a query follows the event).
func (l *Line) Send(ev sipua.Event) {
	l.mu.Lock()
	events, p := l.events, l.phone
	l.mu.Unlock()
	if events == nil {
		return
	}
	events(ev)
	if p != nil {
		_, _ = p.State()
	}
}

// Ops lists the requests the phone made of the line, oldest first, as
// "INVITE bob call-1", "ANSWER call-2", "REJECT call-3 486".
func (l *Line) Ops() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.ops)
}

// Has reports whether the phone made the request op.
func (l *Line) Has(op string) bool { return slices.Contains(l.Ops(), op) }

func (l *Line) record(op string, args ...any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed && op != "CLOSE" {
		return ErrClosed
	}
	s := op
	for _, a := range args {
		s += " " + fmt.Sprint(a)
	}
	l.ops = append(l.ops, s)
	return l.Fail[op]
}

// Register records a REGISTER.
func (l *Line) Register(expires time.Duration) { _ = l.record("REGISTER", expires) }

// Unregister records a REGISTER with Expires: 0.
func (l *Line) Unregister(context.Context) error { return l.record("UNREGISTER") }

// KeepAlive records a CRLF ping.
func (l *Line) KeepAlive() error { return l.record("PING") }

// SubscribeMWI records the message-summary subscription.
func (l *Line) SubscribeMWI(time.Duration) { _ = l.record("SUBSCRIBE-MWI") }

// SubscribeProvisioning records the provisioning subscription.
func (l *Line) SubscribeProvisioning(time.Duration) { _ = l.record("SUBSCRIBE-PROVISIONING") }

// SetCodecOrder records the codec order of the next offers.
func (l *Line) SetCodecOrder(order string) { _ = l.record("CODECS", order) }

// SetBearer records a new access token.
func (l *Line) SetBearer(string) { _ = l.record("BEARER") }

// Invite records an INVITE and names the new call call-N.
func (l *Line) Invite(target string) (string, error) {
	l.mu.Lock()
	l.calls++
	id := fmt.Sprintf("call-%d", l.calls)
	l.mu.Unlock()
	if err := l.record("INVITE", target, id); err != nil {
		return "", err
	}
	return id, nil
}

// Cancel records a CANCEL.
func (l *Line) Cancel(id string) error { return l.record("CANCEL", id) }

// Answer records the 200 to an INVITE.
func (l *Line) Answer(id string) error { return l.record("ANSWER", id) }

// Reject records a final refusal of an INVITE.
func (l *Line) Reject(id string, code int) error { return l.record("REJECT", id, code) }

// Redirect records a 302 to an INVITE with target in its Contact and the
// Diversion reason.
func (l *Line) Redirect(id, target, reason string) error {
	return l.record("REDIRECT", id, target, reason)
}

// Hangup records a BYE.
func (l *Line) Hangup(id string) error { return l.record("BYE", id) }

// Hold records the re-INVITE that holds (on) or resumes a call.
func (l *Line) Hold(id string, on bool) error {
	return l.record("HOLD", id, map[bool]string{true: "on", false: "off"}[on])
}

// Transfer records a REFER.
func (l *Line) Transfer(id, target string) error { return l.record("REFER", id, target) }

// TransferReplacing records a REFER whose Refer-To replaces call other
// (attended transfer), as "REFER-REPLACES call-1 call-2".
func (l *Line) TransferReplacing(id, other string) error {
	return l.record("REFER-REPLACES", id, other)
}

// Media is no audio: the scripted line carries none.
func (l *Line) Media(string) (*media.Session, error) { return nil, nil }

// LocalAddr is a fixed address.
func (l *Line) LocalAddr() string { return "127.0.0.1:5061" }

// Busy: a scripted line never waits for an answer.
func (l *Line) Busy() bool { return false }

// Close records that the phone retired the line.
func (l *Line) Close() error {
	err := l.record("CLOSE")
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	return err
}

// CheckSync reports the cloud's check-sync NOTIFY, as the UA does.
func (l *Line) CheckSync() { l.Send(sipua.CheckSync{}) }
