package inflight

import (
	"bytes"
	"strconv"
	"sync"
)

// Finals holds the non-2xx final responses to one SIP stack's INVITEs
// from the instant its transport reads them until the code that sent the
// INVITE has acted on them. A SIP stack acknowledges a non-2xx final
// response in its transaction layer (RFC 3261 §17.1.1.3), before the
// response reaches the transaction user; the ACK lets the responder go, so
// without this hold nothing would be counted while the response travels
// from the stack to its user, and virtual time could move past it. (A 2xx
// is ACKed by the caller itself, once it holds; its callee holds until
// then. A callee sends its 2xx again until the ACK comes: holding those
// copies would wait for nobody.)
//
// Each UA (a phone's, the cloud's) has its own: Expect a Call-ID before
// sending its INVITE, feed every read to Read (a transport read filter),
// and Claim once per non-2xx final response acted on. A nil *Finals does
// nothing.
type Finals struct {
	t  *Tracker
	mu sync.Mutex
	by map[string]*expected
}

// expected is one Call-ID's INVITEs: how many senders expect finals on it,
// and the holds of finals read but not yet claimed.
type expected struct {
	senders int
	holds   []func()
}

// NewFinals returns a Finals counting in t; nil when t is nil.
func NewFinals(t *Tracker) *Finals {
	if t == nil {
		return nil
	}
	return &Finals{t: t, by: map[string]*expected{}}
}

// Expect marks callID as a dialog whose INVITE's non-2xx final responses
// are to be held from their arrival; done ends that (once every Expect of the
// Call-ID is done) and lets go of finals nobody claimed.
func (f *Finals) Expect(callID string) (done func()) {
	if f == nil {
		return func() {}
	}
	f.mu.Lock()
	e := f.by[callID]
	if e == nil {
		e = &expected{}
		f.by[callID] = e
	}
	e.senders++
	f.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			var rel []func()
			if e.senders--; e.senders == 0 {
				rel = e.holds
				delete(f.by, callID)
			}
			f.mu.Unlock()
			for _, r := range rel {
				r()
			}
		})
	}
}

// Claim lets go of one non-2xx final response to an INVITE of callID that
// was read, if any: its sender has taken its own hold and acts on it.
func (f *Finals) Claim(callID string) {
	if f == nil {
		return
	}
	f.mu.Lock()
	var rel func()
	if e := f.by[callID]; e != nil && len(e.holds) > 0 {
		rel = e.holds[0]
		e.holds = e.holds[1:]
	}
	f.mu.Unlock()
	if rel != nil {
		rel()
	}
}

// Read is a transport's read filter: it takes a hold for every non-2xx
// final response to an INVITE of an expected Call-ID in data, bytes the
// transport has just read (whole messages, as each read of a stream
// transport and each datagram gives them here; a message cut between two
// reads before its Call-ID and CSeq is not recognised, and its sender's
// own holds are all that count it). Then, in the tracker's delay mode, it
// makes the delivery late; keep-alives are not delayed.
func (f *Finals) Read(data []byte) {
	if f == nil {
		return
	}
	messages := false
	forEachMessage(data, func(code int, callID, method string) {
		messages = true
		if code < 300 || method != "INVITE" || callID == "" {
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if e := f.by[callID]; e != nil {
			e.holds = append(e.holds, f.t.Hold())
		}
	})
	if messages {
		f.t.Delay()
	}
}

// forEachMessage calls fn with the status code (0 for a request), Call-ID
// and CSeq method of every message in data.
func forEachMessage(data []byte, fn func(code int, callID, method string)) {
	for len(data) > 0 {
		// Keep-alives (RFC 5626 CRLF) between messages.
		data = bytes.TrimLeft(data, "\r\n")
		if len(data) == 0 {
			return
		}
		head, rest, found := bytes.Cut(data, []byte("\r\n\r\n"))
		code, callID, method, length := readHead(head)
		fn(code, callID, method)
		if !found || length > len(rest) {
			return
		}
		data = rest[length:]
	}
}

// readHead reads, from a message's start line and headers, a response's
// status code (0 for a request), its Call-ID, its CSeq method and its
// Content-Length.
func readHead(head []byte) (code int, callID, method string, length int) {
	lines := bytes.Split(head, []byte("\r\n"))
	if status, ok := bytes.CutPrefix(lines[0], []byte("SIP/2.0 ")); ok && len(status) >= 3 {
		code, _ = strconv.Atoi(string(status[:3]))
	}
	for _, l := range lines[1:] {
		name, value, ok := bytes.Cut(l, []byte(":"))
		if !ok {
			continue
		}
		value = bytes.TrimSpace(value)
		switch string(bytes.ToLower(bytes.TrimSpace(name))) {
		case "call-id", "i":
			callID = string(value)
		case "cseq":
			if f := bytes.Fields(value); len(f) == 2 {
				method = string(bytes.ToUpper(f[1]))
			}
		case "content-length", "l":
			length, _ = strconv.Atoi(string(value))
		}
	}
	return code, callID, method, length
}
