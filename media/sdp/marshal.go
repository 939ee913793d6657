package sdp

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
)

// Marshal writes s as a session description with CRLF line ends: one
// session-level c= line, t=0 0, the audio m= line with an rtpmap for every
// named format, fmtp, ptime, crypto, rtcp-mux, ssrc and an explicit direction attribute, and the
// other m= lines (without attributes) at their positions.
//
// Empty fields get harmless defaults ("-" for Username and Name, the
// connection address for OriginAddr, RTP/AVP for Profile), so a Session
// built by hand still marshals to something Parse accepts as long as it has
// a ConnectionAddr and at least one format.
func (s *Session) Marshal() []byte {
	var b bytes.Buffer
	line := func(parts ...string) {
		for _, p := range parts {
			b.WriteString(p)
		}
		b.WriteString("\r\n")
	}
	conn := orDefault(s.ConnectionAddr, "0.0.0.0")
	origin := orDefault(s.OriginAddr, conn)
	line("v=0")
	line("o=", orDefault(s.Username, "-"), " ", u64(s.SessionID), " ", u64(s.SessionVersion), " IN ", addrType(origin), " ", origin)
	line("s=", orDefault(s.Name, "-"))
	line("c=IN ", addrType(conn), " ", conn)
	line("t=0 0")

	others := slices.Clone(s.Other)
	slices.SortStableFunc(others, func(a, b OtherMedia) int { return a.Index - b.Index })
	audioDone := false
	writeAudio := func() {
		audioDone = true
		s.Media.marshal(&b)
	}
	for i, o := range others {
		// The audio stream takes the first index no other line claims.
		if !audioDone && o.Index > i {
			writeAudio()
		}
		mline := "m=" + orDefault(o.Type, "application") + " " + strconv.Itoa(o.Port) + " " + orDefault(o.Profile, ProfileAVP)
		if len(o.Formats) > 0 {
			mline += " " + strings.Join(o.Formats, " ")
		}
		line(mline)
	}
	if !audioDone {
		writeAudio()
	}
	return b.Bytes()
}

func (m *Media) marshal(b *bytes.Buffer) {
	b.WriteString("m=audio ")
	b.WriteString(strconv.Itoa(m.Port))
	b.WriteString(" ")
	b.WriteString(orDefault(m.Profile, ProfileAVP))
	for _, f := range m.Formats {
		b.WriteString(" ")
		b.WriteString(strconv.Itoa(int(f.PT)))
	}
	b.WriteString("\r\n")
	for _, f := range m.Formats {
		if f.Name != "" {
			b.WriteString("a=rtpmap:" + strconv.Itoa(int(f.PT)) + " " + f.Name + "/" + strconv.Itoa(f.Rate))
			if f.Channels > 1 {
				b.WriteString("/" + strconv.Itoa(f.Channels))
			}
			b.WriteString("\r\n")
		}
		if f.Fmtp != "" {
			b.WriteString("a=fmtp:" + strconv.Itoa(int(f.PT)) + " " + f.Fmtp + "\r\n")
		}
	}
	if m.PTime > 0 {
		b.WriteString("a=ptime:" + strconv.Itoa(m.PTime) + "\r\n")
	}
	for _, c := range m.Crypto {
		b.WriteString("a=crypto:" + c.Value() + "\r\n")
	}
	if m.RTCPMux {
		b.WriteString("a=rtcp-mux\r\n")
	}
	if m.SSRC != 0 {
		b.WriteString("a=ssrc:" + strconv.FormatUint(uint64(m.SSRC), 10))
		if m.CNAME != "" {
			b.WriteString(" cname:" + m.CNAME)
		}
		b.WriteString("\r\n")
	}
	b.WriteString("a=" + m.Direction.String() + "\r\n")
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func u64(v uint64) string { return strconv.FormatUint(v, 10) }

// addrType is IP6 for addresses with a colon, IP4 otherwise (host names
// included, as RFC 4566 allows a fully qualified domain name there).
func addrType(addr string) string {
	if strings.Contains(addr, ":") {
		return "IP6"
	}
	return "IP4"
}
