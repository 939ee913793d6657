package codecs

import (
	"strconv"
	"strings"
	"time"
)

// Encoder turns linear 16-bit PCM at the codec's sample rate into an RTP
// payload. It writes into dst and returns the number of bytes written, so
// a media loop can reuse one buffer per stream and allocate nothing.
type Encoder interface {
	Encode(dst []byte, pcm []int16) (int, error)
}

// Decoder turns an RTP payload back into linear 16-bit PCM at the codec's
// sample rate, writing into dst and returning the number of samples.
type Decoder interface {
	Decode(dst []int16, payload []byte) (int, error)
}

type codecKind uint8

const (
	kindNone codecKind = iota
	kindPCMU
	kindPCMA
	kindG722
)

// Codec describes one audio codec as SDP and RTP see it. Codecs are plain
// values so that phones, SDP offers and policies can carry them around and
// compare them; the zero Codec is "no codec" and refuses to make encoders.
type Codec struct {
	// Name is the SDP encoding name (a=rtpmap), e.g. "PCMU" or "G722".
	Name string
	// PayloadType is the static RTP payload type of RFC 3551.
	PayloadType uint8
	// ClockRate is the RTP timestamp rate in Hz. For G.722 it is 8000
	// although the audio is sampled at 16000 Hz: RFC 3551 section 4.5.2
	// keeps the historical mistake, and every phone relies on it.
	ClockRate int
	// SampleRate is the rate of the linear PCM the codec consumes and
	// produces, in Hz.
	SampleRate int
	// Channels is the number of audio channels; always 1 here.
	Channels int
	// BitRate is the payload bit rate in bit/s.
	BitRate int

	kind codecKind
}

// The codecs this package implements. Treat them as constants: [Lookup]
// builds its results from its own definitions, so changing these
// variables does not change what Lookup returns.
var (
	// PCMU is G.711 µ-law, payload type 0.
	PCMU = pcmuCodec()
	// PCMA is G.711 A-law, payload type 8.
	PCMA = pcmaCodec()
	// G722 is G.722 at 64 kbit/s, payload type 9, 16 kHz audio on an
	// 8 kHz RTP clock.
	G722 = g722Codec()
)

func pcmuCodec() Codec {
	return Codec{Name: "PCMU", PayloadType: 0, ClockRate: 8000, SampleRate: 8000, Channels: 1, BitRate: 64000, kind: kindPCMU}
}

func pcmaCodec() Codec {
	return Codec{Name: "PCMA", PayloadType: 8, ClockRate: 8000, SampleRate: 8000, Channels: 1, BitRate: 64000, kind: kindPCMA}
}

func g722Codec() Codec {
	return Codec{Name: "G722", PayloadType: 9, ClockRate: 8000, SampleRate: 16000, Channels: 1, BitRate: 64000, kind: kindG722}
}

// Lookup finds a codec by the name used in SDP or in a codec policy. It
// accepts, case-insensitively, "PCMU", "PCMA", "G722", the Skype for
// Business policy name "G722_8000", and the rtpmap form "PCMU/8000". Any
// other name yields a [*NameError] that wraps [ErrUnsupported].
func Lookup(name string) (Codec, error) {
	key := strings.ToUpper(strings.TrimSpace(name))
	clock := 0
	if base, rest, ok := strings.Cut(key, "/"); ok {
		// rtpmap form: NAME/clock[/channels]
		rate, chans, _ := strings.Cut(rest, "/")
		n, err := strconv.Atoi(rate)
		if err != nil || (chans != "" && chans != "1") {
			return Codec{}, &NameError{Name: name, Known: knownName(base)}
		}
		key, clock = base, n
	}
	var c Codec
	switch key {
	case "PCMU":
		c = pcmuCodec()
	case "PCMA":
		c = pcmaCodec()
	case "G722", "G722_8000":
		c = g722Codec()
	default:
		return Codec{}, &NameError{Name: name, Known: knownName(key)}
	}
	if clock != 0 && clock != c.ClockRate {
		return Codec{}, &NameError{Name: name, Known: true}
	}
	return c, nil
}

// knownName reports whether key (upper case) is a real codec name as it
// appears in SDP offers and in the Skype for Business / Teams codec
// policies, so that logs can tell "not implemented" from "typo".
func knownName(key string) bool {
	switch key {
	case "PCMU", "PCMA", "G722", "G722_8000",
		"G729", "G729A", "G729AB", "G7291", "G723", "G726", "G726-32", "G728",
		"G7221", "SIREN", "SIREN14",
		"SILK", "SILKWIDE", "SILKNARROW", "SILK_8000", "SILK_16000",
		"X-MSRTA", "RTAUDIO", "RTAUDIO_8000", "RTAUDIO_16000",
		"OPUS", "ILBC", "GSM", "SPEEX", "AMR", "AMR-WB", "L16",
		"CN", "RED", "TELEPHONE-EVENT":
		return true
	}
	return false
}

