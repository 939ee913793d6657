package capture

import (
	"bytes"
	"net/netip"
	"strconv"
)

// How many recent packets the Writer remembers to drop the second copy
// of one. An RTP packet's copies are reported a loopback delivery apart:
// 65,536 packets is over half a second of a thousand calls each way. SIP
// is sparse; its copies can be further apart under load.
const (
	rtpRecent  = 1 << 16
	sipRecent  = 1 << 12
	maxStreams = 4096
	// maxMessage bounds a SIP message being reassembled: past it the
	// stream is taken to be garbage and dropped until a new connection.
	maxMessage = 1 << 16
)

// window is the order the last n hashes came in, so that a bounded
// map can forget the oldest.
type window struct {
	ring []uint64
	next int
}

func (w *window) init(n int) { w.ring = make([]uint64, 0, n) }

// push adds sum, and returns the hash it pushed out once the window is
// full.
func (w *window) push(sum uint64) (old uint64, full bool) {
	if len(w.ring) < cap(w.ring) {
		w.ring = append(w.ring, sum)
		return 0, false
	}
	old = w.ring[w.next]
	w.ring[w.next] = sum
	w.next = (w.next + 1) % len(w.ring)
	return old, true
}

// recent is a set of the last n hashes.
type recent struct {
	set map[uint64]struct{}
	window
}

func (r *recent) init(n int) {
	r.set = make(map[uint64]struct{}, n)
	r.window.init(n)
}

// seen reports whether sum is in the set, adding it if not.
func (r *recent) seen(sum uint64) bool {
	if _, ok := r.set[sum]; ok {
		delete(r.set, sum) // at most two copies: the next is a new packet
		return true
	}
	if old, full := r.push(sum); full {
		delete(r.set, old)
	}
	r.set[sum] = struct{}{}
	return false
}

// pairs matches a message sent with its receipt: a copy seen in the other
// direction is the same message; one seen twice in the same direction (a
// retransmission over UDP) is two.
type pairs struct {
	pending map[uint64]int // > 0: sent copies waiting; < 0: received
	window
}

func (p *pairs) init(n int) {
	p.pending = make(map[uint64]int, n)
	p.window.init(n)
}

// pair reports whether the message is the other copy of one already
// written, remembering it if not.
func (p *pairs) pair(sum uint64, sent bool) bool {
	d := 1
	if !sent {
		d = -1
	}
	if n := p.pending[sum]; n*d < 0 {
		if n += d; n == 0 {
			delete(p.pending, sum)
		} else {
			p.pending[sum] = n
		}
		return true
	}
	if old, full := p.push(sum); full {
		delete(p.pending, old)
	}
	p.pending[sum] += d
	return false
}

// streamKey is one direction of a stream connection.
type streamKey struct{ src, dst netip.AddrPort }

// framer cuts a stream into SIP messages (RFC 3261 §18.3: the headers,
// then Content-Length bytes of body), skipping CRLF keep-alives.
type framer struct {
	buf []byte
}

// feed adds data and returns the messages it completes.
func (f *framer) feed(data []byte) [][]byte {
	f.buf = append(f.buf, data...)
	var out [][]byte
	for {
		f.buf = bytes.TrimLeft(f.buf, "\r\n")
		end := bytes.Index(f.buf, []byte("\r\n\r\n"))
		if end < 0 {
			break
		}
		end += 4
		n, ok := contentLength(f.buf[:end])
		if !ok || n > maxMessage {
			f.buf = nil // not SIP: drop what we have
			return out
		}
		if len(f.buf) < end+n {
			break
		}
		out = append(out, bytes.Clone(f.buf[:end+n]))
		f.buf = f.buf[end+n:]
	}
	if len(f.buf) > maxMessage {
		f.buf = nil
	}
	if len(f.buf) == 0 {
		f.buf = nil // let a big message's buffer go
	}
	return out
}

// contentLength is the Content-Length (or l) header of a message's
// headers: 0 when there is none, false when it is not a number.
func contentLength(head []byte) (int, bool) {
	for _, line := range bytes.Split(head, []byte("\r\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name = bytes.TrimSpace(name)
		if !bytes.EqualFold(name, []byte("Content-Length")) && !bytes.Equal(name, []byte("l")) {
			continue
		}
		n, err := strconv.Atoi(string(bytes.TrimSpace(value)))
		return n, err == nil && n >= 0
	}
	return 0, true
}
