package sdp

import (
	"slices"
	"strconv"
	"strings"
)

// Profiles (the <proto> field of an m= line).
const (
	// ProfileAVP is plain RTP (RFC 3551). It may carry a=crypto lines
	// (best-effort SRTP, see SRTPOptional).
	ProfileAVP = "RTP/AVP"
	// ProfileSAVP is SRTP (RFC 3711) with SDES keys (RFC 4568).
	ProfileSAVP = "RTP/SAVP"
)

// MaxSize bounds what Parse accepts. An audio description is a few hundred
// bytes; the bound keeps a hostile peer from making us parse megabytes.
const MaxSize = 64 << 10

// Session is a session description with one audio stream.
type Session struct {
	// Origin (o=, RFC 4566 §5.2). Username is "-" when there is none.
	Username       string
	SessionID      uint64
	SessionVersion uint64
	OriginAddr     string // the originator's unicast address

	// Name is the s= line; "-" when there is none.
	Name string

	// ConnectionAddr is where the peer sends audio: the c= line of the
	// audio stream, or the session-level one when the stream has none.
	// Marshal writes it at session level.
	ConnectionAddr string

	// Media is the audio stream: the first m=audio line.
	Media Media

	// Other holds every other m= line (video, a second audio stream, ...)
	// in the order they appeared. This package does not negotiate them;
	// Answer rejects each with port 0 at the same position.
	Other []OtherMedia
}

// Media is one audio stream (an m= line and its attributes).
type Media struct {
	Port int
	// Profile is the transport protocol, e.g. ProfileAVP.
	Profile string
	// Formats are the payload formats in preference order.
	Formats []Format
	// Direction is the stream's a=sendrecv/sendonly/recvonly/inactive,
	// or the session-level one when the stream has none.
	Direction Direction
	// PTime is a=ptime in milliseconds; 0 when absent.
	PTime int
	// Crypto are the a=crypto lines (RFC 4568) whose suite this package
	// implements, in the order written; others are dropped by Parse.
	Crypto []Crypto
	// RTCPMux is a=rtcp-mux (RFC 5761): RTCP shares the RTP port. In an
	// offer it proposes that; in an answer it accepts it.
	RTCPMux bool
	// SSRC is the first source of a=ssrc (RFC 5576), the stream the
	// party sends, and CNAME its cname attribute; 0 and "" when absent.
	// It lets a receiver that shares one port between calls tell the
	// streams apart before their first packet.
	SSRC  uint32
	CNAME string
}

// OtherMedia is an m= line this package does not negotiate. Only the m=
// line itself is kept; its attributes are dropped.
type OtherMedia struct {
	// Index is the position of the line among all m= lines, 0-based.
	Index   int
	Type    string // "video", "application", ...
	Port    int
	Profile string
	Formats []string // the <fmt> tokens as written
}

// Format is an RTP payload format: an rtpmap line and its fmtp.
type Format struct {
	PT       uint8
	Name     string // encoding name, e.g. "PCMU"
	Rate     int    // RTP clock rate in Hz
	Channels int    // 1 for mono; 0 is read as 1
	Fmtp     string // a=fmtp parameters, e.g. "0-16"
}

// Well-known formats. G.722 samples at 16 kHz but its RTP clock rate is
// 8000 (RFC 3551 §4.5.2), which is what goes on the wire. Dynamic payload
// type 101 for telephone-event (RFC 4733) is what most desk phones use.
var (
	PCMU           = Format{PT: 0, Name: "PCMU", Rate: 8000, Channels: 1}
	PCMA           = Format{PT: 8, Name: "PCMA", Rate: 8000, Channels: 1}
	G722           = Format{PT: 9, Name: "G722", Rate: 8000, Channels: 1}
	TelephoneEvent = Format{PT: 101, Name: "telephone-event", Rate: 8000, Channels: 1, Fmtp: "0-16"}
)

