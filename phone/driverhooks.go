package phone

import (
	"strings"
	"sync"

	"github.com/deskphone/deskphone/media"
)

// changeHub calls its subscribers whenever something a Status line shows
// may have changed, including what the screen does not show (media).
type changeHub struct {
	mu   sync.Mutex
	subs map[int]func()
	next int
	// watched is the call's media session whose events are drained, last
	// the status the subscribers were told of (loop goroutine only).
	watched *media.Session
	last    string
}

// volatileStatus are the status keys that move with every packet: they do
// not wake subscribers, or a reader of the status would wake itself.
var volatileStatus = map[string]bool{
	"rtp_tx": true, "rtp_rx": true, "rtp_lost": true, "srtp_auth_fail": true,
	"srtp_replayed": true, "jitter_ms": true, "mos": true,
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

// stateChanged runs on the loop after every task: it tells the subscribers
// when the status changed, and follows the call's media session, whose tone
// and DTMF events change the status without a task.
func (p *Phone) stateChanged() {
	var b strings.Builder
	for _, kv := range p.status() {
		if !volatileStatus[kv[0]] {
			b.WriteString(kv[0] + "=" + kv[1] + "\n")
		}
	}
	if ms, err := p.callMedia(); err == nil && ms != p.changes.watched {
		p.changes.watched = ms
		go func() {
			// The session closes its event channel when the call ends.
			for range ms.Events() {
				p.changes.notify()
			}
		}()
	}
	if fp := b.String(); fp != p.changes.last {
		p.changes.last = fp
		p.changes.notify()
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
