// Package capture writes what a process says on the wire to a pcapng file
// that Wireshark and tshark open with no keys and no preferences set: each
// SIP message as plain text on its real addresses and ports, and each RTP
// packet as it was before SRTP protected it (or after SRTP was removed).
//
// # Framing
//
// Our SIP travels over TLS. Its plain text, as sipgo hands it to the trace
// hook (internal/siptrace), is written as one UDP datagram per message,
// between the real addresses and ports of the TLS connection. Debian's
// tshark 4.0, with no preferences set, dissects such a datagram as SIP on
// any port (the SIP heuristic on UDP is on by default), and the SDP in it
// sets up the RTP conversations on the media ports, which is what VoIP
// Calls, the RTP Player and `tshark -z rtp,streams` follow
// (TestTsharkDissects). It also finds SIP in a made-up TCP stream on port
// 5061, but only after a made-up handshake, and with sequence numbers kept
// per connection and direction, for a stream that is TLS on the wire
// anyway: one datagram per message says the same with nothing invented
// but the transport. Messages read from a stream arrive in chunks; they
// are reassembled (headers, then Content-Length bytes of body) first.
//
// # Keys are never written
//
// SDP a=crypto lines carry SRTP master keys. Since the file holds the
// media decrypted, the captured SDP is rewritten as plain RTP: RTP/SAVP
// becomes RTP/AVP (RTP/SAVPF RTP/AVPF), a=crypto lines are dropped and
// Content-Length is made to fit. Digest responses and bearer tokens are
// replaced as siptrace.Redact does. The file is created 0600 all the same:
// it holds who called whom and what they said.
//
// # One copy of each packet
//
// When both ends of a message or a packet live in this process (a phone
// and the embedded mock cloud, two phones of a fleet), both report it: the
// sender and the receiver. The Writer keeps the first copy and drops the
// second, so the file looks like one capture on the wire.
//
// A Writer is safe for concurrent use: a whole fleet shares one file. A
// write error is reported once, with the file's name, and stops the
// capture, never a call.
package capture

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net/netip"
	"sync"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/deskphone/deskphone/internal/atomicfile"
	"github.com/deskphone/deskphone/internal/siptrace"
)

// ErrClosed is returned by Close when the Writer is already closed.
var ErrClosed = errors.New("capture: closed")

// Writer writes a pcapng capture. Its RTP method is a media.Tap and its
// Trace method a siptrace.Tracer.
type Writer struct {
	name    string
	onError func(error)
	closer  io.Closer // the file Create opened; nil for New

	mu     sync.Mutex
	buf    *bufio.Writer
	ng     *pcapgo.NgWriter
	err    error // the first write error; nothing is written after it
	closed bool
	ipID   uint16
	sip    pairs
	rtp    recent
	// streams reassembles the SIP messages of stream transports, per
	// connection and direction.
	streams map[streamKey]*framer

	seed maphash.Seed
	bufs sync.Pool // of gopacket.SerializeBuffer
}

// Option configures a Writer.
type Option func(*Writer)

// WithErrorHandler makes f receive the first write error (it names the
// file), once; by default it is only returned by Close. f is called from
// whichever goroutine was writing, so it should only report.
func WithErrorHandler(f func(error)) Option { return func(w *Writer) { w.onError = f } }

// Create creates (or truncates) the capture file path, readable by its
// owner only: an existing file is taken only if it is this user's own
// regular file with mode 0600 (atomicfile.OpenPrivate). Close it when done.
func Create(path string, opts ...Option) (*Writer, error) {
	f, err := atomicfile.OpenPrivate(path, true)
	if err != nil {
		return nil, fmt.Errorf("pcap: %w", err)
	}
	w, err := New(f, path, opts...)
	if err != nil {
		f.Close()
		return nil, err
	}
	w.closer = f
	return w, nil
}

// New writes a capture to out; name names it in errors. Close flushes it
// (and does not close out).
func New(out io.Writer, name string, opts ...Option) (*Writer, error) {
	w := &Writer{name: name, buf: bufio.NewWriterSize(out, 64<<10), streams: map[streamKey]*framer{}, seed: maphash.MakeSeed()}
	w.bufs.New = func() any { return gopacket.NewSerializeBuffer() }
	for _, o := range opts {
		o(w)
	}
	w.rtp.init(rtpRecent)
	w.sip.init(sipRecent)
	// Raw IP: every packet is an IPv4 or IPv6 datagram, no made-up
	// Ethernet addresses.
	ng, err := pcapgo.NewNgWriterInterface(w.buf, pcapgo.NgInterface{
		Name: "deskphone", Description: "SIP and decrypted RTP of deskphone", LinkType: layers.LinkTypeRaw, SnapLength: 0,
	}, pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "deskphone"}})
	if err != nil {
		return nil, fmt.Errorf("pcap %s: %w", name, err)
	}
	w.ng = ng
	return w, nil
}

// Name is the file's name as given to Create or New.
func (w *Writer) Name() string { return w.name }

// RTP records one plain RTP (or RTCP) packet from src to dst, as a
// media.Tap. A packet reported by both its sender and its receiver in
// this process is written once.
func (w *Writer) RTP(src, dst netip.AddrPort, pkt []byte) {
	if len(pkt) < 12 {
		return
	}
	// The sender reports a packet before its receiver can: the first
	// copy is kept. Source, destination, SSRC, sequence number and
	// timestamp name a packet.
	var h maphash.Hash
	h.SetSeed(w.seed)
	writeAddr(&h, src)
	writeAddr(&h, dst)
	h.Write(pkt[2:12])
	sum := h.Sum64()
	w.mu.Lock()
	seen := w.rtp.seen(sum)
	w.mu.Unlock()
	if seen {
		return
	}
	w.writeUDP(time.Now(), src, dst, pkt)
}

