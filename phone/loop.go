// The phone's loop: the one goroutine that owns its state, the tasks it runs, its end, and the work it owns off the loop.

package phone

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/deskphone/deskphone/clock"
)

// Start boots the phone and runs its loop until Close or ctx ends. It
// returns once the phone has booted; a second call returns ErrStarted.
func (p *Phone) Start(ctx context.Context) error {
	if err := p.loop.start(ctx); err != nil {
		return err
	}
	return p.do(p.boot)
}

// Close stops the phone and waits for its loop to end: its line
// unregisters, its timers stop and the work it runs off the loop ends
// before Close returns. A phone never started has no loop to wait for; its
// temporary state goes at once.
func (p *Phone) Close() error { return p.loop.close() }

// Done is closed when the phone's loop has ended (Close, or its context).
func (p *Phone) Done() <-chan struct{} { return p.done }

// Settled reports whether the phone has nothing in progress: no task queued
// for or running on its loop and no SIP request waiting for an answer. A
// runner on virtual time moves the clock only when every phone has settled.
// It reads counters, not the loop, so a runner asks a hundred phones in
// microseconds.
func (p *Phone) Settled() bool {
	if p.loop.ended() {
		return true
	}
	if p.loop.pending() {
		return false
	}
	ua := p.ua.Load()
	return ua == nil || !(*ua).Busy()
}

// taskQueue is how many tasks may wait for the loop before a sender waits:
// the loop takes them at once, and ten thousand phones each keep the queue.
const taskQueue = 16

// closeWait bounds how long Close waits for a loop stuck in a task.
const closeWait = 5 * time.Second

// loop is the one goroutine that owns a phone's state, in the manner of
// pion/ice's taskloop: it runs the tasks handed to it one at a time, in
// the order they came, and refuses them with ErrClosed once it is closing.
// It owns what runs on the phone's behalf: the timers of its parts (tm)
// and the work off the loop (goWork), which its end stops and waits for,
// so that after Close nothing of the phone runs or writes. What a task
// means, what follows one and what the end lets go of are its owner's
// (loopHooks): the loop knows nothing of phones.
type loop struct {
	tasks  chan task
	queued atomic.Int32  // tasks handed to the loop and not yet run
	done   chan struct{} // closed when the loop has ended
	closed chan struct{} // closed when closing begins: no task runs after

	life    sync.Mutex // orders start and close
	started atomic.Bool
	closing bool

	// work is what runs off the loop under workCtx, which the end cancels
	// before it waits for the work.
	work       sync.WaitGroup
	workCtx    context.Context
	workCancel context.CancelFunc

	// tm runs the parts' timers; loop-owned.
	tm timers

	hooks loopHooks
}

// loopHooks are what the loop's owner does at its turns.
type loopHooks struct {
	// afterTask runs on the loop after every task but queries: the phone
	// publishes what it shows.
	afterTask func()
	// stop runs on the loop at its end, before the work off the loop is
	// cancelled and waited for: the phone retires its line.
	stop func()
	// release runs once nothing of the loop runs any more, also for a loop
	// never started: the phone lets go of its state directory.
	release func()
}

// task is one unit of work for the loop goroutine.
type task struct {
	f    func()
	done chan struct{}
	// query marks a task that only reads state: no afterTask.
	query bool
}

// init readies l to start; its timers run on c.
func (l *loop) init(c clock.Clock, h loopHooks) {
	l.tasks = make(chan task, taskQueue)
	l.done = make(chan struct{})
	l.closed = make(chan struct{})
	l.workCtx, l.workCancel = context.WithCancel(context.Background())
	l.tm = timers{clock: c, enqueue: l.enqueue, done: l.done}
	l.hooks = h
}

// start runs the loop until close or ctx ends; it fails with ErrStarted the
// second time and with ErrClosed after close.
func (l *loop) start(ctx context.Context) error {
	l.life.Lock()
	defer l.life.Unlock()
	switch {
	case l.closing:
		return ErrClosed
	case l.started.Load():
		return ErrStarted
	}
	l.started.Store(true)
	go l.run(ctx)
	return nil
}

