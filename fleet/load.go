package fleet

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/deskphone/deskphone/internal/numbered"
)

// LoadConfig is call load in SIPp's terms: a rate of new calls, how long
// each stays up, a bound on the calls at once, and when to stop placing.
type LoadConfig struct {
	// Rate is new calls per second (SIPp -r); 0 pauses the placing.
	Rate float64
	// Duration is how long a call stays up once answered (SIPp -d).
	Duration time.Duration
	// MaxCalls bounds the calls up or being set up at once (SIPp -l);
	// new calls wait while at the bound. 0: no bound.
	MaxCalls int
	// Calls stops the placing after this many calls (SIPp -m); For after
	// this long. 0: no bound.
	Calls int
	For   time.Duration
	// Timeout fails a call not answered within it (reason "timeout");
	// 0 is DefaultCallTimeout.
	Timeout time.Duration
	// To is whom the calls go to: "fleet" (another idle phone of the
	// fleet), a user pattern such as load{n:05d} (n over the fleet's
	// phones), a service user such as echo, or a SIP URI.
	To string
}

// maxBacklog is how far behind its schedule the placer catches up.
const maxBacklog = time.Second

// DefaultCallTimeout is LoadConfig.Timeout's default.
const DefaultCallTimeout = 30 * time.Second

// ToFleet is LoadConfig.To for calls between the fleet's own phones.
const ToFleet = "fleet"

// ErrLoad is a load that cannot run as asked.
var ErrLoad = errors.New("call load")

// Check reports what is wrong with c, each knob by the name its flag has.
func (c LoadConfig) Check() error {
	switch {
	case c.Rate < 0 || math.IsNaN(c.Rate) || c.Rate > 10000:
		return fmt.Errorf("%w: rate %v: want 0 to 10000 calls per second", ErrLoad, c.Rate)
	case c.Duration < 0:
		return fmt.Errorf("%w: duration %v is negative", ErrLoad, c.Duration)
	case c.MaxCalls < 0:
		return fmt.Errorf("%w: max calls %d is negative", ErrLoad, c.MaxCalls)
	case c.Calls < 0:
		return fmt.Errorf("%w: calls %d is negative", ErrLoad, c.Calls)
	case c.For < 0:
		return fmt.Errorf("%w: for %v is negative", ErrLoad, c.For)
	case c.Timeout < 0:
		return fmt.Errorf("%w: timeout %v is negative", ErrLoad, c.Timeout)
	case strings.TrimSpace(c.To) == "":
		return fmt.Errorf("%w: no target: give fleet, a user pattern like load{n:05d}, a service user like echo, or a SIP URI", ErrLoad)
	case strings.ContainsAny(c.To, " \t\r\n"):
		return fmt.Errorf("%w: target %q has a space", ErrLoad, c.To)
	}
	if strings.Contains(c.To, "{") {
		if _, err := numbered.Parse(c.To); err != nil {
			return fmt.Errorf("%w: target %q: %w", ErrLoad, c.To, err)
		}
	}
	return nil
}

// CallLoad places calls from the fleet's idle registered phones, round-robin.
// Its placer and every call's goroutine are its own: Close stops them and
// waits. Nothing of it is per phone but a slot in its queue of idle
// phones (a few bytes each); picking a phone is O(1).
type CallLoad struct {
	f       *Fleet
	m       *Metrics
	pattern *numbered.Pattern
	members []Member
	phones  []*Phone

	ctx    context.Context
	cancel context.CancelFunc
	wake   chan struct{}
	placer sync.WaitGroup
	calls  sync.WaitGroup
	done   chan struct{}

	mu      sync.Mutex
	cfg     LoadConfig
	started time.Time
	stopped bool // no more placing
	idle    idleQueue
	next    int // the pattern target's next member
	stats   loadStats
}

// StartLoad starts placing calls as cfg says. One load runs at a time:
// stop it (CallLoad.Stop) and wait for it (CallLoad.Done) before the next.
func (f *Fleet) StartLoad(cfg LoadConfig) (*CallLoad, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultCallTimeout
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.load != nil {
		select {
		case <-f.load.done:
		default:
			return nil, fmt.Errorf("%w: a load is running: stop it first", ErrLoad)
		}
	}
	l := &CallLoad{f: f, m: f.opts.Metrics, members: f.members, phones: append([]*Phone(nil), f.phones...),
		cfg: cfg, wake: make(chan struct{}, 1), done: make(chan struct{}), started: time.Now()}
	if cfg.To != ToFleet && strings.Contains(cfg.To, "{") {
		pat, err := numbered.Parse(cfg.To)
		if err != nil {
			return nil, fmt.Errorf("%w: target %q: %w", ErrLoad, cfg.To, err)
		}
		if !pat.Fixed() {
			l.pattern = &pat
		}
	}
	l.idle = newIdleQueue(len(l.phones))
	for i, ph := range l.phones {
		if ph != nil {
			l.idle.push(i)
		}
	}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.placer.Add(1)
	go l.place()
	f.load = l
	return l, nil
}

// CurrentLoad is the load started last, nil when none.
func (f *Fleet) CurrentLoad() *CallLoad {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.load
}

// pop takes the oldest idle registered phone but not, -1 when none.
func (l *CallLoad) pop(not int) int {
	return l.idle.pop(func(i int) bool { return i != not && l.phones[i].Phone.Published().Registered })
}

// release gives back phone i once its load call is over.
func (l *CallLoad) release(i int) {
	if i >= 0 {
		l.idle.release(i)
	}
}

