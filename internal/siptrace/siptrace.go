// Package siptrace records the SIP messages a process sends and receives.
// sipgo traces through one process-wide hook, so the binary installs a
// tracer once; a Ring keeps the recent messages for failure reports and a
// file trace keeps them all.
package siptrace

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Message is one traced SIP message.
type Message struct {
	Time      time.Time
	Sent      bool
	Transport string
	Local     string
	Remote    string
	Text      string
}

// String is the message as a trace shows it: time, direction, addresses,
// then the message itself.
func (m Message) String() string {
	dir, arrow := "recv", "<-"
	if m.Sent {
		dir, arrow = "send", "->"
	}
	return fmt.Sprintf("%s %s %s %s %s %s (%d bytes)\n%s",
		m.Time.Format("2006-01-02T15:04:05.000000Z07:00"), dir, m.Transport, m.Local, arrow, m.Remote, len(m.Text), m.Text)
}

// Tracer receives every message.
type Tracer interface {
	Trace(Message)
}

// Install makes sipgo report every SIP message of the process to tracers.
// Call it once, from main or a test's TestMain.
func Install(tracers ...Tracer) {
	sip.SIPDebug = true
	sip.SIPDebugTracer(hook(tracers))
}

type hook []Tracer

func (h hook) SIPTraceRead(transport, laddr, raddr string, msg []byte) {
	h.emit(Message{Time: time.Now(), Transport: transport, Local: laddr, Remote: raddr, Text: string(msg)})
}

func (h hook) SIPTraceWrite(transport, laddr, raddr string, msg []byte) {
	h.emit(Message{Time: time.Now(), Sent: true, Transport: transport, Local: laddr, Remote: raddr, Text: string(msg)})
}

func (h hook) emit(m Message) {
	for _, t := range h {
		t.Trace(m)
	}
}

// File writes every message to w.
type File struct {
	mu     sync.Mutex
	w      io.Writer
	closer io.Closer // set by OpenFile
	redact bool
}

// NewFile returns a tracer writing every message to w as it is, secrets
// included.
func NewFile(w io.Writer) *File { return &File{w: w} }

// Trace writes one message.
func (f *File) Trace(m Message) {
	if f.redact {
		m.Text = string(Redact([]byte(m.Text)))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fmt.Fprintf(f.w, "%s\n\n", m)
}

// Close closes the file OpenFile opened; it does nothing for NewFile.
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	return f.closer.Close()
}

// Ring keeps the last messages.
type Ring struct {
	mu   sync.Mutex
	keep int
	msgs []Message
}

// NewRing keeps the last n messages.
func NewRing(n int) *Ring { return &Ring{keep: n} }

// Trace records one message.
func (r *Ring) Trace(m Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, m)
	if len(r.msgs) > 2*r.keep {
		r.msgs = append(r.msgs[:0:0], r.msgs[len(r.msgs)-r.keep:]...)
	}
}

// Involving returns the last n messages sent or received on addr (host:port)
// — one phone's connection.
func (r *Ring) Involving(addr string, n int) []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Message
	for i := len(r.msgs) - 1; i >= 0 && len(out) < n; i-- {
		m := r.msgs[i]
		if m.Local == addr || m.Remote == addr {
			out = append(out, m)
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}
