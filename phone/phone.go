// Package phone is the firmware of a virtual desk phone: a state machine fed
// events (keys, timers, and SIP and backend pushes) on one goroutine that owns
// all of its state. What it shows is published as an immutable Screen; what
// makes one vendor's phone differ from another's comes from the catalog.
package phone

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/deskphone/deskphone/certs"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/internal/inflight"
	"github.com/deskphone/deskphone/media"
	"github.com/deskphone/deskphone/phone/statedir"
)

// ErrClosed is returned by input calls after Close.
var ErrClosed = errors.New("phone is closed")

// DefaultDialTimeout is UserDialTimeoutMS of the in-band policy: a number is
// dialled after this long without a key.
const DefaultDialTimeout = 5000 * time.Millisecond

// alertTime is how long a transient alert stays on the screen.
const alertTime = 3 * time.Second

// Phone is one virtual desk phone.
type Phone struct {
	model *catalog.Model
	fw    *catalog.Firmware
	clock clock.Clock
	state *statedir.Dir
	id    statedir.Identity
	cas   *certs.Store
	log   *syslog

	casErr      error
	account     *statedir.Account
	keyLog      io.Writer
	inflight    *inflight.Tracker
	clientCert  *tls.Certificate
	media       *media.Engine
	source      string // what calls send, see ParseSource
	mediaNotes  []string
	dialTimeout time.Duration
	tempState   bool

	tasks  chan task
	done   chan struct{}
	closed chan struct{}
	once   sync.Once

	screen atomic.Pointer[Screen]
	subMu  sync.Mutex
	subs   map[int]func()
	subID  int

	// Everything below is owned by the loop goroutine.
	s machine
}

// Option configures a Phone.
type Option func(*Phone) error

// WithClock runs the phone on c instead of the wall clock.
func WithClock(c clock.Clock) Option {
	return func(p *Phone) error { p.clock = c; return nil }
}

// WithStateDir keeps the phone's state in dir. Without it the phone uses a
// temporary directory removed at Close.
func WithStateDir(dir string) Option {
	return func(p *Phone) error {
		if dir == "" {
			return errors.New("empty state directory")
		}
		p.state = &statedir.Dir{Path: dir}
		return nil
	}
}

// WithDialTimeout sets UserDialTimeoutMS.
func WithDialTimeout(d time.Duration) Option {
	return func(p *Phone) error {
		if d <= 0 {
			return fmt.Errorf("dial timeout %v: must be positive", d)
		}
		p.dialTimeout = d
		return nil
	}
}

// New builds a phone of the given model booting the given firmware version
// ("" for the version installed in its state directory, or the model's
// default). It does not run until Start.
func New(model *catalog.Model, firmware string, opts ...Option) (*Phone, error) {
	p := &Phone{
		model:       model,
		clock:       clock.Real{},
		dialTimeout: DefaultDialTimeout,
		tasks:       make(chan task, 64),
		done:        make(chan struct{}),
		closed:      make(chan struct{}),
		subs:        map[int]func(){},
	}
	for _, o := range opts {
		if err := o(p); err != nil {
			return nil, fmt.Errorf("phone: %w", err)
		}
	}
	dir := ""
	if p.state != nil {
		dir = p.state.Path
	} else {
		tmp, err := os.MkdirTemp("", "deskphone-"+model.ID+"-")
		if err != nil {
			return nil, fmt.Errorf("phone: %w", err)
		}
		dir, p.tempState = tmp, true
	}
	st, id, err := statedir.Open(dir, model.ID, model.Vendor.OUI)
	if err != nil {
		return nil, fmt.Errorf("phone: %w", err)
	}
	p.state, p.id = st, id
	if err := p.installFirmware(firmware); err != nil {
		return nil, err
	}
	p.log = newSyslog(model.Vendor.Syslog, model.Hostname)
	// The store loads at boot; a damaged imported file is skipped (and
	// logged at boot) rather than keeping the phone from starting.
	p.cas, p.casErr = certs.OpenStore(filepath.Join(dir, "ca"), p.fw.FactoryRoots)
	if p.cas == nil {
		return nil, fmt.Errorf("phone: CA store: %w", p.casErr)
	}
	cfg, err := st.LoadConfig()
	if err != nil {
		return nil, fmt.Errorf("phone: %w", err)
	}
	if p.account != nil && *p.account != cfg.Account {
		cfg.Account = *p.account
		if err := st.SaveConfig(cfg); err != nil {
			return nil, fmt.Errorf("phone: %w", err)
		}
	}
	p.s.cfg = cfg
	return p, nil
}