func writeAddr(h *maphash.Hash, a netip.AddrPort) {
	b, _ := a.MarshalBinary() // never fails
	h.Write(b)
}

// Trace records one SIP message as sipgo saw it, as a siptrace.Tracer.
func (w *Writer) Trace(m siptrace.Message) {
	local, err1 := netip.ParseAddrPort(m.Local)
	remote, err2 := netip.ParseAddrPort(m.Remote)
	if err1 != nil || err2 != nil {
		return // not an IP transport (or an address we cannot place)
	}
	src, dst := remote, local
	if m.Sent {
		src, dst = local, remote
	}
	if m.Transport == "UDP" {
		w.sipMessage(m.Time, src, dst, m.Sent, []byte(m.Text))
		return
	}
	// Stream transports: sipgo reports what one read or write carried,
	// part of a message or several.
	key := streamKey{src: src, dst: dst}
	w.mu.Lock()
	fr := w.streams[key]
	if fr == nil {
		if len(w.streams) >= maxStreams {
			clear(w.streams)
		}
		fr = &framer{}
		w.streams[key] = fr
	}
	msgs := fr.feed([]byte(m.Text))
	w.mu.Unlock()
	for _, msg := range msgs {
		w.sipMessage(m.Time, src, dst, m.Sent, msg)
	}
}

// sipMessage writes one whole SIP message unless its other copy (the
// peer's, in this process) was written already.
func (w *Writer) sipMessage(t time.Time, src, dst netip.AddrPort, sent bool, msg []byte) {
	if len(bytes.TrimSpace(msg)) == 0 {
		return // a keep-alive, not a message
	}
	var h maphash.Hash
	h.SetSeed(w.seed)
	writeAddr(&h, src)
	writeAddr(&h, dst)
	h.Write(msg)
	w.mu.Lock()
	dup := w.sip.pair(h.Sum64(), sent)
	w.mu.Unlock()
	if dup {
		return
	}
	if t.IsZero() {
		t = time.Now()
	}
	w.writeUDP(t, src, dst, Sanitize(msg))
}

// maxUDP is the largest UDP payload an IPv4 datagram carries.
const maxUDP = 65535 - 20 - 8

// writeUDP writes payload as a UDP datagram from src to dst.
func (w *Writer) writeUDP(t time.Time, src, dst netip.AddrPort, payload []byte) {
	srcIP, dstIP := src.Addr().Unmap(), dst.Addr().Unmap()
	if srcIP.Is4() != dstIP.Is4() || len(payload) > maxUDP {
		return // no such datagram on the wire
	}
	udp := &layers.UDP{SrcPort: layers.UDPPort(src.Port()), DstPort: layers.UDPPort(dst.Port())}
	var ip gopacket.SerializableLayer
	w.mu.Lock()
	w.ipID++
	id := w.ipID
	w.mu.Unlock()
	if srcIP.Is4() {
		ip4 := &layers.IPv4{Version: 4, TTL: 64, Id: id, Protocol: layers.IPProtocolUDP, SrcIP: srcIP.AsSlice(), DstIP: dstIP.AsSlice()}
		_ = udp.SetNetworkLayerForChecksum(ip4) // an IPv4 layer is always accepted
		ip = ip4
	} else {
		ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP, SrcIP: srcIP.AsSlice(), DstIP: dstIP.AsSlice()}
		_ = udp.SetNetworkLayerForChecksum(ip6)
		ip = ip6
	}
	buf := w.bufs.Get().(gopacket.SerializeBuffer)
	defer w.bufs.Put(buf)
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ip, udp, gopacket.Payload(payload)); err != nil {
		return // cannot happen with the checks above
	}
	data := buf.Bytes()
	ci := gopacket.CaptureInfo{Timestamp: t, CaptureLength: len(data), Length: len(data)}
	w.mu.Lock()
	if w.closed || w.err != nil {
		w.mu.Unlock()
		return
	}
	err := w.ng.WritePacket(ci, data)
	if err != nil {
		err = w.fail(err)
	}
	w.mu.Unlock()
	w.report(err)
}

// fail records the first write error and returns it (nil when one was
// recorded before). Called with mu held.
func (w *Writer) fail(err error) error {
	if w.err != nil {
		return nil
	}
	w.err = fmt.Errorf("pcap %s: %w; capture stopped", w.name, err)
	return w.err
}

// report hands a first write error to the error handler, without the lock.
func (w *Writer) report(err error) {
	if err != nil && w.onError != nil {
		w.onError(err)
	}
}

// Err is the first write error, nil while the capture is whole.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Close flushes the capture and closes the file Create opened. It returns
// the first write error, if any; packets reported after Close are
// dropped.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	w.closed = true
	var first error
	if w.err == nil {
		if err := w.ng.Flush(); err != nil {
			first = w.fail(err)
		}
	}
	err := w.err
	if w.closer != nil {
		if cerr := w.closer.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("pcap %s: %w", w.name, cerr)
		}
	}
	w.mu.Unlock()
	w.report(first)
	return err
}
