// Package phone is the firmware of a virtual desk phone: a state machine fed
// events (keys, timers, and SIP and backend pushes) on one goroutine that owns
// all of its state. What it shows is published as an immutable Screen; what
// makes one vendor's phone differ from another's comes from the catalog.
package phone

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/deskphone/deskphone/certs"
	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/internal/inflight"
	"github.com/deskphone/deskphone/internal/labdir"
	"github.com/deskphone/deskphone/internal/memdir"
	"github.com/deskphone/deskphone/media"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/gateway"
	"github.com/deskphone/deskphone/phone/statedir"
	"github.com/deskphone/deskphone/phone/update"
)

// alertTime is how long a transient alert stays on the screen.
const alertTime = 3 * time.Second

// Phone is one virtual desk phone.
type Phone struct {
	// model is the hardware, fixed for the phone's life (its state
	// directory belongs to one model); what the firmware brings is in the
	// loop's machine and re-read at every boot.
	model *catalog.Model
	clock clock.Clock
	state *statedir.Dir
	id    statedir.Identity
	log   *syslog

	account     *statedir.Account
	signin      *SignIn // the identity provider; nil: provisioned accounts only
	keyLog      io.Writer
	inflight    *inflight.Tracker
	clientCert  *tls.Certificate
	media       *media.Engine
	source      string // what calls send, see ParseSource
	mediaNotes  []string
	dialTimeout time.Duration // as provisioned; the policy part starts from it
	regJitter   float64       // see WithRegisterJitter
	tickOffset  time.Duration // how late in each minute (second) the screen's clock turns over
	tempState   bool
	noStateLock bool        // see WithoutStateLock
	lab         *labdir.Dir // see WithLab
	newLine     NewSIPLine  // see WithSIPLine
	// gwOpts are the gateway's options (WithProvisioningServer, WithMAC);
	// nil when none was given.
	gwOpts *gatewayOptions

	// updateCfg is the update agent's configuration, as the options left
	// it; upd is the agent (phone/update), made once the state is open.
	updateCfg update.Config
	upd       *update.Agent
	// env is what the phone lends its parts (part.go).
	env partEnv

	// loop is the goroutine that owns the phone's state (loop.go). Its
	// ways in are the phone's: p.do, p.query, p.doErr, p.post, p.goWork
	// and the timers p.tm.
	loop

	ua atomic.Pointer[SIPLine] // the line's UA, nil without one

	// What other goroutines may read, published by the loop: the image a
	// boot brought up, and the screen and status after every task.
	booted    atomic.Pointer[image]
	published atomic.Pointer[snapshot]
	subs      subscribers

	// changes tells drivers when a Status value may have changed.
	changes changeHub

	// Everything below is owned by the loop goroutine.
	s machine
}

// snapshot is what the loop published after a task.
type snapshot struct {
	screen Screen
	status Status
}

