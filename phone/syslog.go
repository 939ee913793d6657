package phone

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/deskphone/deskphone/phone/catalog"
)

// LogLine is one syslog line the phone emitted.
type LogLine struct {
	Time  time.Time
	Level string
	Tag   string
	Msg   string
	// Text is the line in the vendor's syslog format.
	Text string
}

// syslog formats and keeps the phone's log lines in the vendor's style. Its
// own lock lets readers take the tail from any goroutine.
type syslog struct {
	format catalog.Syslog
	host   string

	mu  sync.Mutex
	seq int
	// ring holds the last logKeep lines. It grows as lines come; once
	// full, oldest is the slot of the oldest line, which the next one
	// overwrites, so a busy phone logs without copying its history.
	ring   []LogLine
	oldest int
	subs   map[int]func(LogLine)
	next   int
}

const logKeep = 1000

func newSyslog(format catalog.Syslog, host string) *syslog {
	return &syslog{format: format, host: host, subs: map[int]func(LogLine){}}
}

// event logs a named event. The vendor's catalog entry for the event, when
// there is one, decides level, tag and wording; vars fill its {placeholders}
// ({msg} is always set to msg).
func (l *syslog) event(now time.Time, name, level, tag, msg string, vars map[string]string) LogLine {
	if ev, ok := l.format.Events[name]; ok {
		level, tag = ev.Level, ev.Tag
		all := map[string]string{"msg": msg}
		for k, v := range vars {
			all[k] = v
		}
		msg = expand(ev.Msg, all)
	}
	l.mu.Lock()
	l.seq++
	line := LogLine{Time: now, Level: level, Tag: tag, Msg: msg}
	line.Text = expand(l.format.Format, map[string]string{
		"time":  now.Format(l.format.TimeLayout),
		"host":  l.host,
		"level": level,
		"seq":   fmt.Sprint(l.seq),
		"tag":   tag,
		"msg":   msg,
	})
	if len(l.ring) < logKeep {
		l.ring = append(l.ring, line)
	} else {
		l.ring[l.oldest] = line
		l.oldest = (l.oldest + 1) % logKeep
	}
	var subs []func(LogLine)
	for _, f := range l.subs {
		subs = append(subs, f)
	}
	l.mu.Unlock()
	for _, f := range subs {
		f(line)
	}
	return line
}

// tail returns the last n lines (all kept ones for n <= 0), oldest first.
func (l *syslog) tail(n int) []LogLine {
	l.mu.Lock()
	defer l.mu.Unlock()
	size := len(l.ring)
	if n <= 0 || n > size {
		n = size
	}
	if n == 0 {
		return nil
	}
	out := make([]LogLine, n)
	from := (l.oldest + size - n) % size
	k := copy(out, l.ring[from:min(from+n, size)])
	copy(out[k:], l.ring[:n-k])
	return out
}

func (l *syslog) subscribe(f func(LogLine)) func() {
	l.mu.Lock()
	defer l.mu.Unlock()
	id := l.next
	l.next++
	l.subs[id] = f
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.subs, id)
	}
}

// expand replaces {name} placeholders; unknown ones stay as they are.
func expand(s string, vars map[string]string) string {
	return expandWith(s, func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	})
}

// expandWith fills {placeholders} with what lookup gives; unknown ones stay.
func expandWith(s string, lookup func(string) (string, bool)) string {
	if !strings.Contains(s, "{") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		if v, ok := lookup(s[i+1 : i+j]); ok {
			b.WriteString(v)
		} else {
			b.WriteString(s[i : i+j+1])
		}
		s = s[i+j+1:]
	}
}
