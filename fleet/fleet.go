package fleet

import (
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/deskphone/deskphone/driver"
	"github.com/deskphone/deskphone/internal/memdir"
	"github.com/deskphone/deskphone/media"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/statedir"
)

// Options are how a fleet runs its members.
type Options struct {
	// Catalog holds the models; nil is the built-in catalog.
	Catalog *catalog.Catalog
	// Rate is phones started per second (0: no pacing); Jitter (0 to 1)
	// moves each start by up to that fraction of the interval.
	Rate, Jitter float64
	// RegisterJitter is each phone's phone.WithRegisterJitter; the default
	// 0.5 spreads the fleet's retries over half the back-off.
	RegisterJitter float64
	// Connecting bounds the phones between their start and the answer to
	// their first REGISTER (TCP and TLS handshakes, digest challenge): a
	// start waits for a place. A fleet that starts unpaced then goes as
	// fast as the cloud answers instead of overflowing its accept queue
	// and timing out handshakes, which would send thousands of phones into
	// back-off at once. 0 is DefaultConnecting; negative: no bound.
	Connecting int
	// Workers build phones at once (creating a state directory waits on
	// the disk); 0 is 64.
	Workers int
	// Metrics, when set, are fed by every phone.
	Metrics *Metrics
	// Options are added to every phone's.
	Options []phone.Option
	// Tap sees the RTP of every phone in the clear (a packet capture).
	Tap media.Tap
	// MediaPorts is how the phones' calls use local ports: shared (the
	// default) or a pair per call.
	MediaPorts media.Ports
}

// DefaultConnecting is Options.Connecting's default: enough handshakes in
// flight to keep a cloud's cores busy, few enough for its accept queue.
const DefaultConnecting = 256

// connectingLimit is how long a phone may hold its place among the
// connecting before the next start goes ahead anyway.
const connectingLimit = 30 * time.Second

// Phone is a running member of the fleet.
type Phone struct {
	Member
	Phone *phone.Phone

	stop    func() error
	watch   *watcher
	unwatch func()
}

// Fleet is the running phones of a plan.
type Fleet struct {
	opts    Options
	members []Member
	engines driver.Engines
	// ephemeral is the throw-away state root made for this run.
	ephemeral string

	// connecting holds a token per phone whose first registration has
	// no answer yet (Options.Connecting); nil when unbounded.
	connecting chan struct{}

	mu     sync.RWMutex
	phones []*Phone // by member index; nil until built
	byID   map[string]*Phone
	built  atomic.Int64
	failed atomic.Int64
	errMu  sync.Mutex
	errs   []error
	// load is the call load started last (StartLoad), nil when none.
	load *CallLoad
}

// New plans a fleet of members; nothing runs until Start.
func New(members []Member, opts Options) *Fleet {
	if opts.Workers <= 0 {
		opts.Workers = 64
	}
	if opts.RegisterJitter == 0 {
		opts.RegisterJitter = 0.5
	}
	if opts.Connecting == 0 {
		opts.Connecting = DefaultConnecting
	}
	f := &Fleet{opts: opts, members: members, phones: make([]*Phone, len(members)), byID: make(map[string]*Phone, len(members))}
	f.engines.Tap = opts.Tap
	f.engines.Ports = opts.MediaPorts
	if opts.Connecting > 0 {
		f.connecting = make(chan struct{}, opts.Connecting)
	}
	if opts.Metrics != nil {
		opts.Metrics.addGroups(members)
	}
	return f
}

// Members is the plan.
func (f *Fleet) Members() []Member { return f.members }

// Progress is how far Start has come.
type Progress struct {
	Total, Built, Failed, Registered int
}

// Progress reads the counts now.
func (f *Fleet) Progress() Progress {
	p := Progress{Total: len(f.members), Built: int(f.built.Load()), Failed: int(f.failed.Load())}
	for _, ph := range f.Phones() {
		if ph.Phone.Published().Registered {
			p.Registered++
		}
	}
	return p
}

// NotRegistered counts the running phones not registered now by why: their
// registration error, or "no answer yet".
func (f *Fleet) NotRegistered() map[string]int {
	m := map[string]int{}
	for _, ph := range f.Phones() {
		if st := ph.Phone.Published(); !st.Registered {
			m[cmp.Or(st.RegistrationError, "no answer yet")]++
		}
	}
	return m
}