// subscriber is a Watch or Subscribe callback; screenOnly ones hear of
// screen changes alone.
type subscriber struct {
	f          func(Screen, Status)
	screenOnly bool
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

// WithoutStateLock skips the lock that keeps a second phone off the state
// directory, for a caller whose directories nobody else can reach (a
// fleet's throw-away root, made for one run): the lock's open file would be
// the phone's second file descriptor beside its connection.
func WithoutStateLock() Option {
	return func(p *Phone) error { p.noStateLock = true; return nil }
}

// WithLab makes the phone of the installation whose lab directory is d:
// its factory TLS roots and its update roots are d's, so it trusts the
// clouds of that installation only. Without it the phone is of the
// default installation (labdir.Default).
func WithLab(d *labdir.Dir) Option {
	return func(p *Phone) error { p.lab = d; return nil }
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

// New builds a phone of the given model with the given firmware version
// ("" for the version installed in its state directory, or the model's
// default) installed in its active slot. It does not run until Start.
func New(model *catalog.Model, firmware string, opts ...Option) (*Phone, error) {
	p := &Phone{
		model:       model,
		clock:       clock.Real{},
		dialTimeout: DefaultDialTimeout,
		newLine:     newUA,
	}
	for _, o := range opts {
		if err := o(p); err != nil {
			return nil, fmt.Errorf("phone: %w", err)
		}
	}
	p.loop.init(p.clock, loopHooks{
		afterTask: p.publish,
		stop:      func() { p.stopLine(true) },
		release:   p.releaseState,
	})
	if p.state == nil {
		tmp, err := memdir.MkdirTemp("deskphone-" + model.ID + "-")
		if err != nil {
			return nil, fmt.Errorf("phone: %w", err)
		}
		p.state, p.tempState = &statedir.Dir{Path: tmp}, true
	}
	if err := p.open(firmware); err != nil {
		p.releaseState()
		return nil, fmt.Errorf("phone: %w", err)
	}
	p.log = newSyslog(model.Vendor.Syslog, model.Hostname)
	p.upd = newUpdateAgent(p)
	p.env = partEnv{
		clock: p.clock, tm: &p.tm, state: p.state, log: p.log,
		alert: p.showAlert, damaged: p.s.damaged.add, repaired: p.s.damaged.repaired,
	}
	return p, nil
}

// open opens the state directory, installs the firmware to boot and opens
// the CA store, so that the firmware and the store can be read (and roots
// imported) before Start.
func (p *Phone) open(firmware string) error {
	mac := ""
	if p.gwOpts != nil {
		mac = p.gwOpts.mac
	}
	st, id, err := statedir.OpenWithMAC(p.state.Path, p.model.ID, p.model.Vendor.OUI, mac)
	if err != nil {
		return err
	}
	// One phone per state directory: a second one would share the MAC and
	// serial and overwrite the configuration.
	if !p.noStateLock {
		if err := st.Lock(); err != nil {
			return err
		}
	}
	p.state, p.id = st, id
	// The phone's own files follow the rules of every state file: a
	// damaged one stops the power-on with its name, never defaults in its
	// place. The lock record is the exception: it boots the phone locked.
	for _, f := range []statedir.File{policyFileSpec, updateFileSpec, gateway.FileSpec} {
		if _, err := st.Load(f, f.New()); err != nil {
			return err
		}
	}
	fw, err := update.Activate(st, p.model, firmware)
	if err != nil {
		return err
	}
	// A damaged imported file is reported at boot, which opens the store
	// again; it does not keep the phone from starting.
	cas, err := certs.OpenStoreIn(p.lab, p.state.Path, fw.FactoryRoots)
	if cas == nil {
		return fmt.Errorf("CA store: %w", err)
	}
	p.booted.Store(&image{fw: fw, cas: cas})
	cfg, err := st.LoadConfig()
	if err != nil {
		return err
	}
	if p.account != nil && *p.account != cfg.Account {
		cfg.Account = *p.account
		if err := st.SaveConfig(cfg); err != nil {
			return err
		}
	}
	if o := p.gwOpts; o != nil && o.provisioning != nil && *o.provisioning != cfg.Provisioning {
		cfg.Provisioning = *o.provisioning
		cfg.Revision++
		if err := st.SaveConfig(cfg); err != nil {
			return err
		}
	}
	p.s.cfg = cfg
	return nil
}

// releaseState lets go of the state directory: its lock, and the directory
// itself when it was a temporary one.
func (p *Phone) releaseState() {
	p.state.Unlock()
	if p.tempState {
		os.RemoveAll(p.state.Path)
	}
}

// SIPAddr is the local host:port of the phone's connection to its SIP
// server, empty when it has none: what a SIP trace shows for this phone.
func (p *Phone) SIPAddr() string {
	addr := ""
	_ = p.query(func() {
		if p.s.line != nil {
			addr = p.s.line.ua.LocalAddr()
		}
	})
	return addr
}

// Model is the phone's catalog model.
func (p *Phone) Model() *catalog.Model { return p.model }

// Firmware is the firmware the phone runs: the one its last boot brought
// up (before Start, the one it will boot).
func (p *Phone) Firmware() *catalog.Firmware { return p.booted.Load().fw }

// Identity is the phone's MAC address and serial number.
func (p *Phone) Identity() statedir.Identity { return p.id }

// CAStore is the phone's root-CA store, as opened by its last boot with the
// firmware's factory roots. Imports take effect at the next boot.
func (p *Phone) CAStore() *certs.Store { return p.booted.Load().cas }

// Lab is the lab directory of the phone's installation (see WithLab); nil
// means the default one.
func (p *Phone) Lab() *labdir.Dir { return p.lab }

// StateDir is the phone's state directory.
func (p *Phone) StateDir() string { return p.state.Path }

// Clock is the clock the phone runs on.
func (p *Phone) Clock() clock.Clock { return p.clock }

// Screen returns the current screen snapshot.
func (p *Phone) Screen() Screen {
	if s := p.published.Load(); s != nil {
		return s.screen
	}
	return Screen{Vendor: p.model.Vendor.Name, Model: p.model.Name}
}

// Subscribe calls f (from the phone's goroutine; f must not block or call
// back into the phone) after every screen change. It returns a cancel func.
func (p *Phone) Subscribe(f func()) func() {
	return p.subs.add(subscriber{f: func(Screen, Status) { f() }, screenOnly: true})
}

// Watch calls f with the screen and the status the phone published, after
// every change of either (the clock's progress aside), from the phone's
// goroutine: f must not block or call back into the phone. It returns a
// cancel func. Watching from before Start sees the phone from its boot on.
func (p *Phone) Watch(f func(Screen, Status)) func() {
	return p.subs.add(subscriber{f: f})
}

// subscribers are the Watch and Subscribe callbacks.
type subscribers struct {
	mu   sync.Mutex
	subs map[int]subscriber
	next int
}

// add adds s; the func it returns removes it.
func (ss *subscribers) add(s subscriber) func() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.subs == nil {
		ss.subs = map[int]subscriber{}
	}
	id := ss.next
	ss.next++
	ss.subs[id] = s
	return func() {
		ss.mu.Lock()
		defer ss.mu.Unlock()
		delete(ss.subs, id)
	}
}

// tell calls the subscribers of a change (only the screen's, unless
// stateChanged) with the snapshot.
func (ss *subscribers) tell(next *snapshot, screenChanged bool) {
	ss.mu.Lock()
	subs := make([]subscriber, 0, len(ss.subs))
	for _, s := range ss.subs {
		if screenChanged || !s.screenOnly {
			subs = append(subs, s)
		}
	}
	ss.mu.Unlock()
	for _, s := range subs {
		s.f(next.screen, next.status)
	}
}

// Logs returns the last n syslog lines (all kept lines when n <= 0).
func (p *Phone) Logs(n int) []LogLine { return p.log.tail(n) }

// SubscribeLogs calls f for every new syslog line. It returns a cancel func.
func (p *Phone) SubscribeLogs(f func(LogLine)) func() { return p.log.subscribe(f) }

// Status returns the phone's state as ordered key=value pairs: the stable
// contract of the headless `status` command.
func (p *Phone) Status() ([][2]string, error) {
	st, err := p.State()
	if err != nil {
		return nil, err
	}
	return st.Pairs(), nil
}

// Published returns the status as the loop last published it, without
// waiting on the loop: cheap enough to read thousands of phones at once;
// the zero Status before the phone's first task.
func (p *Phone) Published() Status {
	if s := p.published.Load(); s != nil {
		return s.status
	}
	return Status{}
}

// State returns the phone's state once it has handled every input so far.
func (p *Phone) State() (Status, error) {
	var st Status
	err := p.query(func() { p.fillStatus(&st) })
	return st, err
}

// Press presses a hard key.
func (p *Phone) Press(k Key) error {
	if k <= KeyUnknown || int(k) >= len(keyNames) {
		return errorf(ErrUnknownKey, "unknown key %d", int(k))
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
			return errorf(ErrNoSuchSoftkey, "no softkey %q on this screen (softkeys: %s)", label, strings.Join(nonEmpty(scr.Softkeys), ", "))
		}
		return p.pressSoftkey(n)
	})
}

