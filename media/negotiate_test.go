package media

import (
	"errors"
	"testing"

	"github.com/deskphone/deskphone/codecs"
	"github.com/deskphone/deskphone/media/sdp"
)

// TestNegotiationTable crosses the offerer's SRTP mode with the
// answerer's: SRTP, plain RTP, or a 488 (an error wrapping the sdp
// sentinel the SIP side maps to it).
func TestNegotiationTable(t *testing.T) {
	const suite = sdp.DefaultSuite
	tests := []struct {
		name           string
		offerer, answr Config
		suite          string // negotiated suite, "" for plain
		err            error  // the answerer's refusal
	}{
		{"off/off", Config{SRTP: Off}, Config{SRTP: Off}, "", nil},
		{"off/optional", Config{SRTP: Off}, Config{SRTP: Optional}, "", nil},
		{"off/mandatory", Config{SRTP: Off}, Config{SRTP: Mandatory}, "", sdp.ErrNoAcceptableCrypto},
		{"optional/off", Config{SRTP: Optional}, Config{SRTP: Off}, "", nil},
		{"optional/optional", Config{SRTP: Optional}, Config{SRTP: Optional}, suite, nil},
		{"optional/mandatory", Config{SRTP: Optional}, Config{SRTP: Mandatory}, "", sdp.ErrUnsupportedProfile},
		{"mandatory/off", Config{SRTP: Mandatory}, Config{SRTP: Off}, "", sdp.ErrUnsupportedProfile},
		{"mandatory/optional", Config{SRTP: Mandatory}, Config{SRTP: Optional}, suite, nil},
		{"mandatory/mandatory", Config{SRTP: Mandatory}, Config{SRTP: Mandatory}, suite, nil},
		{"suite mismatch", Config{SRTP: Mandatory, Suites: []string{"AEAD_AES_256_GCM"}}, Config{SRTP: Mandatory}, "", sdp.ErrNoAcceptableCrypto},
		{"suite choice", Config{SRTP: Optional, Suites: []string{"AEAD_AES_256_GCM", suite}}, Config{SRTP: Optional, Suites: []string{suite}}, suite, nil},
		{"codec mismatch", Config{Codecs: []codecs.Codec{codecs.PCMA}}, Config{Codecs: []codecs.Codec{codecs.PCMU}}, "", sdp.ErrNoCommonCodec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := openSession(t, newEngine(t, tt.offerer))
			b := openSession(t, newEngine(t, tt.answr))
			offer := reparse(t, a.Offer(sdp.SendRecv))
			answer, err := b.Answer(offer, sdp.SendRecv)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Answer error = %v, want %v", err, tt.err)
			}
			if err != nil {
				if st := b.Stats(); st.Codec != "" {
					t.Errorf("a refused offer changed the session: %+v", st)
				}
				if err := b.Start(); !errors.Is(err, ErrNotNegotiated) {
					t.Errorf("Start after a refusal: %v", err)
				}
				return
			}
			if err := a.Accept(reparse(t, answer)); err != nil {
				t.Fatalf("Accept: %v", err)
			}
			for side, s := range map[string]*Session{"offerer": a, "answerer": b} {
				if got := s.Stats().SRTPSuite; got != tt.suite {
					t.Errorf("%s: suite %q, want %q", side, got, tt.suite)
				}
			}
		})
	}
}

