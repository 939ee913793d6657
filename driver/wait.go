package driver

import (
	"context"
	"fmt"
	"time"

	"github.com/deskphone/deskphone/phone"
)

// Check is a condition on a phone: ok when it holds; otherwise why says
// what was seen instead, and err that it never can hold.
type Check func(p *phone.Phone) (ok bool, why string, err error)

// WaitOptions say how long a wait lasts and how time moves meanwhile.
type WaitOptions struct {
	// Timeout bounds the wait in wall time.
	Timeout time.Duration
	// Stall, when set, is called when the condition fails and no change is
	// pending: a runner on virtual time lets the network settle and moves
	// its clock to the next timer. It returns false once the clock has
	// reached the wait's own deadline; Wait then checks a last time. An
	// error (the network never settled) ends the wait with that error.
	Stall func() (more bool, err error)
	// Recheck, when set, checks again at least this often: what a
	// condition on fresh audio reads (packet counters) wakes no one.
	Recheck time.Duration
}

// AudioRecheck is how often a wait on what the call hears checks the
// packet counters: one packet time.
const AudioRecheck = 20 * time.Millisecond

// WaitCond waits until c holds on p, like Wait. Tone and DTMF count only
// what p hears after the wait began, unless c carries an earlier Since
// mark: a value left from before (a hold, an earlier call) does not pass
// at once.
func WaitCond(ctx context.Context, p *phone.Phone, c Cond, opts WaitOptions) error {
	if c.Audio() {
		if !c.Since.Set {
			h, err := MarkHeard(p)
			if err != nil {
				return err
			}
			c.Since = h
		}
		if opts.Recheck == 0 {
			opts.Recheck = AudioRecheck
		}
	}
	return Wait(ctx, p, c.Check, opts)
}

// TimeoutError is a wait that ended without its condition.
type TimeoutError struct {
	// After is how long the wait lasted in wall time.
	After time.Duration
	// Stalled says the Stall hook ended it (its clock reached the deadline)
	// rather than the wall-time bound.
	Stalled bool
	// Why is what the phone showed instead.
	Why string
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("timed out after %v; %s", e.After.Truncate(time.Millisecond), e.Why)
}

// Wait blocks until check holds on p, with ctx, or until opts end it. It is
// woken by the phone itself (every change of its screen or status, every
// syslog line, what the call hears), never by polling.
func Wait(ctx context.Context, p *phone.Phone, check Check, opts WaitOptions) error {
	began := time.Now()
	wake := make(chan struct{}, 1)
	poke := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	defer p.Subscribe(poke)()
	defer p.SubscribeChanges(poke)()
	defer p.SubscribeLogs(func(phone.LogLine) { poke() })()
	timer := time.NewTimer(opts.Timeout)
	defer timer.Stop()
	var recheck <-chan time.Time
	if opts.Recheck > 0 {
		t := time.NewTicker(opts.Recheck)
		defer t.Stop()
		recheck = t.C
	}
	for {
		ok, why, err := check(p)
		if err != nil || ok {
			return err
		}
		select {
		case <-wake:
			continue // something changed meanwhile: look again first
		default:
		}
		if opts.Stall != nil {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-timer.C:
				return &TimeoutError{After: time.Since(began), Why: why}
			default:
			}
			more, err := opts.Stall()
			if err != nil {
				return err
			}
			if more {
				continue
			}
			ok, why, err := check(p)
			if err != nil || ok {
				return err
			}
			return &TimeoutError{After: time.Since(began), Stalled: true, Why: why}
		}
		select {
		case <-wake:
		case <-recheck:
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			return &TimeoutError{After: time.Since(began), Why: why}
		case <-p.Done():
			return phone.ErrClosed
		}
	}
}
