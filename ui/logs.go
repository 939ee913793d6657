package ui

import (
	"slices"
	"sync"

	"github.com/deskphone/deskphone/phone"
)

// logKeep bounds the log pane and the lines waiting for it.
const logKeep = 500

// logFeed collects the phone's syslog lines for the log pane: the tail the
// phone kept, then each new line. It is filled on the phone's goroutine and
// drained on tview's, so it has its own lock and never blocks for long.
type logFeed struct {
	mu    sync.Mutex
	lines []phone.LogLine // not yet shown
}

// follow subscribes to p's log and queues its last n lines; wake is called
// (on the phone's goroutine) after each new line. It returns the cancel func.
func (f *logFeed) follow(p *phone.Phone, n int, wake func()) func() {
	cancel := p.SubscribeLogs(func(l phone.LogLine) {
		f.mu.Lock()
		f.lines = append(f.lines, l)
		if len(f.lines) > logKeep {
			f.lines = slices.Delete(f.lines, 0, len(f.lines)-logKeep)
		}
		f.mu.Unlock()
		wake()
	})
	// Subscribing first means no line falls between the tail and the
	// subscription; a line may be in both, and joinLogs drops the repeat.
	tail := p.Logs(n)
	f.mu.Lock()
	f.lines = joinLogs(tail, f.lines)
	f.mu.Unlock()
	return cancel
}

// take returns the queued lines and empties the queue.
func (f *logFeed) take() []phone.LogLine {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.lines
	f.lines = nil
	return out
}

// joinLogs appends live to tail, leaving out the lines at the start of live
// that tail already ends with: lines logged after the subscription but before
// the tail was taken.
func joinLogs(tail, live []phone.LogLine) []phone.LogLine {
	for k := min(len(tail), len(live)); k > 0; k-- {
		if slices.Equal(tail[len(tail)-k:], live[:k]) {
			live = live[k:]
			break
		}
	}
	return append(slices.Clip(tail), live...)
}
