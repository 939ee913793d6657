package codecs

import (
	"encoding/binary"
	"fmt"
	"time"
)

// RFC 4733 telephone-events carry DTMF keys out of band, because a
// compressing codec (or SRTP's packet loss) would mangle in-band tones.

// DTMFEvent is the 4-byte RFC 4733 telephone-event payload (section 2.3).
type DTMFEvent struct {
	Event    uint8  // event code: 0-9, 10 '*', 11 '#', 12-15 'A'-'D'
	End      bool   // E bit: this is (a retransmission of) the final packet
	Volume   uint8  // power level in -dBm0, 0..63
	Duration uint16 // event duration so far, in RTP clock ticks
}

// DTMFEventSize is the size of a telephone-event payload in bytes.
const DTMFEventSize = 4

// Marshal returns the payload as a new 4-byte slice.
func (e DTMFEvent) Marshal() ([]byte, error) {
	b := make([]byte, DTMFEventSize)
	if _, err := e.MarshalTo(b); err != nil {
		return nil, err
	}
	return b, nil
}

// MarshalTo writes the payload into buf without allocating and returns
// the number of bytes written (always 4).
func (e DTMFEvent) MarshalTo(buf []byte) (int, error) {
	if e.Volume > 63 {
		return 0, fmt.Errorf("volume %d above 63: %w", e.Volume, ErrInvalidEvent)
	}
	if len(buf) < DTMFEventSize {
		return 0, shortBuffer("telephone-event marshal", len(buf), DTMFEventSize)
	}
	buf[0] = e.Event
	buf[1] = e.Volume
	if e.End {
		buf[1] |= 0x80
	}
	binary.BigEndian.PutUint16(buf[2:], e.Duration)
	return DTMFEventSize, nil
}

// Unmarshal parses a telephone-event payload. The reserved R bit is
// ignored as RFC 4733 asks of receivers; bytes past the fourth are ignored.
func (e *DTMFEvent) Unmarshal(payload []byte) error {
	if len(payload) < DTMFEventSize {
		return fmt.Errorf("telephone-event payload of %d bytes, need %d: %w", len(payload), DTMFEventSize, ErrInvalidEvent)
	}
	e.Event = payload[0]
	e.End = payload[1]&0x80 != 0
	e.Volume = payload[1] & 0x3F
	e.Duration = binary.BigEndian.Uint16(payload[2:])
	return nil
}

// KeyToEvent maps a DTMF key ('0'-'9', '*', '#', 'A'-'D', also 'a'-'d')
// to its RFC 4733 event code.
func KeyToEvent(key rune) (uint8, bool) {
	switch {
	case key >= '0' && key <= '9':
		return uint8(key - '0'), true
	case key == '*':
		return 10, true
	case key == '#':
		return 11, true
	case key >= 'A' && key <= 'D':
		return uint8(key-'A') + 12, true
	case key >= 'a' && key <= 'd':
		return uint8(key-'a') + 12, true
	}
	return 0, false
}

// EventToKey maps an RFC 4733 event code 0-15 to its DTMF key.
func EventToKey(event uint8) (rune, bool) {
	switch {
	case event <= 9:
		return rune('0' + event), true
	case event == 10:
		return '*', true
	case event == 11:
		return '#', true
	case event <= 15:
		return rune('A' + event - 12), true
	}
	return 0, false
}

// DTMFPacket is one telephone-event packet to send: the payload fields,
// the RTP marker bit and the RTP timestamp, which RFC 4733 fixes at the
// event's start for every packet of the event.
type DTMFPacket struct {
	Event     DTMFEvent
	Marker    bool
	Timestamp uint32
}

// dtmfSenderState names where the sender is in RFC 4733 section 2.5.1.
type dtmfSenderState int

const (
	senderIdle    dtmfSenderState = iota // no event
	senderSending                        // start and continuation packets
	senderEnding                         // the three final packets
)

// endPackets is how many times the final packet goes out: RFC 4733
// section 2.5.1.4 recommends three, so one lost packet loses no key.
const endPackets = 3

// DTMFSender produces the packet sequence of RFC 4733 telephone-events,
// one packet per call of Next, which the caller makes once per packet
// interval. It holds no timers and allocates nothing; the caller owns the
// clock and the RTP session (sequence numbers, SSRC, SRTP).
//
// For a 100 ms key at 8 kHz with 20 ms packets, Next yields durations 160
// (with the marker bit), 320, 480, 640, then 800 three times with the E
// bit set, all with the timestamp given to Start.
type DTMFSender struct {
	clockRate int
	interval  uint32 // packet interval in RTP ticks
	volume    uint8

	state     dtmfSenderState
	event     uint8
	timestamp uint32
	total     uint32 // planned duration in ticks, 0 while the key is held
	elapsed   uint32 // duration reported so far
	sent      int    // packets produced for this event
	ends      int    // final packets produced
}

