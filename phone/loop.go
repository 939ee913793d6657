// The phone's loop: the one goroutine that owns its state, the tasks it runs, its end, and the work it owns off the loop.

package phone

import (
	"context"
	"time"
)

// Start boots the phone and runs its loop until Close or ctx ends. It
// returns once the phone has booted; a second call returns ErrStarted.
func (p *Phone) Start(ctx context.Context) error {
	p.life.Lock()
	switch {
	case p.closing:
		p.life.Unlock()
		return ErrClosed
	case p.started.Load():
		p.life.Unlock()
		return ErrStarted
	}
	p.started.Store(true)
	p.life.Unlock()
	go p.loop(ctx)
	return p.do(p.boot)
}

func (p *Phone) loop(ctx context.Context) {
	defer close(p.done)
	for {
		select {
		case <-ctx.Done():
			// The end of ctx is a Close: the phone unregisters, waiting
			// for the answer, before the loop ends.
			p.markClosing()
			p.shutdown()
			return
		case <-p.closed:
			p.shutdown()
			return
		case t := <-p.tasks:
			t.f()
			if !t.query {
				p.publish()
			}
			close(t.done)
			p.queued.Add(-1)
		}
	}
}

func (p *Phone) shutdown() {
	p.stopLine(true)
	p.tm.stopAll()
	p.workCancel()
	p.work.Wait()
	p.releaseState()
}

// goWork runs f off the loop under the phone's lifetime: f's requests take
// ctx, and the phone's end cancels it and waits for f. It is called from
// the loop only, so no goroutine is added once shutdown waits.
func (p *Phone) goWork(f func(ctx context.Context)) {
	p.work.Add(1)
	go func() {
		defer p.work.Done()
		f(p.workCtx)
	}()
}

// Close stops the phone and waits for its loop to end. A phone never
// started has no loop to wait for; its temporary state goes at once.
func (p *Phone) Close() error {
	p.life.Lock()
	if !p.closing {
		p.closing = true
		close(p.closed)
		if !p.started.Load() {
			p.workCancel()
			p.releaseState()
			close(p.done)
		}
	}
	p.life.Unlock()
	select {
	case <-p.done:
		return nil
	case <-time.After(closeWait):
		// Wall time on purpose: this guards against a stuck loop, which no
		// phone clock would ever move past.
		return errorf(ErrStuck, "phone: loop did not stop")
	}
}

// markClosing records that the phone is ending, as Close does, for a loop
// whose context ended.
func (p *Phone) markClosing() {
	p.life.Lock()
	defer p.life.Unlock()
	if !p.closing {
		p.closing = true
		close(p.closed)
	}
}

// do runs f on the loop goroutine and returns once f has run and the screen
// it left has been published.
func (p *Phone) do(f func()) error { return p.run(task{f: f, done: make(chan struct{})}) }

// query runs f on the loop to read state: it changes nothing, so the loop
// neither renders nor publishes after it.
func (p *Phone) query(f func()) error {
	return p.run(task{f: f, done: make(chan struct{}), query: true})
}

func (p *Phone) run(t task) error {
	if err := p.enqueue(t); err != nil {
		return err
	}
	select {
	case <-t.done:
		return nil
	case <-p.done:
		return ErrClosed
	case <-p.closed:
		// A closing loop runs no more tasks, and its shutdown waits for
		// the work that may be calling here.
		select {
		case <-t.done:
			return nil
		default:
			return ErrClosed
		}
	}
}

// enqueue hands t to the loop without waiting for it to run.
func (p *Phone) enqueue(t task) error {
	if !p.started.Load() {
		select {
		case <-p.closed:
			return ErrClosed
		default:
			return ErrNotStarted
		}
	}
	p.queued.Add(1)
	select {
	case p.tasks <- t:
		return nil
	case <-p.done:
	case <-p.closed:
	}
	p.queued.Add(-1)
	return ErrClosed
}

// task is one unit of work for the loop goroutine.
type task struct {
	f    func()
	done chan struct{}
	// query marks a task that only reads state: no render, no publish.
	query bool
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
// for or running on its loop and no SIP request waiting for an answer. A
// runner on virtual time moves the clock only when every phone has settled.
// It reads counters, not the loop, so a runner asks a hundred phones in
// microseconds.
func (p *Phone) Settled() bool {
	select {
	case <-p.done:
		return true
	default:
	}
	if p.queued.Load() > 0 {
		return false
	}
	ua := p.ua.Load()
	return ua == nil || !(*ua).Busy()
}
