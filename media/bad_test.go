package media

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/deskphone/deskphone/internal/testwait"
)

// TestHostilePackets sends what a network or an attacker might at a
// session in a call: garbage, truncated packets, a foreign SSRC, an
// unexpected payload type and, with SRTP, replayed and tampered
// packets. Each is counted where it belongs and dropped; the call goes
// on and still hears the far end's (new) tone.
func TestHostilePackets(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mode  Mode
		suite string
	}{
		{"plain", Off, ""},
		{"AES_CM_128_HMAC_SHA1_80", Mandatory, "AES_CM_128_HMAC_SHA1_80"},
		{"AEAD_AES_128_GCM", Mandatory, "AEAD_AES_128_GCM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := Config{SRTP: tc.mode}
			if tc.suite != "" {
				cfg.Suites = []string{tc.suite}
			}
			e := newEngine(t, cfg)
			a, b := openSession(t, e), openSession(t, e)
			a.SetSource(mustTone(t, 1000))
			p := connectVia(t, a, b)
			testwait.For(t, callTimeout, "the tone through the proxy", hears(b, 1000))

			genuine := p.sent(0)
			p.inject([]byte("\xde\xad\xbe\xef not RTP at all"))
			p.inject(genuine[:8]) // shorter than an RTP header
			foreign := append([]byte(nil), genuine...)
			binary.BigEndian.PutUint32(foreign[8:], binary.BigEndian.Uint32(foreign[8:])+1)
			p.inject(foreign)
			wrongPT := append([]byte(nil), genuine...)
			wrongPT[1] = wrongPT[1]&0x80 | 96
			p.inject(wrongPT)
			wantBad := uint64(4)
			if tc.mode != Off {
				p.inject(genuine[:rtpHeaderLen+2]) // header, no room for a tag
				wantBad++
				p.inject(p.sent(3)) // replayed
				tampered := p.withhold()
				tampered[len(tampered)-12] ^= 0x40
				p.inject(tampered)
			}
			// A new tone after the attack: the call must still work.
			a.SetSource(mustTone(t, 1300))
			testwait.For(t, callTimeout, "the new tone after the attack", hears(b, 1300))
			st := b.Stats()
			if st.BadPackets != wantBad {
				t.Errorf("bad packets %d, want %d", st.BadPackets, wantBad)
			}
			if tc.mode != Off && (st.SRTPReplayed != 1 || st.SRTPAuthFailed != 1) {
				t.Errorf("replayed %d, auth failed %d; want 1, 1", st.SRTPReplayed, st.SRTPAuthFailed)
			}
			if st.SRTPSuite != tc.suite {
				t.Errorf("suite %q", st.SRTPSuite)
			}
		})
	}
}

// TestRTCPGarbage: junk on the RTCP port is counted, and SRTCP that
// fails authentication too.
func TestRTCPGarbage(t *testing.T) {
	e := newEngine(t, Config{SRTP: Mandatory})
	a, b := openSession(t, e), openSession(t, e)
	connect(t, a, b)
	testwait.For(t, callTimeout, "media", func() bool { return b.Stats().PacketsReceived > 0 })
	conn := dialUDP(t, b.Port()+1)
	for _, junk := range [][]byte{
		[]byte("garbage"),
		{0x80, 200, 0, 1, 0, 0, 0, 1}, // an SR header, unauthenticated
	} {
		if _, err := conn.Write(junk); err != nil {
			t.Fatal(err)
		}
	}
	testwait.For(t, 2*time.Second, "the junk counted", func() bool {
		st := b.Stats()
		return st.BadPackets == 1 && st.SRTPAuthFailed == 1
	})
}