// Start builds and starts every member, paced by Rate with Jitter, and
// returns once each has been built or has failed to (a failure is counted
// and kept, the rest go on) and the first registration of each has an
// answer (or connectingLimit passed), or ctx ends. Retries go on after.
func (f *Fleet) Start(ctx context.Context) error {
	needRoot := false
	for _, m := range f.members {
		needRoot = needRoot || m.StateDir == ""
	}
	if needRoot {
		root, err := memdir.MkdirTemp("deskphone-fleet-")
		if err != nil {
			return err
		}
		f.ephemeral = root
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range f.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				f.build(ctx, i)
			}
		}()
	}
	var interval time.Duration
	if f.opts.Rate > 0 {
		interval = time.Duration(float64(time.Second) / f.opts.Rate)
	}
	start := time.Now()
	for i := range f.members {
		if interval > 0 {
			due := start.Add(time.Duration(i) * interval)
			if f.opts.Jitter > 0 {
				due = due.Add(time.Duration((rand.Float64()*2 - 1) * f.opts.Jitter * float64(interval)))
			}
			if d := time.Until(due); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
				}
			}
		}
		if ctx.Err() != nil {
			break
		}
		select {
		case jobs <- i:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	f.waitConnecting(ctx)
	return ctx.Err()
}

// waitConnecting returns once every place among the connecting is free
// again, or ctx ends.
func (f *Fleet) waitConnecting(ctx context.Context) {
	if f.connecting == nil {
		return
	}
	for range cap(f.connecting) {
		select {
		case f.connecting <- struct{}{}:
		case <-ctx.Done():
			return
		}
	}
	for range cap(f.connecting) {
		<-f.connecting
	}
}

func (f *Fleet) build(ctx context.Context, i int) {
	m := f.members[i]
	spec := driver.Spec{Catalog: f.opts.Catalog, Model: m.Model, Firmware: m.Firmware, StateDir: m.StateDir,
		CA: m.CA, Engines: &f.engines, SRTP: m.SRTP, Codecs: m.Codecs, Audio: m.Audio, Provisioning: m.Provisioning,
		Options: append([]phone.Option{phone.WithRegisterJitter(f.opts.RegisterJitter)}, f.opts.Options...)}
	if m.Server != "" {
		// A gateway phone without one takes the gateway's.
		spec.Account = &statedir.Account{Server: m.Server, User: m.ID, Password: m.Password, Domain: m.Domain}
	}
	if spec.StateDir == "" {
		// The throw-away root is this process's own (made by MkdirTemp):
		// no other process can open its phones, so they hold no lock file,
		// and a phone costs one file descriptor, its connection.
		spec.StateDir = f.ephemeral + "/" + m.ID
		spec.Options = append(spec.Options, phone.WithoutStateLock())
	}
	release := f.takeConnecting(ctx)
	if release == nil {
		return
	}
	ph := &Phone{Member: m}
	built := time.Now()
	// ctx bounds the start only: the phones run until Stop, which
	// unregisters them a bounded number at a time.
	p, stop, err := driver.Build(context.WithoutCancel(ctx), spec)
	if err != nil {
		release()
		f.failed.Add(1)
		if f.opts.Metrics != nil {
			f.opts.Metrics.buildFailures.Inc()
		}
		f.errMu.Lock()
		f.errs = append(f.errs, fmt.Errorf("phone %s: %w", m.ID, err))
		f.errMu.Unlock()
		return
	}
	ph.Phone, ph.stop = p, stop
	f.releaseWhenAnswered(p, release)
	if f.opts.Metrics != nil {
		f.opts.Metrics.running.Add(1)
		ph.watch = &watcher{m: f.opts.Metrics, group: m.Group, built: built}
		ph.unwatch = p.Watch(func(_ phone.Screen, st phone.Status) { ph.watch.observe(&st) })
		// What the phone published before the watch began.
		ph.watch.prime(p)
	}
	f.mu.Lock()
	f.phones[i] = ph
	f.byID[m.ID] = ph
	f.mu.Unlock()
	f.built.Add(1)
}

