package sdp

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// crlf joins lines the way SIP peers send SDP.
func crlf(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n" }

// polyOffer is shaped like a Poly VVX offer: session-level c=, G.722 first,
// PCMU/PCMA by static number only, telephone-event.
var polyOffer = crlf(
	"v=0",
	"o=- 1700000000 1700000000 IN IP4 192.0.2.10",
	"s=Polycom IP Phone",
	"c=IN IP4 192.0.2.10",
	"t=0 0",
	"a=sendrecv",
	"m=audio 2222 RTP/AVP 9 0 8 101",
	"a=rtpmap:9 G722/8000",
	"a=rtpmap:101 telephone-event/8000",
	"a=fmtp:101 0-15",
	"a=ptime:20",
)

// audiocodesOffer lists SILK first (seed 004), carries an a=crypto line in
// an RTP/AVP offer and a media-level connection line.
var audiocodesOffer = crlf(
	"v=0",
	"o=AudiocodesGW 1234 5678 IN IP4 198.51.100.7",
	"s=Phone-Call",
	"c=IN IP4 0.0.0.0",
	"t=0 0",
	"m=audio 6000 RTP/AVP 103 104 9 0 8 18 101",
	"c=IN IP4 198.51.100.7",
	"a=rtpmap:103 SILK/16000",
	"a=rtpmap:104 SILK/8000",
	"a=rtpmap:18 G729/8000",
	"a=fmtp:18 annexb=no",
	"a=rtpmap:101 telephone-event/8000",
	"a=fmtp:101 0-15",
	"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz",
	"a=ptime:20",
	"a=sendonly",
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *Session
	}{
		{
			name: "poly",
			in:   polyOffer,
			want: &Session{
				Username: "-", SessionID: 1700000000, SessionVersion: 1700000000, OriginAddr: "192.0.2.10",
				Name: "Polycom IP Phone", ConnectionAddr: "192.0.2.10",
				Media: Media{Port: 2222, Profile: "RTP/AVP", PTime: 20, Direction: SendRecv, Formats: []Format{
					G722, PCMU, PCMA, {PT: 101, Name: "telephone-event", Rate: 8000, Channels: 1, Fmtp: "0-15"},
				}},
			},
		},
		{
			name: "audiocodes media-level connection and sendonly",
			in:   audiocodesOffer,
			want: &Session{
				Username: "AudiocodesGW", SessionID: 1234, SessionVersion: 5678, OriginAddr: "198.51.100.7",
				Name: "Phone-Call", ConnectionAddr: "198.51.100.7",
				Media: Media{Port: 6000, Profile: "RTP/AVP", PTime: 20, Direction: SendOnly, Formats: []Format{
					{PT: 103, Name: "SILK", Rate: 16000, Channels: 1},
					{PT: 104, Name: "SILK", Rate: 8000, Channels: 1},
					G722, PCMU, PCMA,
					{PT: 18, Name: "G729", Rate: 8000, Channels: 1, Fmtp: "annexb=no"},
					{PT: 101, Name: "telephone-event", Rate: 8000, Channels: 1, Fmtp: "0-15"},
				}, Crypto: []Crypto{{Tag: 1, Suite: "AES_CM_128_HMAC_SHA1_80", KeySalt: mustB64("WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz")}}},
			},
		},
		{
			name: "LF line ends, session-level inactive, video first",
			in: strings.Join([]string{
				"v=0", "o=yealink 1 2 IN IP6 2001:db8::1", "s=", "c=IN IP6 2001:db8::1", "t=0 0", "a=inactive",
				"m=video 0 RTP/AVP 96", "a=rtpmap:96 H264/90000",
				"m=audio 11780 RTP/AVP 0 96", "a=rtpmap:96 opus/48000/2", "",
			}, "\n"),
			want: &Session{
				Username: "yealink", SessionID: 1, SessionVersion: 2, OriginAddr: "2001:db8::1",
				Name: "-", ConnectionAddr: "2001:db8::1",
				Media: Media{Port: 11780, Profile: "RTP/AVP", Direction: Inactive, Formats: []Format{
					PCMU, {PT: 96, Name: "opus", Rate: 48000, Channels: 2},
				}},
				Other: []OtherMedia{{Index: 0, Type: "video", Port: 0, Profile: "RTP/AVP", Formats: []string{"96"}}},
			},
		},
		{
			name: "multicast ttl stripped, unknown lines ignored, dynamic without rtpmap",
			in: crlf("v=0", "o=- 0 0 IN IP4 h.example", "s=x", "i=info", "b=AS:64", "c=IN IP4 224.2.1.1/127/3",
				"t=0 0", "z=0 0", "m=audio 5004/2 RTP/AVP 97", "a=x-unknown:1", "a=fmtp:97 mode=30"),
			want: &Session{
				Username: "-", OriginAddr: "h.example", Name: "x", ConnectionAddr: "224.2.1.1",
				Media: Media{Port: 5004, Profile: "RTP/AVP", Formats: []Format{{PT: 97, Fmtp: "mode=30"}}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	valid := func(lines ...string) string {
		return crlf(append([]string{"v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0"}, lines...)...)
	}
	tests := []struct {
		name string
		in   string
		want error
		line int
	}{
		{"empty", "", ErrVersion, 0},
		{"no version", "o=- 1 1 IN IP4 a\r\n", ErrVersion, 1},
		{"version 1", "v=1\r\n", ErrVersion, 1},
		{"not a line", "v=0\r\nhello\r\n", ErrSyntax, 2},
		{"upper-case type", "v=0\r\nO=- 1 1 IN IP4 a\r\n", ErrSyntax, 2},
		{"NUL", "v=0\r\ns=a\x00b\r\n", ErrSyntax, 2},
		{"bare CR inside", "v=0\r\ns=a\rb\r\n", ErrSyntax, 2},
		{"second version", "v=0\r\nv=0\r\n", ErrSyntax, 2},
		{"origin fields", "v=0\r\no=- 1 IN IP4 a\r\n", ErrSyntax, 2},
		{"origin id", "v=0\r\no=- x 1 IN IP4 a\r\n", ErrSyntax, 2},
		{"origin version overflow", "v=0\r\no=- 1 99999999999999999999 IN IP4 a\r\n", ErrSyntax, 2},
		{"origin nettype", "v=0\r\no=- 1 1 ATM IP4 a\r\n", ErrSyntax, 2},
		{"no origin", "v=0\r\ns=-\r\nc=IN IP4 a\r\nm=audio 1 RTP/AVP 0\r\n", ErrNoOrigin, 0},
		{"connection addrtype", valid("c=IN IPX a"), ErrSyntax, 6},
		{"connection empty", valid("c=IN IP4 /127"), ErrSyntax, 6},
		{"no audio", valid("m=video 5 RTP/AVP 96"), ErrNoAudio, 0},
		{"no connection", crlf("v=0", "o=- 1 1 IN IP4 a", "m=audio 1 RTP/AVP 0"), ErrNoConnection, 0},
		{"media short", valid("m=audio 1 RTP/AVP"), ErrSyntax, 6},
		{"port", valid("m=audio 70000 RTP/AVP 0"), ErrSyntax, 6},
		{"negative port", valid("m=audio -1 RTP/AVP 0"), ErrSyntax, 6},
		{"payload type range", valid("m=audio 1 RTP/AVP 128"), ErrSyntax, 6},
		{"payload type text", valid("m=audio 1 RTP/AVP PCMU"), ErrSyntax, 6},
		{"payload type twice", valid("m=audio 1 RTP/AVP 0 0"), ErrSyntax, 6},
		{"rtpmap no rate", valid("m=audio 1 RTP/AVP 0", "a=rtpmap:0 PCMU"), ErrSyntax, 7},
		{"rtpmap zero rate", valid("m=audio 1 RTP/AVP 0", "a=rtpmap:0 PCMU/0"), ErrSyntax, 7},
		{"rtpmap bad pt", valid("m=audio 1 RTP/AVP 0", "a=rtpmap:x PCMU/8000"), ErrSyntax, 7},
		{"rtpmap channels", valid("m=audio 1 RTP/AVP 0", "a=rtpmap:0 PCMU/8000/0"), ErrSyntax, 7},
		{"rtpmap too many parts", valid("m=audio 1 RTP/AVP 0", "a=rtpmap:0 PCMU/8000/1/1"), ErrSyntax, 7},
		{"fmtp bad pt", valid("m=audio 1 RTP/AVP 0", "a=fmtp:300 x"), ErrSyntax, 7},
		{"ptime", valid("m=audio 1 RTP/AVP 0", "a=ptime:twenty"), ErrSyntax, 7},
		{"too large", "v=0\r\n" + strings.Repeat("a=x\r\n", MaxSize/5+1), ErrTooLarge, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte(tt.in))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse = %v, %v; want %v", s, err, tt.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError", err)
			}
			if pe.Line != tt.line {
				t.Errorf("line = %d, want %d (%v)", pe.Line, tt.line, err)
			}
			if tt.line > 0 && !strings.Contains(err.Error(), "line ") {
				t.Errorf("error %q does not name the line", err)
			}
		})
	}
}

