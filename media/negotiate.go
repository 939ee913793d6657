package media

import (
	"fmt"
	"net/netip"

	"github.com/deskphone/deskphone/codecs"
	"github.com/deskphone/deskphone/media/sdp"
)

// Payload kinds a session expects to receive.
const (
	kindNone  uint8 = iota // not negotiated: the packet is bad
	kindAudio              // the negotiated codec
	kindEvent              // telephone-event (RFC 4733)
)

// negotiated is the outcome of one offer/answer exchange. It is built
// by the API side and never changed afterwards; the media goroutines
// pick it up through Session.state.
type negotiated struct {
	codec  codecs.Codec
	sendPT uint8 // the peer's number for the codec
	sendTE int   // the peer's number for telephone-event; -1 when not negotiated
	// kind maps the payload types we accept to what they carry: ours and
	// the peer's numbers, so a peer that sends with its own numbers is
	// understood too.
	kind [128]uint8
	// remote is where the peer's SDP says to send RTP; invalid when it
	// gives no usable address (0.0.0.0, a host name, port 0).
	remote     netip.AddrPort
	send, recv bool
	tx, rx     *keyMaterial // nil for plain RTP
	// mux: RTCP shares the RTP port (RFC 5761), as both sides agreed.
	mux bool
	// farSSRC is the peer's stream from its a=ssrc, 0 when it gave none.
	farSSRC uint32
}

func (n *negotiated) suite() string {
	if n == nil || n.tx == nil {
		return ""
	}
	return n.tx.suite
}

// negotiate derives what to send and receive from our description and
// the peer's; answer is whichever of the two is the answer, whose first
// usable codec both sides send (RFC 3264 §6.1). remote may be nil when a
// service answers an INVITE without SDP: then nothing is known of the
// peer until its packets arrive (symmetric RTP).
func (e *Engine) negotiate(local, remote, answer *sdp.Session, keys sdp.Keys) (*negotiated, error) {
	n := &negotiated{sendTE: -1}
	var codecFmt sdp.Format
	found := false
	for _, f := range answer.Media.Formats {
		if f.IsTelephoneEvent() {
			continue
		}
		for _, c := range e.cfg.Codecs {
			if f.Matches(formatOf(c)) {
				n.codec, codecFmt, found = c, f, true
				break
			}
		}
		if found {
			break
		}
	}
	if !found {
		return nil, fmt.Errorf("media: the answer holds none of our codecs: %w", sdp.ErrNoCommonCodec)
	}
	n.sendPT = codecFmt.PT
	if pt, ok := ptOf(local, codecFmt); ok {
		n.kind[pt] = kindAudio
	}
	n.kind[codecFmt.PT] = kindAudio
	localTE, haveLocalTE := telephoneEvent(local)
	n.send, n.recv = local.Media.Direction.Sends(), local.Media.Direction.Receives()
	if remote != nil {
		if pt, ok := ptOf(remote, codecFmt); ok {
			n.sendPT = pt
			n.kind[pt] = kindAudio
		}
		if te, ok := telephoneEvent(remote); ok && haveLocalTE {
			n.sendTE = int(te)
			if n.kind[te] == kindNone {
				n.kind[te] = kindEvent
			}
		}
		n.mux = local.Media.RTCPMux && remote.Media.RTCPMux
		n.farSSRC = remote.Media.SSRC
		n.send = n.send && remote.Media.Direction.Receives() && remote.Media.Port != 0
		n.recv = n.recv && remote.Media.Direction.Sends() && remote.Media.Port != 0
		if ip, err := netip.ParseAddr(remote.ConnectionAddr); err == nil && !ip.IsUnspecified() && remote.Media.Port > 0 {
			n.remote = netip.AddrPortFrom(ip.Unmap(), uint16(remote.Media.Port))
		} else if remote.Media.Port > 0 && (err != nil) {
			e.log.Warn("media: peer address is not an IP address; waiting for its packets", "address", remote.ConnectionAddr)
		}
	} else if haveLocalTE {
		n.sendTE = int(localTE)
	}
	if haveLocalTE && n.kind[localTE] == kindNone {
		n.kind[localTE] = kindEvent
	}
	if keys.Secure() {
		var err error
		if n.tx, err = newKeyMaterial(keys.Local); err != nil {
			return nil, err
		}
		if n.rx, err = newKeyMaterial(keys.Remote); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// ptOf is the payload type s uses for the codec of f.
func ptOf(s *sdp.Session, f sdp.Format) (uint8, bool) {
	for _, g := range s.Media.Formats {
		if g.Matches(f) {
			return g.PT, true
		}
	}
	return 0, false
}

// telephoneEvent is the payload type s uses for 8 kHz telephone-events.
func telephoneEvent(s *sdp.Session) (uint8, bool) {
	for _, f := range s.Media.Formats {
		if f.IsTelephoneEvent() && f.Rate == 8000 {
			return f.PT, true
		}
	}
	return 0, false
}
