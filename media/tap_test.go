package media

import (
	"bytes"
	"net/netip"
	"sync"
	"testing"

	"github.com/deskphone/deskphone/codecs"
	"github.com/deskphone/deskphone/internal/testwait"
)

// tapped records what a Tap sees.
type tapped struct {
	mu   sync.Mutex
	pkts []tappedPacket
}

type tappedPacket struct {
	src, dst netip.AddrPort
	pkt      []byte
}

func (r *tapped) RTP(src, dst netip.AddrPort, pkt []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pkts = append(r.pkts, tappedPacket{src, dst, bytes.Clone(pkt)})
}

func (r *tapped) snapshot() []tappedPacket {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]tappedPacket(nil), r.pkts...)
}

// An SRTP call between two engines, one with a Tap: it sees each packet
// its engine sends before protection and each one it receives after, as
// plain RTP (12-byte header and a 20 ms PCMU frame, no tag), on the
// sessions' addresses.
func TestTapSeesPlainRTP(t *testing.T) {
	var tap tapped
	pcmu := []codecs.Codec{codecs.PCMU}
	ea := newEngine(t, Config{SRTP: Mandatory, Codecs: pcmu, Tap: &tap})
	eb := newEngine(t, Config{SRTP: Mandatory, Codecs: pcmu})
	a, b := openSession(t, ea), openSession(t, eb)
	a.SetSource(mustTone(t, 1000))
	b.SetSource(mustTone(t, 1500))
	connect(t, a, b)
	testwait.For(t, callTimeout, "tones both ways", func() bool { return hears(a, 1500)() && hears(b, 1000)() })
	addrA := netip.AddrPortFrom(netip.MustParseAddr(DefaultIP), uint16(a.Port()))
	addrB := netip.AddrPortFrom(netip.MustParseAddr(DefaultIP), uint16(b.Port()))
	sent, received := 0, 0
	for _, p := range tap.snapshot() {
		switch {
		case p.src == addrA && p.dst == addrB:
			sent++
		case p.src == addrB && p.dst == addrA:
			received++
		default:
			t.Fatalf("packet from %v to %v, want between %v and %v", p.src, p.dst, addrA, addrB)
		}
		if len(p.pkt) != rtpHeaderLen+160 || p.pkt[0] != 0x80 || p.pkt[1]&0x7f != 0 {
			t.Fatalf("tapped packet of %d bytes, % x...: not a plain PCMU packet", len(p.pkt), p.pkt[:2])
		}
	}
	if sent == 0 || received == 0 {
		t.Errorf("tap saw %d packets sent and %d received, want both", sent, received)
	}
}