// signal wakes the placer.
func (l *CallLoad) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Change sets a new rate and, when maxCalls is not nil, a new bound on
// the calls at once (0: none).
func (l *CallLoad) Change(rate *float64, maxCalls *int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	cfg := l.cfg
	if rate != nil {
		cfg.Rate = *rate
	}
	if maxCalls != nil {
		cfg.MaxCalls = *maxCalls
	}
	if err := cfg.Check(); err != nil {
		return err
	}
	l.cfg = cfg
	l.signal()
	return nil
}

// Stop ends the placing; the calls up run to their end.
func (l *CallLoad) Stop() {
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
	l.signal()
}

// Close ends the placing, hangs up every call now and waits for them.
func (l *CallLoad) Close() {
	l.Stop()
	l.cancel()
	l.placer.Wait()
	<-l.done
}

// Done is closed once the placing has stopped and the last call ended.
func (l *CallLoad) Done() <-chan struct{} { return l.done }

// Config is the load's knobs now.
func (l *CallLoad) Config() LoadConfig {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cfg
}

// Placing reports whether the load still places calls.
func (l *CallLoad) Placing() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.stopped
}

// Running reports whether the load still places calls or has calls up.
func (l *CallLoad) Running() bool {
	select {
	case <-l.done:
		return false
	default:
		return true
	}
}

// place is the placer: it starts a call each 1/Rate, within MaxCalls,
// until Stop, Calls or For.
func (l *CallLoad) place() {
	defer l.placer.Done()
	defer func() {
		// The calls placed end on their own; done waits for the last.
		go func() {
			l.calls.Wait()
			close(l.done)
		}()
	}()
	var due time.Time
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		l.mu.Lock()
		cfg, now := l.cfg, time.Now()
		if l.stopped || (cfg.Calls > 0 && l.stats.attempted >= cfg.Calls) || (cfg.For > 0 && now.Sub(l.started) >= cfg.For) {
			l.stopped = true
			l.mu.Unlock()
			return
		}
		wait := time.Duration(-1) // until woken
		if cfg.Rate > 0 {
			interval := time.Duration(float64(time.Second) / cfg.Rate)
			if due.IsZero() || now.Sub(due) > maxBacklog || due.Sub(now) > interval {
				// The first call, calls held back by the bound, the
				// phones or a pause for over maxBacklog, or a higher
				// rate: the schedule starts again now. Held back less,
				// the calls due go out as places free, so the rate
				// holds on average (as SIPp's does at its -l).
				due = now
			}
			wait = due.Sub(now)
		}
		var caller, callee int = -1, -1
		if wait <= 0 && cfg.Rate > 0 && (cfg.MaxCalls == 0 || l.stats.inFlight < cfg.MaxCalls) {
			caller, callee = l.pick()
			if caller >= 0 {
				l.idle.busy[caller] = true
				if callee >= 0 {
					l.idle.busy[callee] = true
				}
				l.stats.attempted++
				l.stats.inFlight++
				due = due.Add(time.Duration(float64(time.Second) / cfg.Rate))
			} else {
				wait = -1 // until a phone is free
			}
		} else if wait <= 0 {
			wait = -1 // until a call ends or the knobs change
		}
		if rest := l.started.Add(cfg.For).Sub(now); cfg.For > 0 && caller < 0 && (wait < 0 || rest < wait) {
			wait = rest // wake to stop placing at For, paused or not
		}
		to := l.target(callee)
		callee = max(callee, -1)
		l.mu.Unlock()
		if caller >= 0 {
			if l.m != nil {
				l.m.loadCalls.WithLabelValues("attempted").Inc()
			}
			l.calls.Add(1)
			go l.call(caller, callee, to, cfg)
			continue
		}
		if wait > 0 {
			timer.Reset(wait)
		}
		select {
		case <-l.wake:
		case <-timer.C:
		case <-l.ctx.Done():
			l.Stop()
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// pick chooses a caller and, for a target in the fleet, the callee (-1
// otherwise, or when none is free). Under mu.
func (l *CallLoad) pick() (caller, callee int) {
	caller = l.pop(-1)
	if caller < 0 {
		return -1, -1
	}
	switch {
	case l.cfg.To == ToFleet:
		callee = l.pop(caller)
		if callee < 0 {
			l.idle.push(caller)
			return -1, -1
		}
		return caller, callee
	case l.pattern != nil:
		// n runs over the fleet's phones; a callee of the fleet that is
		// busy is passed over, a few at most.
		for range min(len(l.members), 64) {
			m := l.members[l.next%len(l.members)]
			l.next++
			ph, ok := l.f.Lookup(l.pattern.Name(m.N))
			if !ok {
				return caller, -2 // not a phone of this fleet: call it as it is
			}
			if ph.Index == caller || l.idle.busy[ph.Index] {
				continue
			}
			return caller, ph.Index
		}
		l.idle.push(caller)
		return -1, -1
	}
	if ph, ok := l.f.Lookup(l.cfg.To); ok && ph.Index != caller && !l.idle.busy[ph.Index] {
		return caller, ph.Index
	}
	return caller, -1
}

// target is what the caller dials. Under mu.
func (l *CallLoad) target(callee int) string {
	switch {
	case callee >= 0:
		return l.phones[callee].ID
	case callee == -2:
		return l.pattern.Name(l.members[(l.next-1)%len(l.members)].N)
	}
	return l.cfg.To
}