func TestParseErrorTextIsBounded(t *testing.T) {
	_, err := Parse([]byte("v=0\r\no=" + strings.Repeat("x", 10000) + "\r\n"))
	if err == nil || len(err.Error()) > 200 {
		t.Fatalf("error = %.300q", err)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, in := range []string{polyOffer, audiocodesOffer} {
		s1, err := Parse([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		s2, err := Parse(s1.Marshal())
		if err != nil {
			t.Fatalf("reparse: %v\n%s", err, s1.Marshal())
		}
		if !reflect.DeepEqual(s1, s2) {
			t.Errorf("round trip changed the session:\n%+v\n%+v", s1, s2)
		}
	}
}

func TestMarshal(t *testing.T) {
	s := NewOffer("192.0.2.1", 4000, []Format{G722, PCMU, TelephoneEvent}, SendOnly)
	s.SessionID, s.SessionVersion = 42, 7
	s.Media.PTime = 20
	s.Other = []OtherMedia{{Index: 0, Type: "video", Port: 0, Profile: "RTP/AVP", Formats: []string{"96"}}}
	want := crlf(
		"v=0",
		"o=- 42 7 IN IP4 192.0.2.1",
		"s=-",
		"c=IN IP4 192.0.2.1",
		"t=0 0",
		"m=video 0 RTP/AVP 96",
		"m=audio 4000 RTP/AVP 9 0 101",
		"a=rtpmap:9 G722/8000",
		"a=rtpmap:0 PCMU/8000",
		"a=rtpmap:101 telephone-event/8000",
		"a=fmtp:101 0-16",
		"a=ptime:20",
		"a=sendonly",
	)
	if got := string(s.Marshal()); got != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", got, want)
	}
}

func TestMarshalDefaults(t *testing.T) {
	s := &Session{ConnectionAddr: "2001:db8::5", Media: Media{Port: 1, Formats: []Format{{PT: 0}}}}
	got, err := Parse(s.Marshal())
	if err != nil {
		t.Fatalf("hand-built session does not reparse: %v\n%s", err, s.Marshal())
	}
	if got.OriginAddr != "2001:db8::5" || got.Media.Profile != ProfileAVP || got.Name != "-" || got.Username != "-" {
		t.Errorf("defaults: %+v", got)
	}
}

func TestAnswerDirection(t *testing.T) {
	// RFC 3264 §6.1.
	tests := []struct {
		offer, local, want Direction
	}{
		{SendRecv, SendRecv, SendRecv},
		{SendRecv, SendOnly, SendOnly},
		{SendRecv, RecvOnly, RecvOnly},
		{SendRecv, Inactive, Inactive},
		{SendOnly, SendRecv, RecvOnly},
		{SendOnly, RecvOnly, RecvOnly},
		{SendOnly, SendOnly, Inactive},
		{RecvOnly, SendRecv, SendOnly},
		{RecvOnly, RecvOnly, Inactive},
		{RecvOnly, SendOnly, SendOnly},
		{Inactive, SendRecv, Inactive},
		{Inactive, Inactive, Inactive},
	}
	for _, tt := range tests {
		t.Run(tt.offer.String()+"/"+tt.local.String(), func(t *testing.T) {
			offer := NewOffer("192.0.2.1", 4000, []Format{PCMU}, tt.offer)
			ans, err := Answer(offer, "192.0.2.2", 5000, []Format{PCMU}, tt.local)
			if err != nil {
				t.Fatal(err)
			}
			if ans.Media.Direction != tt.want {
				t.Errorf("answer direction = %v, want %v", ans.Media.Direction, tt.want)
			}
		})
	}
}

func TestAnswerCodecs(t *testing.T) {
	dynTE := Format{PT: 96, Name: "telephone-event", Rate: 8000, Channels: 1, Fmtp: "0-15"}
	tests := []struct {
		name      string
		offered   []Format
		supported []Format
		want      []Format
		err       error
	}{
		{"offerer order kept", []Format{PCMA, G722, PCMU}, []Format{PCMU, G722}, []Format{G722, PCMU}, nil},
		{"offerer numbers and fmtp kept", []Format{PCMU, dynTE}, []Format{PCMU, TelephoneEvent}, []Format{PCMU, dynTE}, nil},
		{"case-insensitive names", []Format{{PT: 0, Name: "pcmu", Rate: 8000, Channels: 1}}, []Format{PCMU}, []Format{{PT: 0, Name: "pcmu", Rate: 8000, Channels: 1}}, nil},
		{"G722/16000 mistake accepted", []Format{{PT: 9, Name: "G722", Rate: 16000}}, []Format{G722}, []Format{{PT: 9, Name: "G722", Rate: 16000}}, nil},
		{"rate differs", []Format{{PT: 96, Name: "SILK", Rate: 16000, Channels: 1}}, []Format{{PT: 97, Name: "SILK", Rate: 8000, Channels: 1}}, nil, ErrNoCommonCodec},
		{"nothing common", []Format{{PT: 18, Name: "G729", Rate: 8000, Channels: 1}}, []Format{PCMU, PCMA}, nil, ErrNoCommonCodec},
		{"telephone-event alone", []Format{{PT: 18, Name: "G729", Rate: 8000}, TelephoneEvent}, []Format{PCMU, TelephoneEvent}, nil, ErrNoCommonCodec},
		{"unnamed dynamic", []Format{{PT: 96}}, []Format{PCMU}, nil, ErrNoCommonCodec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			offer := NewOffer("192.0.2.1", 4000, tt.offered, SendRecv)
			ans, err := Answer(offer, "192.0.2.2", 5000, tt.supported, SendRecv)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Answer error = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if !reflect.DeepEqual(ans.Media.Formats, tt.want) {
				t.Errorf("formats = %+v, want %+v", ans.Media.Formats, tt.want)
			}
			if ans.ConnectionAddr != "192.0.2.2" || ans.Media.Port != 5000 {
				t.Errorf("answer address = %s:%d", ans.ConnectionAddr, ans.Media.Port)
			}
		})
	}
}

func TestAnswerRejectsOtherStreamsAndKeepsPTime(t *testing.T) {
	offer, err := Parse([]byte(crlf("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0",
		"m=audio 4000 RTP/AVP 0", "a=ptime:30", "m=video 4002 RTP/AVP 96", "a=rtpmap:96 H264/90000")))
	if err != nil {
		t.Fatal(err)
	}
	ans, err := Answer(offer, "192.0.2.2", 5000, []Format{PCMU}, SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	want := []OtherMedia{{Index: 1, Type: "video", Port: 0, Profile: "RTP/AVP", Formats: []string{"96"}}}
	if !reflect.DeepEqual(ans.Other, want) {
		t.Errorf("Other = %+v, want %+v", ans.Other, want)
	}
	if offer.Other[0].Port != 4002 {
		t.Error("Answer modified the offer")
	}
	if ans.Media.PTime != 30 {
		t.Errorf("ptime = %d, want 30", ans.Media.PTime)
	}
	if !strings.Contains(string(ans.Marshal()), "m=audio 5000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:30\r\na=sendrecv\r\nm=video 0 RTP/AVP 96\r\n") {
		t.Errorf("answer m= lines out of place:\n%s", ans.Marshal())
	}
}

func TestAnswerDisabledStreamAndProfile(t *testing.T) {
	offer := NewOffer("192.0.2.1", 0, []Format{PCMU}, SendRecv)
	ans, err := Answer(offer, "192.0.2.2", 5000, []Format{PCMU}, SendRecv)
	if err != nil || ans.Media.Port != 0 {
		t.Errorf("disabled stream: port %v, err %v; want 0, nil", ans, err)
	}
	offer.Media.Profile = ProfileSAVP
	if _, err := Answer(offer, "192.0.2.2", 5000, []Format{PCMU}, SendRecv); !errors.Is(err, ErrUnsupportedProfile) {
		t.Errorf("SAVP offer: err = %v, want ErrUnsupportedProfile", err)
	}
	if _, err := Answer(nil, "192.0.2.2", 5000, []Format{PCMU}, SendRecv); err == nil {
		t.Error("nil offer accepted")
	}
}

func TestReoffer(t *testing.T) {
	offer := NewOffer("192.0.2.1", 4000, []Format{PCMU, TelephoneEvent}, SendRecv)
	hold := offer.Reoffer(SendOnly)
	if hold.SessionVersion != offer.SessionVersion+1 || hold.SessionID != offer.SessionID {
		t.Errorf("hold o= %d %d, offer %d %d", hold.SessionID, hold.SessionVersion, offer.SessionID, offer.SessionVersion)
	}
	if hold.Media.Direction != SendOnly || offer.Media.Direction != SendRecv {
		t.Errorf("directions: hold %v, offer %v", hold.Media.Direction, offer.Media.Direction)
	}
	hold.Media.Formats[0].Name = "changed"
	if offer.Media.Formats[0].Name != "PCMU" {
		t.Error("Reoffer shares Formats with the original")
	}
	resume := hold.Reoffer(SendRecv)
	if resume.SessionVersion != offer.SessionVersion+2 || resume.Media.Direction != SendRecv {
		t.Errorf("resume: %d %v", resume.SessionVersion, resume.Media.Direction)
	}
}

func TestNewOfferIDs(t *testing.T) {
	a, b := NewOffer("h", 1, nil, SendRecv), NewOffer("h", 1, nil, SendRecv)
	if a.SessionID == b.SessionID {
		t.Error("two offers share a session id")
	}
	if a.SessionID >= 1<<62 || a.SessionVersion != 1 {
		t.Errorf("o= %d %d", a.SessionID, a.SessionVersion)
	}
}

func TestDirectionString(t *testing.T) {
	for d, want := range map[Direction]string{SendRecv: "sendrecv", SendOnly: "sendonly", RecvOnly: "recvonly", Inactive: "inactive", 9: "Direction(9)"} {
		if d.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(d), d.String(), want)
		}
	}
}