// answeredFirst reports whether a phone's first registration has its
// answer, or will have none: the gateway refused or offboarded it.
func answeredFirst(st *phone.Status) bool {
	return st.Registered || st.RegistrationError != "" ||
		st.Gateway == phone.GatewayRefused || st.Gateway == phone.GatewayOffboarded
}

// takeConnecting waits for a place among the connecting phones and returns
// what gives it back; nil when ctx ended first.
func (f *Fleet) takeConnecting(ctx context.Context) (release func()) {
	if f.connecting == nil {
		return func() {}
	}
	select {
	case f.connecting <- struct{}{}:
	case <-ctx.Done():
		return nil
	}
	var once sync.Once
	return func() { once.Do(func() { <-f.connecting }) }
}

// releaseWhenAnswered gives back p's place once its first registration has
// an answer (registered, or a reason it failed), it stops, or
// connectingLimit passes.
func (f *Fleet) releaseWhenAnswered(p *phone.Phone, release func()) {
	if f.connecting == nil {
		return
	}
	answered := make(chan struct{})
	var once sync.Once
	unwatch := p.Watch(func(_ phone.Screen, st phone.Status) {
		if answeredFirst(&st) {
			once.Do(func() { close(answered) })
		}
	})
	if st := p.Published(); answeredFirst(&st) {
		once.Do(func() { close(answered) })
	}
	go func() {
		t := time.NewTimer(connectingLimit)
		defer t.Stop()
		select {
		case <-answered:
		case <-p.Done():
		case <-t.C:
		}
		release()
		unwatch()
	}()
}

// Errors are the phones that could not be built, each with its reason.
func (f *Fleet) Errors() []error {
	f.errMu.Lock()
	defer f.errMu.Unlock()
	return append([]error(nil), f.errs...)
}

// Phones lists the running phones in plan order.
func (f *Fleet) Phones() []*Phone {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]*Phone, 0, len(f.phones))
	for _, p := range f.phones {
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}

// Lookup finds a running phone by id.
func (f *Fleet) Lookup(id string) (*Phone, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	p, ok := f.byID[id]
	return p, ok
}

// Stop closes every phone, each unregistering first, many at once, and
// returns when all are closed or ctx ends (the phones left are then
// abandoned to the process's exit).
func (f *Fleet) Stop(ctx context.Context) error {
	if l := f.CurrentLoad(); l != nil {
		l.Close()
	}
	f.mu.Lock()
	phones := f.phones
	f.phones = make([]*Phone, len(f.members))
	f.byID = map[string]*Phone{}
	f.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		sem := make(chan struct{}, 512)
		var wg sync.WaitGroup
		for _, p := range phones {
			if p == nil {
				continue
			}
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				if p.unwatch != nil {
					p.unwatch()
				}
				p.stop()
				if p.watch != nil {
					p.watch.gone()
					f.opts.Metrics.running.Add(-1)
				}
			}()
		}
		wg.Wait()
		f.engines.Close()
		if f.ephemeral != "" {
			os.RemoveAll(f.ephemeral)
		}
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stopping the fleet: %w", ctx.Err())
	}
}

// WriteBulkCSV writes the built phones as a Teams SIP Gateway bulk
// sign-in file: a header "Username,HardwareId", then a row per phone,
// its user name (its id) and its MAC as xx-xx-xx-xx-xx-xx, in the
// fleet's order. A phone that failed to start has no row.
func (f *Fleet) WriteBulkCSV(w io.Writer) error {
	f.mu.Lock()
	phones := slices.Clone(f.phones)
	f.mu.Unlock()
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"Username", "HardwareId"}); err != nil {
		return fmt.Errorf("bulk sign-in CSV: %w", err)
	}
	for _, ph := range phones {
		if ph == nil || ph.Phone == nil {
			continue
		}
		mac := strings.ReplaceAll(strings.ToLower(ph.Phone.Identity().MAC), ":", "-")
		if err := cw.Write([]string{ph.ID, mac}); err != nil {
			return fmt.Errorf("bulk sign-in CSV: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("bulk sign-in CSV: %w", err)
	}
	return nil
}