// ParseOrder turns a prioritised codec list such as the policy value
// "G722_8000;PCMU;PCMA;G729" into the codecs this package can serve, in
// order. Names it cannot serve are returned in skipped, as written, so the
// caller can log them; a codec named twice (G722 and G722_8000) is kept
// once. Both ';' and ',' separate names.
func ParseOrder(list string) (codecs []Codec, skipped []string) {
	fields := strings.FieldsFunc(list, func(r rune) bool { return r == ';' || r == ',' })
	for _, f := range fields {
		name := strings.TrimSpace(f)
		if name == "" {
			continue
		}
		c, err := Lookup(name)
		if err != nil {
			skipped = append(skipped, name)
			continue
		}
		dup := false
		for _, have := range codecs {
			if have.kind == c.kind {
				dup = true
				break
			}
		}
		if !dup {
			codecs = append(codecs, c)
		}
	}
	return codecs, skipped
}

// PolicyName is the codec's name in a codec policy
// (PrioritizedCodecsList): "G722_8000" for G.722, which the policy names
// by its RTP clock, else the SDP encoding name.
func (c Codec) PolicyName() string {
	if c.kind == kindG722 {
		return "G722_8000"
	}
	return c.String()
}

// PolicyList writes list in the policy's form: "G722_8000;PCMU;PCMA".
func PolicyList(list []Codec) string {
	names := make([]string, len(list))
	for i, c := range list {
		names[i] = c.PolicyName()
	}
	return strings.Join(names, ";")
}

// Prefer is the order in which a phone that has the codecs have offers
// them under a codec policy order: the ones order names first, as it
// names them, then the others as have lists them. Codecs that order names
// and have lacks are left out, so the result is what an offer carries.
func Prefer(have []Codec, order string) []Codec {
	want, _ := ParseOrder(order)
	out := make([]Codec, 0, len(have))
	used := make([]bool, len(have))
	for _, w := range want {
		for i, c := range have {
			if !used[i] && c.kind == w.kind {
				out, used[i] = append(out, c), true
			}
		}
	}
	for i, c := range have {
		if !used[i] {
			out = append(out, c)
		}
	}
	return out
}

// String returns the SDP encoding name, or "none" for the zero Codec.
func (c Codec) String() string {
	if c.kind == kindNone {
		return "none"
	}
	return c.Name
}

// Supported reports whether c is a codec this package can encode and
// decode (the zero Codec and hand-made values are not).
func (c Codec) Supported() bool { return c.kind != kindNone }

// RTPMap returns the a=rtpmap value, e.g. "G722/8000": note the RTP clock,
// not the audio rate.
func (c Codec) RTPMap() string {
	return c.Name + "/" + strconv.Itoa(c.ClockRate)
}

// FrameSamples is the number of PCM samples in one packet of the given
// packetisation time (SDP ptime): 160 for PCMU at 20 ms, 320 for G.722.
// It returns 0 for a non-positive ptime or the zero Codec.
func (c Codec) FrameSamples(ptime time.Duration) int {
	if ptime <= 0 || c.SampleRate <= 0 || ptime > time.Hour {
		return 0
	}
	n := int(int64(c.SampleRate) * int64(ptime) / int64(time.Second))
	if c.kind == kindG722 {
		n &^= 1 // G.722 codes samples in pairs
	}
	return n
}

// FrameTicks is how far the RTP timestamp advances per packet of the
// given ptime: 160 for both PCMU and G.722 at 20 ms.
func (c Codec) FrameTicks(ptime time.Duration) uint32 {
	if ptime <= 0 || c.ClockRate <= 0 || ptime > time.Hour {
		return 0
	}
	return uint32(int64(c.ClockRate) * int64(ptime) / int64(time.Second))
}

// PayloadSize is the size in bytes of one packet's payload for the given
// ptime: 160 bytes at 20 ms for all three codecs.
func (c Codec) PayloadSize(ptime time.Duration) int {
	if c.SampleRate <= 0 {
		return 0
	}
	return int(int64(c.FrameSamples(ptime)) * int64(c.BitRate) / int64(c.SampleRate) / 8)
}

// NewEncoder returns a fresh encoder for one stream. G.722 encoders carry
// adaptive state, so never share one between streams.
func (c Codec) NewEncoder() (Encoder, error) {
	switch c.kind {
	case kindPCMU:
		return mulaw{}, nil
	case kindPCMA:
		return alaw{}, nil
	case kindG722:
		return NewG722Encoder(), nil
	}
	return nil, &NameError{Name: c.Name, Known: false}
}

// NewDecoder returns a fresh decoder for one stream.
func (c Codec) NewDecoder() (Decoder, error) {
	switch c.kind {
	case kindPCMU:
		return mulaw{}, nil
	case kindPCMA:
		return alaw{}, nil
	case kindG722:
		return NewG722Decoder(), nil
	}
	return nil, &NameError{Name: c.Name, Known: false}
}