// staticFormat is the RFC 3551 §6 table of static audio payload types, used
// when an offer lists one without an rtpmap line.
func staticFormat(pt uint8) (Format, bool) {
	switch pt {
	case 0:
		return PCMU, true
	case 3:
		return Format{PT: 3, Name: "GSM", Rate: 8000, Channels: 1}, true
	case 4:
		return Format{PT: 4, Name: "G723", Rate: 8000, Channels: 1}, true
	case 8:
		return PCMA, true
	case 9:
		return G722, true
	case 13:
		return Format{PT: 13, Name: "CN", Rate: 8000, Channels: 1}, true
	case 18:
		return Format{PT: 18, Name: "G729", Rate: 8000, Channels: 1}, true
	}
	return Format{}, false
}

// Matches reports whether f and o are the same codec: same encoding name
// (case-insensitive), clock rate and channel count. Payload type numbers
// do not matter, as dynamic ones differ between peers. G722/16000, a common
// mistake for G722/8000, matches G722.
func (f Format) Matches(o Format) bool {
	if f.Name == "" || !strings.EqualFold(f.Name, o.Name) {
		return false
	}
	return f.rate() == o.rate() && f.channels() == o.channels()
}

// IsTelephoneEvent reports whether f carries DTMF events (RFC 4733) rather
// than audio.
func (f Format) IsTelephoneEvent() bool {
	return strings.EqualFold(f.Name, "telephone-event")
}

func (f Format) rate() int {
	if strings.EqualFold(f.Name, "G722") && f.Rate == 16000 {
		return 8000
	}
	return f.Rate
}

func (f Format) channels() int {
	if f.Channels <= 0 {
		return 1
	}
	return f.Channels
}

// Direction is a stream's media direction attribute (RFC 3264 §5.1). The
// zero value is SendRecv, which is also what a stream without a direction
// attribute means (RFC 4566 §6).
type Direction int

// Directions.
const (
	SendRecv Direction = iota
	SendOnly
	RecvOnly
	Inactive
)

// String is the attribute name, e.g. "sendonly".
func (d Direction) String() string {
	switch d {
	case SendRecv:
		return "sendrecv"
	case SendOnly:
		return "sendonly"
	case RecvOnly:
		return "recvonly"
	case Inactive:
		return "inactive"
	}
	return "Direction(" + strconv.Itoa(int(d)) + ")"
}

// Sends reports whether the side declaring d sends media.
func (d Direction) Sends() bool { return d == SendRecv || d == SendOnly }

// Receives reports whether the side declaring d receives media.
func (d Direction) Receives() bool { return d == SendRecv || d == RecvOnly }

func directionOf(send, recv bool) Direction {
	switch {
	case send && recv:
		return SendRecv
	case send:
		return SendOnly
	case recv:
		return RecvOnly
	}
	return Inactive
}

func parseDirection(s string) (Direction, bool) {
	switch s {
	case "sendrecv":
		return SendRecv, true
	case "sendonly":
		return SendOnly, true
	case "recvonly":
		return RecvOnly, true
	case "inactive":
		return Inactive, true
	}
	return 0, false
}

// Clone returns a deep copy of s.
func (s *Session) Clone() *Session {
	c := *s
	c.Media.Formats = slices.Clone(s.Media.Formats)
	if s.Media.Crypto != nil {
		c.Media.Crypto = make([]Crypto, len(s.Media.Crypto))
		for i, cr := range s.Media.Crypto {
			c.Media.Crypto[i] = cr.clone()
		}
	}
	c.Other = make([]OtherMedia, len(s.Other))
	for i, o := range s.Other {
		o.Formats = slices.Clone(o.Formats)
		c.Other[i] = o
	}
	if s.Other == nil {
		c.Other = nil
	}
	return &c
}

// Format returns the stream's format with payload type pt.
func (m *Media) Format(pt uint8) (Format, bool) {
	for _, f := range m.Formats {
		if f.PT == pt {
			return f, true
		}
	}
	return Format{}, false
}
