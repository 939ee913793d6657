package phone

import (
	"context"
	"sync"

	"github.com/deskphone/deskphone/media"
)

// changeHub calls its subscribers whenever something a Status line shows
// may have changed, including what the screen does not show (media).
type changeHub struct {
	mu   sync.Mutex
	subs map[int]func()
	next int
	// watched is the call's media session whose events are drained (loop
	// goroutine only).
	watched *media.Session
}

// settledSame reports whether now and old differ in nothing but the time
// and what moves with every packet (the RTP and SRTP counters, jitter,
// MOS): those alone do not wake subscribers, or a reader of the status
// would wake itself. now is the loop's own draft: it takes old's values of
// those while they are compared, and gets its own back; old, published, is
// only read.
func settledSame(now, old *Status) bool {
	t, sent, recv, lost := now.Time, now.RTPSent, now.RTPReceived, now.RTPLost
	auth, replayed, jitter, mos := now.SRTPAuthFail, now.SRTPReplayed, now.JitterMS, now.MOS
	now.Time, now.RTPSent, now.RTPReceived, now.RTPLost = old.Time, old.RTPSent, old.RTPReceived, old.RTPLost
	now.SRTPAuthFail, now.SRTPReplayed, now.JitterMS, now.MOS = old.SRTPAuthFail, old.SRTPReplayed, old.JitterMS, old.MOS
	same := now.Equal(old)
	now.Time, now.RTPSent, now.RTPReceived, now.RTPLost = t, sent, recv, lost
	now.SRTPAuthFail, now.SRTPReplayed, now.JitterMS, now.MOS = auth, replayed, jitter, mos
	return same
}

// SubscribeChanges calls f whenever a Status value may have changed: after
// a task of the phone's loop changed one, whether or not the screen
// changed, and whenever the call's audio hears a tone or a DTMF digit. The
// packet counters (rtp_*, srtp_auth_fail, srtp_replayed, jitter_ms, mos)
// alone do not call it. Waiting on a
// condition wakes from it instead of polling. f runs on the phone's loop
// or a media goroutine and must neither block nor call back into the phone.
// It returns a cancel func.
func (p *Phone) SubscribeChanges(f func()) func() {
	h := &p.changes
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs == nil {
		h.subs = map[int]func(){}
	}
	id := h.next
	h.next++
	h.subs[id] = f
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.subs, id)
	}
}

// follow drains the events of the focused call's media session ms, whose
// tone and DTMF events change the status without a task, on work the
// phone owns (goWork); it runs on the loop after every task.
func (h *changeHub) follow(ms *media.Session, goWork func(func(context.Context))) {
	if ms == h.watched {
		return
	}
	h.watched = ms
	goWork(func(ctx context.Context) {
		// The session closes its event channel when the call ends.
		for {
			select {
			case _, ok := <-ms.Events():
				if !ok {
					return
				}
				h.notify()
			case <-ctx.Done():
				return
			}
		}
	})
}

// changed runs on the loop after every task with the status it left and
// the one published before it (nil at first): it tells the subscribers
// when the status changed. The published status stands for the one the
// subscribers were last told of: every change that counts was told when
// it was published.
func (h *changeHub) changed(now, old *Status) {
	if old == nil || !settledSame(now, old) {
		h.notify()
	}
}

func (h *changeHub) notify() {
	h.mu.Lock()
	subs := make([]func(), 0, len(h.subs))
	for _, f := range h.subs {
		subs = append(subs, f)
	}
	h.mu.Unlock()
	for _, f := range subs {
		f()
	}
}