// installFirmware resolves the firmware to boot and records it in the
// firmware slots: a version different from the active one becomes active and
// the old one the backup, as an installed update would.
func (p *Phone) installFirmware(want string) error {
	slots, err := p.state.LoadFirmware()
	if err != nil {
		return fmt.Errorf("phone: %w", err)
	}
	if want == "" {
		want = slots.Active
	}
	fw, err := p.model.FirmwareVersion(want)
	if err != nil {
		return fmt.Errorf("phone: %w", err)
	}
	p.fw = fw
	if slots.Active != fw.Version {
		if slots.Active != "" {
			slots.Backup = slots.Active
		}
		slots.Active = fw.Version
		if err := p.state.SaveFirmware(slots); err != nil {
			return fmt.Errorf("phone: %w", err)
		}
	}
	return nil
}

// Start boots the phone and runs its loop until Close or ctx ends.
func (p *Phone) Start(ctx context.Context) {
	go p.loop(ctx)
	_ = p.do(p.boot)
}

func (p *Phone) loop(ctx context.Context) {
	defer close(p.done)
	for {
		select {
		case <-ctx.Done():
			p.shutdown()
			return
		case <-p.closed:
			p.shutdown()
			return
		case t := <-p.tasks:
			t.f()
			p.publish()
			close(t.done)
		}
	}
}

func (p *Phone) shutdown() {
	p.stopLine(true)
	p.stopTimers()
	if p.tempState {
		os.RemoveAll(p.state.Path)
	}
}

// Close stops the phone and waits for its loop to end.
func (p *Phone) Close() error {
	p.once.Do(func() { close(p.closed) })
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		return errors.New("phone: loop did not stop")
	}
	return nil
}

// do runs f on the loop goroutine and returns once f has run and the screen
// it left has been published.
func (p *Phone) do(f func()) error {
	t := task{f: f, done: make(chan struct{})}
	select {
	case p.tasks <- t:
	case <-p.done:
		return ErrClosed
	case <-p.closed:
		return ErrClosed
	}
	select {
	case <-t.done:
		return nil
	case <-p.done:
		return ErrClosed
	}
}

// task is one unit of work for the loop goroutine.
type task struct {
	f    func()
	done chan struct{}
}

// doErr runs f on the loop and returns its error.
func (p *Phone) doErr(f func() error) error {
	var err error
	if cerr := p.do(func() { err = f() }); cerr != nil {
		return cerr
	}
	return err
}

// Settled reports whether the phone has nothing in progress: no task queued
// for its loop and no SIP request waiting for an answer. A runner on virtual
// time moves the clock only when every phone has settled.
func (p *Phone) Settled() bool {
	busy := true
	if err := p.do(func() { busy = p.s.line != nil && p.s.line.ua.Busy() }); err != nil {
		return true
	}
	return !busy && len(p.tasks) == 0
}

// SIPAddr is the local host:port of the phone's connection to its SIP
// server, empty when it has none: what a SIP trace shows for this phone.
func (p *Phone) SIPAddr() string {
	addr := ""
	p.do(func() {
		if p.s.line != nil {
			addr = p.s.line.ua.LocalAddr()
		}
	})
	return addr
}

// Done is closed when the phone's loop has ended (Close, or its context).
func (p *Phone) Done() <-chan struct{} { return p.done }

// Model is the phone's catalog model.
func (p *Phone) Model() *catalog.Model { return p.model }

// Firmware is the firmware the phone runs.
func (p *Phone) Firmware() *catalog.Firmware { return p.fw }

// Identity is the phone's MAC address and serial number.
func (p *Phone) Identity() statedir.Identity { return p.id }

// CAStore is the phone's root-CA store. Imports take effect at the next boot.
func (p *Phone) CAStore() *certs.Store { return p.cas }

// StateDir is the phone's state directory.
func (p *Phone) StateDir() string { return p.state.Path }

// Clock is the clock the phone runs on.
func (p *Phone) Clock() clock.Clock { return p.clock }

// Screen returns the current screen snapshot.
func (p *Phone) Screen() Screen {
	if s := p.screen.Load(); s != nil {
		return *s
	}
	return Screen{Vendor: p.model.Vendor.Name, Model: p.model.Name}
}

// Subscribe calls f (from the phone's goroutine; f must not block or call
// back into the phone) after every screen change. It returns a cancel func.
func (p *Phone) Subscribe(f func()) func() {
	p.subMu.Lock()
	defer p.subMu.Unlock()
	id := p.subID
	p.subID++
	p.subs[id] = f
	return func() {
		p.subMu.Lock()
		defer p.subMu.Unlock()
		delete(p.subs, id)
	}
}