// NewDTMFSender returns a sender for a stream with the given RTP clock
// rate (8000 for PCMU, PCMA and G.722), packet interval (the audio ptime,
// usually 20 ms) and volume (in -dBm0, 0..63; phones use about 10).
func NewDTMFSender(clockRate int, interval time.Duration, volume uint8) (*DTMFSender, error) {
	if clockRate <= 0 || clockRate > 192000 {
		return nil, fmt.Errorf("telephone-event clock rate %d: %w", clockRate, ErrInvalidArgument)
	}
	if interval <= 0 || interval > time.Second {
		return nil, fmt.Errorf("telephone-event packet interval %v: %w", interval, ErrInvalidArgument)
	}
	ticks := int64(clockRate) * int64(interval) / int64(time.Second)
	if ticks <= 0 {
		return nil, fmt.Errorf("telephone-event packet interval %v is under one RTP tick: %w", interval, ErrInvalidArgument)
	}
	if volume > 63 {
		return nil, fmt.Errorf("telephone-event volume %d above 63: %w", volume, ErrInvalidEvent)
	}
	return &DTMFSender{clockRate: clockRate, interval: uint32(ticks), volume: volume}, nil
}

// Start begins an event for key at RTP timestamp ts. With d > 0 the event
// lasts d (rounded to RTP ticks, at least one packet interval); with d == 0
// it lasts until [DTMFSender.Stop], like a key held on the keypad, or
// until the 16-bit duration field is full (about 8 s at 8 kHz). Starting
// while an event is still being sent fails with [ErrBusy].
func (s *DTMFSender) Start(key rune, ts uint32, d time.Duration) error {
	ev, ok := KeyToEvent(key)
	if !ok {
		return fmt.Errorf("key %q: %w", key, ErrInvalidEvent)
	}
	if s.state != senderIdle {
		return ErrBusy
	}
	if d < 0 || d > time.Minute {
		return fmt.Errorf("event duration %v: %w", d, ErrInvalidArgument)
	}
	total := uint32(0)
	if d > 0 {
		ticks := (int64(s.clockRate)*int64(d) + int64(time.Second)/2) / int64(time.Second)
		if ticks > 0xFFFF {
			return fmt.Errorf("event duration %v exceeds 65535 RTP ticks: %w", d, ErrInvalidArgument)
		}
		total = max(uint32(ticks), s.interval)
	}
	s.state = senderSending
	s.event = ev
	s.timestamp = ts
	s.total = total
	s.elapsed = 0
	s.sent = 0
	s.ends = 0
	return nil
}

// Stop ends a held key: the next packets are the final ones, carrying the
// duration reached so far. It does nothing when no key is held.
func (s *DTMFSender) Stop() {
	if s.state != senderSending {
		return
	}
	if s.elapsed == 0 {
		s.elapsed = s.interval // an event lasts at least one packet
	}
	s.total = s.elapsed
	s.state = senderEnding
}

// Active reports whether an event is still being sent.
func (s *DTMFSender) Active() bool { return s.state != senderIdle }

// Next returns the packet for the current packet interval, or false when
// there is nothing to send.
func (s *DTMFSender) Next() (DTMFPacket, bool) {
	switch s.state {
	case senderIdle:
		return DTMFPacket{}, false
	case senderSending:
		// RFC 4733 2.5.1.3: each update carries the duration so far.
		limit := s.total
		if limit == 0 {
			limit = 0xFFFF // a held key ends when the field is full
		}
		s.elapsed = min(s.elapsed+s.interval, limit)
		if s.elapsed >= limit {
			s.state = senderEnding
		}
	}
	p := DTMFPacket{
		Event: DTMFEvent{
			Event:    s.event,
			End:      s.state == senderEnding,
			Volume:   s.volume,
			Duration: uint16(s.elapsed),
		},
		Marker:    s.sent == 0, // RFC 4733 2.5.1.2: marker on the first packet only
		Timestamp: s.timestamp,
	}
	s.sent++
	if s.state == senderEnding {
		// RFC 4733 2.5.1.4: the final packet is sent three times with
		// the same duration.
		s.ends++
		if s.ends >= endPackets {
			s.state = senderIdle
		}
	}
	return p, true
}

// DTMFKey is a key press reported by [DTMFReceiver].
type DTMFKey struct {
	Key       rune      // '0'-'9', '*', '#', 'A'-'D', or 0 for other events
	Event     DTMFEvent // the first packet seen of the event
	Timestamp uint32    // RTP timestamp of the event start
}

// DTMFReceiver turns a stream of telephone-event packets, with their
// start, update and repeated end packets, into one report per key press.
// The zero value is ready to use.
type DTMFReceiver struct {
	last      uint32 // timestamp of the last reported event
	lastEvent uint8
	seen      bool
}

// Receive takes the RTP timestamp and payload of one telephone-event
// packet. It reports a key the first time any packet of a new event
// arrives, so a press is reported even when its first packets are lost;
// later packets of the same event, and late packets of older events, are
// ignored.
func (r *DTMFReceiver) Receive(timestamp uint32, payload []byte) (DTMFKey, bool, error) {
	var ev DTMFEvent
	if err := ev.Unmarshal(payload); err != nil {
		return DTMFKey{}, false, err
	}
	if r.seen {
		if timestamp == r.last && ev.Event == r.lastEvent {
			return DTMFKey{}, false, nil // update or retransmission
		}
		if int32(timestamp-r.last) < 0 {
			return DTMFKey{}, false, nil // older event, reordered
		}
	}
	r.seen, r.last, r.lastEvent = true, timestamp, ev.Event
	key, _ := EventToKey(ev.Event)
	return DTMFKey{Key: key, Event: ev, Timestamp: timestamp}, true, nil
}

// Reset forgets past events, for a new stream.
func (r *DTMFReceiver) Reset() { *r = DTMFReceiver{} }