// Answer answers the ringing call (or the waiting one).
func (p *Phone) Answer() error { return p.do(func() { p.action(catalog.ActionAnswer) }) }

// Reboot restarts the phone's firmware, as the menu entry does: the call
// drops, imported certificates become trusted, the account registers anew.
func (p *Phone) Reboot() error { return p.do(p.reboot) }

// Hold puts the connected call on hold.
func (p *Phone) Hold() error { return p.do(func() { p.action(catalog.ActionHold) }) }

// Resume takes the held call back.
func (p *Phone) Resume() error { return p.do(func() { p.action(catalog.ActionResume) }) }

// Hangup ends the call in whatever state it is.
func (p *Phone) Hangup() error { return p.do(func() { p.action(catalog.ActionHangup) }) }

// Call places a call to target at once: digits, a user name or a SIP URI.
func (p *Phone) Call(target string) error {
	return p.doErr(func() error {
		if p.s.calls.state() != CallIdle && p.s.calls.state() != CallDialing {
			return errorf(ErrBusy, "cannot call %s: the phone is %s", target, p.s.calls.state())
		}
		if err := p.s.lock.refuses(target); err != nil {
			p.s.lock.mayCall(target) // logs and shows the refusal
			return err
		}
		p.s.menu.close()
		p.s.calls.place(target)
		return nil
	})
}