// TestAcceptChecks: the offerer refuses answers its policy does not
// allow, and answers without an offer.
func TestAcceptChecks(t *testing.T) {
	e := newEngine(t, Config{SRTP: Mandatory})
	plain := newEngine(t, Config{SRTP: Optional})
	a, b := openSession(t, e), openSession(t, plain)
	if err := a.Accept(sdp.NewOffer("127.0.0.1", 4000, []sdp.Format{sdp.PCMU}, sdp.SendRecv)); !errors.Is(err, ErrNotNegotiated) {
		t.Errorf("Accept without an offer: %v", err)
	}
	if err := a.Start(); !errors.Is(err, ErrNotNegotiated) {
		t.Errorf("Start before negotiation: %v", err)
	}
	offer := a.Offer(sdp.SendRecv)
	answer, err := b.Answer(offer, sdp.SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	stripped := answer.Clone()
	stripped.Media.Profile, stripped.Media.Crypto = sdp.ProfileAVP, nil
	if err := a.Accept(stripped); !errors.Is(err, sdp.ErrNoAcceptableCrypto) {
		t.Errorf("plain answer to a mandatory offer: %v", err)
	}
	foreign := answer.Clone()
	foreign.Media.Formats = []sdp.Format{{PT: 18, Name: "G729", Rate: 8000}}
	if err := a.Accept(foreign); !errors.Is(err, sdp.ErrNoCommonCodec) {
		t.Errorf("answer with a codec we did not offer: %v", err)
	}
	if err := a.Accept(answer); err != nil {
		t.Fatal(err)
	}
	if err := a.Accept(answer); !errors.Is(err, ErrNotNegotiated) {
		t.Errorf("second Accept of one offer: %v", err)
	}
	if _, err := b.Answer(nil, sdp.SendRecv); !errors.Is(err, sdp.ErrNoAudio) {
		t.Errorf("Answer(nil): %v", err)
	}
}

// TestOffer checks what an offer carries per mode.
func TestOffer(t *testing.T) {
	for _, tc := range []struct {
		mode    Mode
		profile string
		keys    int
	}{{Off, sdp.ProfileAVP, 0}, {Optional, sdp.ProfileAVP, 2}, {Mandatory, sdp.ProfileSAVP, 2}} {
		e := newEngine(t, Config{SRTP: tc.mode, Suites: []string{"AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"}, MKI: true,
			Codecs: []codecs.Codec{codecs.G722, codecs.PCMU}})
		s := openSession(t, e)
		o := s.Offer(sdp.SendRecv)
		if o.Media.Profile != tc.profile || len(o.Media.Crypto) != tc.keys || o.Media.Port != s.Port() || o.Media.PTime != 20 || o.ConnectionAddr != DefaultIP {
			t.Errorf("%v: offer %s", tc.mode, o.Marshal())
		}
		if tc.keys > 0 && o.Media.Crypto[0].MKILength != 1 {
			t.Errorf("%v: MKI missing: %v", tc.mode, o.Media.Crypto[0])
		}
		var names []string
		for _, f := range o.Media.Formats {
			names = append(names, f.Name)
		}
		if len(names) != 3 || names[0] != "G722" || names[1] != "PCMU" || names[2] != "telephone-event" {
			t.Errorf("%v: formats %v", tc.mode, names)
		}
	}
}

func TestConfig(t *testing.T) {
	bad := []Config{
		{PortMin: 0, PortMax: 100},
		{PortMin: 100, PortMax: 100},
		{PortMin: 101, PortMax: 102},
		{PortMin: 1000, PortMax: 70000},
		{SRTP: Mode(5)},
		{Suites: []string{"ROT13"}},
		{Codecs: []codecs.Codec{{Name: "G729"}}},
		{IP: "localhost"},
		{IP: "0.0.0.0"},
	}
	for _, cfg := range bad {
		if _, err := NewEngine(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("NewEngine(%+v) = %v, want ErrConfig", cfg, err)
		}
	}
	// A one-pair range: the pair a session just gave back is free.
	probe := openSession(t, newEngine(t, Config{Ports: PortsPerCall}))
	port := probe.Port()
	if port%2 != 0 {
		t.Fatalf("RTP port %d is odd", port)
	}
	_ = probe.Close()
	e := newEngine(t, Config{PortMin: port, PortMax: port + 1, Ports: PortsPerCall})
	s := openSession(t, e)
	if s.Port() != port {
		t.Errorf("port %d, want %d", s.Port(), port)
	}
	if _, err := e.NewSession(); !errors.Is(err, ErrNoPorts) {
		t.Errorf("second session in a one-pair range: %v", err)
	}
	_ = s.Close()
	// Shared ports: a range smaller than the senders' pairs still
	// carries every call, on the pairs it has.
	shared := newEngine(t, Config{PortMin: port, PortMax: port + 1, Senders: 4})
	for range 3 {
		if s := openSession(t, shared); s.Port() != port {
			t.Errorf("shared port %d, want %d", s.Port(), port)
		}
	}
	if _, err := NewEngine(Config{Ports: Ports(7)}); !errors.Is(err, ErrConfig) {
		t.Errorf("ports mode 7: %v", err)
	}
	for in, want := range map[string]Mode{"off": Off, "Optional": Optional, "MANDATORY": Mandatory} {
		if got, err := ParseMode(in); err != nil || got != want {
			t.Errorf("ParseMode(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseMode("maybe"); err == nil {
		t.Error("ParseMode(maybe) succeeded")
	}
}