func TestHostileInputsDoNotPanic(t *testing.T) {
	inputs := []string{
		"v=0", "v=0\n", "v=0\r\n\r\n\r\n", "=", "v=", "\x00\x00", "v=0\nm=", "v=0\nm=audio",
		"v=0\no=- 1 1 IN IP4 a\nc=IN IP4 a\nm=audio 1 RTP/AVP 0\na=rtpmap:", "v=0\na=fmtp:",
		"v=0\no=- 1 1 IN IP4 a\nc=IN IP4 a\nm=audio 1 RTP/AVP 0\na=rtpmap:0 /",
		"v=0\no=- 1 1 IN IP4 a\nc=IN IP4 a\nm=audio 1 RTP/AVP " + strings.Repeat("1 ", 20000),
		"\xff\xfe\xfd", strings.Repeat("v=0\n", 1000),
	}
	for _, in := range inputs {
		_, _ = Parse([]byte(in))
	}
}

// TestRTCPMuxAndSSRC: a=rtcp-mux (RFC 5761) and the first a=ssrc with
// its cname (RFC 5576) are read, written and survive a round trip;
// malformed a=ssrc lines and further sources are ignored.
func TestRTCPMuxAndSSRC(t *testing.T) {
	in := crlf(
		"v=0",
		"o=- 1 1 IN IP4 192.0.2.1",
		"s=-",
		"c=IN IP4 192.0.2.1",
		"t=0 0",
		"m=audio 4000 RTP/AVP 0",
		"a=ssrc:notanumber cname:x",
		"a=ssrc:0 cname:zero",
		"a=ssrc:3735928559 msid:stream track",
		"a=ssrc:3735928559 cname:far@192.0.2.1",
		"a=ssrc:42 cname:other",
		"a=rtcp-mux",
	)
	s, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Media.RTCPMux || s.Media.SSRC != 3735928559 || s.Media.CNAME != "far@192.0.2.1" {
		t.Fatalf("parsed mux %v, ssrc %d, cname %q", s.Media.RTCPMux, s.Media.SSRC, s.Media.CNAME)
	}
	out := string(s.Marshal())
	for _, want := range []string{"a=rtcp-mux\r\n", "a=ssrc:3735928559 cname:far@192.0.2.1\r\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("marshalled without %q:\n%s", want, out)
		}
	}
	again, err := Parse([]byte(out))
	if err != nil || !reflect.DeepEqual(again.Media, s.Media) {
		t.Errorf("round trip: %v\n%+v\n%+v", err, again.Media, s.Media)
	}
	plain, err := Parse([]byte(polyOffer))
	if err != nil {
		t.Fatal(err)
	}
	if plain.Media.RTCPMux || plain.Media.SSRC != 0 || strings.Contains(string(plain.Marshal()), "a=ssrc") {
		t.Errorf("attributes out of nothing: %+v", plain.Media)
	}
}