// Transfer sends the current call to target (blind transfer).
func (p *Phone) Transfer(target string) error {
	return p.doErr(func() error {
		f, ua := p.s.calls.focus, p.s.calls.ua()
		if ua == nil || f == nil || !f.up() {
			return errorf(ErrNoCall, "no call to transfer")
		}
		p.logf("call", "info", "call", "transferring %s to %s", f.remote, target)
		if err := ua.Transfer(f.id, target); err != nil {
			return fmt.Errorf("transfer to %s: %w", target, err)
		}
		return nil
	})
}

// Type enters text into the open text entry (Screen.Prompt).
func (p *Phone) Type(text string) error {
	return p.doErr(func() error {
		if !p.s.entry.typeText(text) {
			return ErrNotAsking
		}
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
			return errorf(ErrNotDialable, "cannot dial %q: only 0-9, * and # are on the keypad", c)
		}
		keys = append(keys, k)
	}
	return p.do(func() {
		for _, k := range keys {
			p.handleKey(k)
		}
	})
}

// snapshots are the loops' drafts of their next snapshot: a task that
// changed nothing hands its draft back, so it neither allocates nor keeps
// one per phone.
var snapshots = sync.Pool{New: func() any { return new(snapshot) }}

// publish renders the screen and the status the loop left and tells the
// subscribers what changed. It drafts the snapshot on the heap, so that
// the loop's stack holds no copies of the screen and status.
func (p *Phone) publish() {
	applyHeldAccount(p)
	p.upd.AfterTask((p.s.line != nil && p.s.line.registered) || p.s.session.State() == SignedIn)
	next := snapshots.Get().(*snapshot)
	next.screen = p.render()
	p.fillStatus(&next.status)
	old := p.published.Load()
	var oldStatus *Status
	if old != nil {
		oldStatus = &old.status
	}
	if ms, err := p.s.calls.media(); err == nil {
		p.changes.follow(ms, p.goWork)
	}
	p.s.calls.cueWaiting()
	p.changes.changed(&next.status, oldStatus)
	screenChanged := old == nil || !old.screen.Equal(next.screen)
	if !screenChanged && old.status.Equal(&next.status) {
		snapshots.Put(next) // a task that changed nothing: nothing to tell
		return
	}
	stateChanged := screenChanged || !sameState(&old.status, &next.status)
	p.published.Store(next)
	if !stateChanged {
		return
	}
	p.subs.tell(next, screenChanged)
}

// sameState compares two statuses but for the time. b is the loop's own
// snapshot: its time is set aside while they are compared.
func sameState(a, b *Status) bool {
	t := b.Time
	b.Time = a.Time
	same := a.Equal(b)
	b.Time = t
	return same
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