func (l *loop) run(ctx context.Context) {
	defer close(l.done)
	for {
		select {
		case <-ctx.Done():
			// The end of ctx is a close: the phone unregisters, waiting
			// for the answer, before the loop ends.
			l.markClosing()
			l.shutdown()
			return
		case <-l.closed:
			l.shutdown()
			return
		case t := <-l.tasks:
			t.f()
			if !t.query {
				l.hooks.afterTask()
			}
			close(t.done)
			l.queued.Add(-1)
		}
	}
}

// shutdown ends what the loop owns, on the loop: the owner's stop, the
// timers, then the work off the loop, and then the owner's release.
func (l *loop) shutdown() {
	l.hooks.stop()
	l.tm.stopAll()
	l.workCancel()
	l.work.Wait()
	l.hooks.release()
}

// close stops the loop and waits for its end. A loop never started has
// nothing to wait for: it releases at once.
func (l *loop) close() error {
	l.life.Lock()
	if !l.closing {
		l.closing = true
		close(l.closed)
		if !l.started.Load() {
			l.workCancel()
			l.hooks.release()
			close(l.done)
		}
	}
	l.life.Unlock()
	select {
	case <-l.done:
		return nil
	case <-time.After(closeWait):
		// Wall time on purpose: this guards against a stuck loop, which no
		// phone clock would ever move past.
		return errorf(ErrStuck, "phone: loop did not stop")
	}
}

// markClosing records that the loop is ending, as close does, for a loop
// whose context ended.
func (l *loop) markClosing() {
	l.life.Lock()
	defer l.life.Unlock()
	if !l.closing {
		l.closing = true
		close(l.closed)
	}
}

// ended reports whether the loop has ended (or was closed unstarted).
func (l *loop) ended() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// pending reports whether tasks are queued for or running on the loop.
func (l *loop) pending() bool { return l.queued.Load() > 0 }

// goWork runs f off the loop under its lifetime: f's requests take ctx,
// and the loop's end cancels it and waits for f. It is called from the
// loop only, so no goroutine is added once shutdown waits.
func (l *loop) goWork(f func(ctx context.Context)) {
	l.work.Add(1)
	go func() {
		defer l.work.Done()
		f(l.workCtx)
	}()
}

// do runs f on the loop goroutine and returns once f has run and the
// afterTask hook (the phone's publish) with it.
func (l *loop) do(f func()) error { return l.submit(task{f: f, done: make(chan struct{})}) }

// doErr runs f on the loop and returns its error.
func (l *loop) doErr(f func() error) error {
	var err error
	if cerr := l.do(func() { err = f() }); cerr != nil {
		return cerr
	}
	return err
}

// query runs f on the loop to read state: it changes nothing, so no
// afterTask follows it.
func (l *loop) query(f func()) error {
	return l.submit(task{f: f, done: make(chan struct{}), query: true})
}

// submit hands t to the loop and waits for it to run.
func (l *loop) submit(t task) error {
	if err := l.enqueue(t); err != nil {
		return err
	}
	select {
	case <-t.done:
		return nil
	case <-l.done:
		return ErrClosed
	case <-l.closed:
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
func (l *loop) enqueue(t task) error {
	if !l.started.Load() {
		select {
		case <-l.closed:
			return ErrClosed
		default:
			return ErrNotStarted
		}
	}
	return l.send(t, nil)
}

// post hands f to the loop without waiting for it; it gives up when stop
// closes or the loop ends, and reports whether f was queued. It is for
// callers that outlive their right to post (a UA being retired closes
// stop), so they never wait on a loop that waits on them.
func (l *loop) post(stop chan struct{}, f func()) bool {
	return l.send(task{f: f, done: make(chan struct{})}, stop) == nil
}

// send queues t, counted from the moment the sender waits so that pending
// sees it, unless stop closes or the loop ends first. A closing loop takes
// nothing, though its queue may have room.
func (l *loop) send(t task, stop <-chan struct{}) error {
	select {
	case <-l.closed:
		return ErrClosed
	default:
	}
	l.queued.Add(1)
	select {
	case l.tasks <- t:
		return nil
	case <-stop:
	case <-l.done:
	case <-l.closed:
	}
	l.queued.Add(-1)
	return ErrClosed
}
