package media

import (
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"time"

	"github.com/deskphone/deskphone/codecs"
	"github.com/deskphone/deskphone/media/sdp"
)

// Mode is the SRTP policy: Off, Optional or Mandatory. It is the sdp
// package's mode, so a Config and an sdp.SRTPPolicy never disagree.
type Mode = sdp.SRTPMode

// SRTP policies (see sdp.SRTPMode for the offer/answer rules).
const (
	// Off: plain RTP/AVP; RTP/SAVP offers are refused.
	Off = sdp.SRTPOff
	// Optional: offer RTP/AVP with keys, accept SRTP or plain RTP.
	Optional = sdp.SRTPOptional
	// Mandatory: offer RTP/SAVP, accept only SRTP.
	Mandatory = sdp.SRTPMandatory
)

// ParseMode reads "off", "optional" or "mandatory" (any case; the Skype
// for Business names rejected/supported/required too).
func ParseMode(s string) (Mode, error) { return sdp.ParseSRTPMode(s) }

// Defaults.
const (
	DefaultPortMin      = 16384
	DefaultPortMax      = 32767
	DefaultIP           = "127.0.0.1"
	DefaultRTCPInterval = 5 * time.Second
	// DefaultCodecs is the Skype for Business policy order
	// (PrioritizedCodecsList) minus G.729, which we do not implement.
	DefaultCodecs = "G722_8000;PCMU;PCMA"
)

// ptime is the packetisation interval: 20 ms, what every desk phone sends.
const ptime = 20 * time.Millisecond

// Config configures an Engine. The zero value is usable: ports
// 16384-32767 on 127.0.0.1, G.722, PCMU, PCMA, SRTP off.
type Config struct {
	// PortMin and PortMax bound the RTP and RTCP ports (inclusive). RTP
	// takes even ports, RTCP the odd one above.
	PortMin, PortMax int
	// SRTP is the SRTP policy; Suites the acceptable suites in preference
	// order (default sdp.DefaultSuite, AES_CM_128_HMAC_SHA1_80, the only
	// one Microsoft offers). MKI puts Microsoft's "|2^31|1:1" on our keys.
	SRTP   Mode
	Suites []string
	MKI    bool
	// Codecs are the audio codecs in preference order, e.g. from
	// codecs.ParseOrder("G722_8000;PCMU;PCMA;G729"). telephone-event
	// (RFC 4733) is always offered as well.
	Codecs []codecs.Codec
	// IP is the address to bind and to put in SDP: a specific address,
	// not 0.0.0.0.
	IP string
	// RTCPInterval is the mean interval between RTCP reports.
	RTCPInterval time.Duration
	// Logger receives warnings (never per packet); default: discard.
	Logger *slog.Logger
	// Senders is the number of sender goroutines sharing the started
	// sessions; default one per CPU (GOMAXPROCS), at least two. In
	// PortsShared mode the calls share max(4, Senders) port pairs, each
	// sent by one sender.
	Senders int
	// Ports chooses between a few ports shared by every call
	// (PortsShared, the default) and a port pair per call
	// (PortsPerCall); see the package documentation for when the
	// latter is needed.
	Ports Ports
	// Tap, when set, sees every plain RTP packet the engine sends and
	// every valid one it receives (a packet capture); nil costs nothing.
	Tap Tap
}

// Tap sees RTP packets as they are before SRTP protects them or after it
// is removed: each packet the engine sends (src our address, dst where it
// went) and each valid one it receives (src the sender, dst our address).
// pkt is valid only during the call. It is called from the engine's media
// goroutines (for a received packet, with the lock of the port it came
// in on held) and must not block.
type Tap interface {
	RTP(src, dst netip.AddrPort, pkt []byte)
}

// Ports is how an engine maps calls onto local UDP ports.
type Ports int

const (
	// PortsShared: every call of the engine uses one of a few port
	// pairs (one per sender), and received packets find their call by
	// the far end's SSRC and address.
	PortsShared Ports = iota
	// PortsPerCall: each call binds its own RTP port and the RTCP port
	// above it, for far ends that tell calls apart by our port alone.
	PortsPerCall
)

func (p Ports) String() string {
	switch p {
	case PortsShared:
		return "shared"
	case PortsPerCall:
		return "per-call"
	}
	return fmt.Sprintf("Ports(%d)", int(p))
}

// ParsePorts reads a Ports as the programs' --media-ports flag gives it:
// "shared" or "per-call".
func ParsePorts(s string) (Ports, error) {
	switch s {
	case "shared", "":
		return PortsShared, nil
	case "per-call":
		return PortsPerCall, nil
	}
	return 0, fmt.Errorf("media ports %q: want shared or per-call", s)
}

// withDefaults fills in defaults and validates.
func (c Config) withDefaults() (Config, error) {
	if c.PortMin == 0 && c.PortMax == 0 {
		c.PortMin, c.PortMax = DefaultPortMin, DefaultPortMax
	}
	if c.PortMin < 1 || c.PortMax > 65535 || c.PortMax-c.PortMin < 1 {
		return c, fmt.Errorf("%w: port range %d-%d, want 1 <= min < max <= 65535", ErrConfig, c.PortMin, c.PortMax)
	}
	if c.PortMin%2 == 1 && c.PortMax-c.PortMin < 2 {
		return c, fmt.Errorf("%w: port range %d-%d holds no even/odd pair", ErrConfig, c.PortMin, c.PortMax)
	}
	if c.SRTP < Off || c.SRTP > Mandatory {
		return c, fmt.Errorf("%w: SRTP mode %v", ErrConfig, c.SRTP)
	}
	switch {
	case c.Senders == 0:
		// At least two, so that two sessions of one engine (a test's
		// call, a conference) get two distinct shared ports.
		c.Senders = max(2, runtime.GOMAXPROCS(0))
	case c.Senders < 0 || c.Senders > 256:
		return c, fmt.Errorf("%w: %d senders, want 1 to 256", ErrConfig, c.Senders)
	}
	if c.Ports != PortsShared && c.Ports != PortsPerCall {
		return c, fmt.Errorf("%w: ports mode %v", ErrConfig, c.Ports)
	}
	if len(c.Suites) == 0 {
		c.Suites = []string{sdp.DefaultSuite}
	}
	for _, s := range c.Suites {
		if _, ok := sdp.LookupSuite(s); !ok {
			return c, fmt.Errorf("%w: SRTP suite %q, want one of %v", ErrConfig, s, sdp.Suites())
		}
	}
	if len(c.Codecs) == 0 {
		c.Codecs, _ = codecs.ParseOrder(DefaultCodecs)
	}
	for _, cd := range c.Codecs {
		if !cd.Supported() {
			return c, fmt.Errorf("%w: codec %v is not one the codecs package implements", ErrConfig, cd)
		}
	}
	if c.IP == "" {
		c.IP = DefaultIP
	}
	if ip, err := netip.ParseAddr(c.IP); err != nil || ip.IsUnspecified() {
		// It goes into SDP, where 0.0.0.0 means "do not send to me".
		return c, fmt.Errorf("%w: IP %q, want a specific IP address", ErrConfig, c.IP)
	}
	if c.RTCPInterval <= 0 {
		c.RTCPInterval = DefaultRTCPInterval
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// formatOf is the SDP format of a codec, with its static payload type.
func formatOf(c codecs.Codec) sdp.Format {
	return sdp.Format{PT: c.PayloadType, Name: c.Name, Rate: c.ClockRate, Channels: 1}
}
