// Package siptrace records the SIP messages a process sends and receives.
// sipgo traces through one process-wide hook, so the binary installs a
// tracer once; a Ring keeps the recent messages for failure reports and a
// file trace keeps them all.
package siptrace

import (
	"fmt"
	"io"
	"slices"
	"strings"
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
	sip.SIPDebugTracer(&hook{tracers: tracers, tls: map[string]bool{}})
}

type hook struct {
	tracers []Tracer
	mu      sync.Mutex
	// tls holds the connections (local|remote) seen carrying TLS, so a
	// keep-alive on them is labelled too.
	tls map[string]bool
}

// maxConns bounds the connections hook remembers; past it they are
// forgotten and learnt again from their next message.
const maxConns = 4096

func (h *hook) SIPTraceRead(transport, laddr, raddr string, msg []byte) {
	h.emit(Message{Time: time.Now(), Transport: transport, Local: laddr, Remote: raddr, Text: string(msg)})
}

func (h *hook) SIPTraceWrite(transport, laddr, raddr string, msg []byte) {
	h.emit(Message{Time: time.Now(), Sent: true, Transport: transport, Local: laddr, Remote: raddr, Text: string(msg)})
}

func (h *hook) emit(m Message) {
	m.Transport = h.transport(m)
	for _, t := range h.tracers {
		t.Trace(m)
	}
}

// transport corrects sipgo's label: its TLS connections are TCP
// connections underneath and report "TCP". The top Via of a message names
// the transport it travels on; a connection once seen carrying TLS keeps
// that label for its keep-alives.
func (h *hook) transport(m Message) string {
	if m.Transport != "TCP" {
		return m.Transport
	}
	conn := m.Local + "|" + m.Remote
	h.mu.Lock()
	defer h.mu.Unlock()
	switch viaTransport(m.Text) {
	case "TLS":
		if len(h.tls) >= maxConns {
			clear(h.tls)
		}
		h.tls[conn] = true
	case "":
		if h.tls[conn] {
			return "TLS"
		}
		return m.Transport
	default:
		delete(h.tls, conn)
		return m.Transport
	}
	return "TLS"
}

// viaTransport is the transport of a message's first Via header ("TLS",
// "TCP", ...), or "" when it has none.
func viaTransport(text string) string {
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			return "" // end of the headers
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		if name = strings.TrimSpace(name); !strings.EqualFold(name, "Via") && name != "v" {
			continue
		}
		proto, _, _ := strings.Cut(strings.TrimSpace(value), " ")
		if i := strings.LastIndexByte(proto, '/'); i >= 0 {
			return strings.ToUpper(proto[i+1:])
		}
		return ""
	}
	return ""
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

// Ring keeps the last messages, in the order each side saw them,
// without keep-alives.
type Ring struct {
	mu   sync.Mutex
	keep int
	msgs []Message
}

// NewRing keeps the last n messages.
func NewRing(n int) *Ring { return &Ring{keep: n} }

// Trace records one message. A CRLF keep-alive is not kept: it says only
// that the connection is alive and would push messages out. sipgo reports
// a sent message once it is written, so the answer to a request may be
// reported first; the request is then put back before it.
func (r *Ring) Trace(m Message) {
	if strings.TrimSpace(m.Text) == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	at := len(r.msgs)
	if m.Sent && !isResponse(m.Text) {
		id := dialogKey(m.Text)
		for i := len(r.msgs) - 1; i >= 0 && i >= len(r.msgs)-16; i-- {
			o := r.msgs[i]
			if o.Local == m.Local && !o.Sent && isResponse(o.Text) && id != "" && dialogKey(o.Text) == id {
				at = i
			}
		}
	}
	r.msgs = append(r.msgs, Message{})
	copy(r.msgs[at+1:], r.msgs[at:])
	r.msgs[at] = m
	if len(r.msgs) > 2*r.keep {
		r.msgs = append(r.msgs[:0:0], r.msgs[len(r.msgs)-r.keep:]...)
	}
}

func isResponse(text string) bool { return strings.HasPrefix(text, "SIP/2.0 ") }

// dialogKey is a message's Call-ID and CSeq: a request and its responses
// share it.
func dialogKey(text string) string {
	var callID, cseq string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			break
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch name = strings.TrimSpace(name); {
		case strings.EqualFold(name, "Call-ID") || name == "i":
			callID = strings.TrimSpace(value)
		case strings.EqualFold(name, "CSeq"):
			cseq = strings.TrimSpace(value)
		}
	}
	if callID == "" || cseq == "" {
		return ""
	}
	return callID + " " + cseq
}

// Of returns the last n messages one endpoint sent or received on its
// connection from addr (host:port): each message once, as that side saw
// it, not also its peer's copy.
func (r *Ring) Of(addr string, n int) []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Message
	for i := len(r.msgs) - 1; i >= 0 && len(out) < n; i-- {
		if m := r.msgs[i]; m.Local == addr {
			out = append(out, m)
		}
	}
	slices.Reverse(out)
	return out
}