// Logs returns the last n syslog lines (all kept lines when n <= 0).
func (p *Phone) Logs(n int) []LogLine { return p.log.tail(n) }

// SubscribeLogs calls f for every new syslog line. It returns a cancel func.
func (p *Phone) SubscribeLogs(f func(LogLine)) func() { return p.log.subscribe(f) }

// Status returns the phone's state as ordered key=value pairs: the stable
// contract of the headless `status` command.
func (p *Phone) Status() ([][2]string, error) {
	var out [][2]string
	err := p.do(func() { out = p.status() })
	return out, err
}

// Press presses a hard key.
func (p *Phone) Press(k Key) error {
	if k <= KeyUnknown || int(k) >= len(keyNames) {
		return fmt.Errorf("unknown key %d", int(k))
	}
	return p.do(func() { p.handleKey(k) })
}

// Softkey presses the softkey at position n (1-based).
func (p *Phone) Softkey(n int) error {
	return p.doErr(func() error { return p.pressSoftkey(n) })
}

// SoftkeyLabel presses the softkey showing label (case-insensitive).
func (p *Phone) SoftkeyLabel(label string) error {
	return p.doErr(func() error {
		scr := p.render()
		n, ok := scr.Softkey(label)
		if !ok {
			return fmt.Errorf("no softkey %q on this screen (softkeys: %s)", label, strings.Join(nonEmpty(scr.Softkeys), ", "))
		}
		return p.pressSoftkey(n)
	})
}

// Answer answers the ringing call (or the waiting one).
func (p *Phone) Answer() error { return p.do(func() { p.action("answer") }) }

// Reboot restarts the phone's firmware, as the menu entry does: the call
// drops, imported certificates become trusted, the account registers anew.
func (p *Phone) Reboot() error { return p.do(p.reboot) }

// Hold puts the connected call on hold.
func (p *Phone) Hold() error { return p.do(func() { p.action("hold") }) }

// Resume takes the held call back.
func (p *Phone) Resume() error { return p.do(func() { p.action("resume") }) }

// Hangup ends the call in whatever state it is.
func (p *Phone) Hangup() error { return p.do(func() { p.action("hangup") }) }

// Call places a call to target at once: digits, a user name or a SIP URI.
func (p *Phone) Call(target string) error {
	return p.doErr(func() error {
		if p.s.call != CallIdle && p.s.call != CallDialing {
			return fmt.Errorf("cannot call %s: the phone is %s", target, p.s.call)
		}
		p.closeMenu()
		p.placeCall(target)
		return nil
	})
}

// Transfer sends the current call to target (blind transfer).
func (p *Phone) Transfer(target string) error {
	return p.doErr(func() error {
		l := p.s.line
		if l == nil || (p.s.call != CallConnected && p.s.call != CallHeld) {
			return errors.New("no call to transfer")
		}
		p.logf("call", "info", "call", "transferring %s to %s", p.s.remote, target)
		return l.ua.Transfer(l.callID, target)
	})
}

// Type enters text into the open text entry (Screen.Prompt).
func (p *Phone) Type(text string) error {
	return p.doErr(func() error {
		if p.s.prompt == nil {
			return errors.New("the phone is not asking for text")
		}
		p.s.prompt.text += text
		return nil
	})
}

// DialTarget is what "dial" means to a script: digits are typed on the
// keypad (and go out on #, the Dial softkey or the dial timeout), anything
// else (a user name, a SIP URI) is called at once.
func (p *Phone) DialTarget(target string) error {
	for _, c := range target {
		if _, ok := KeyForDigit(c); !ok {
			return p.Call(target)
		}
	}
	return p.Dial(target)
}

// Dial types digits on the keypad, one key after another.
func (p *Phone) Dial(digits string) error {
	keys := make([]Key, 0, len(digits))
	for _, c := range digits {
		k, ok := KeyForDigit(c)
		if !ok {
			return fmt.Errorf("cannot dial %q: only 0-9, * and # are on the keypad", c)
		}
		keys = append(keys, k)
	}
	return p.do(func() {
		for _, k := range keys {
			p.handleKey(k)
		}
	})
}

func (p *Phone) publish() {
	s := p.render()
	old := p.screen.Load()
	p.screen.Store(&s)
	if old != nil && old.Text() == s.Text() {
		return
	}
	p.subMu.Lock()
	subs := make([]func(), 0, len(p.subs))
	for _, f := range p.subs {
		subs = append(subs, f)
	}
	p.subMu.Unlock()
	for _, f := range subs {
		f()
	}
}

func nonEmpty(list []string) []string {
	out := make([]string, 0, len(list))
	for _, s := range list {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
