package media

import (
	"net/netip"
	"testing"

	"github.com/deskphone/deskphone/media/sdp"
)

// FuzzReceive throws datagrams at the RTP and RTCP receive paths of a
// plain and an SRTP session: nothing may panic, and whatever is not
// valid must be counted, never played. The seed corpus is in
// testdata/fuzz/FuzzReceive.
func FuzzReceive(f *testing.F) {
	plain, secure := newRig(f, Off, ""), newRig(f, Mandatory, sdp.DefaultSuite)
	f.Add(append([]byte(nil), plain.send()...))
	f.Add(append([]byte(nil), secure.send()...))
	from := netip.MustParseAddrPort("127.0.0.1:9")
	f.Fuzz(func(t *testing.T, pkt []byte) {
		for _, r := range []*rig{plain, secure} {
			before := r.b.Stats()
			r.b.receive(append([]byte(nil), pkt...), from, true)
			r.b.receiveRTCP(append([]byte(nil), pkt...), from, true)
			after := r.b.Stats()
			counted := (after.PacketsReceived - before.PacketsReceived) + (after.BadPackets - before.BadPackets) +
				(after.SRTPAuthFailed - before.SRTPAuthFailed) + (after.SRTPReplayed - before.SRTPReplayed)
			if counted == 0 && len(pkt) > 0 {
				// RTCP that parses is taken without counting; RTP never is.
				if len(pkt) < 2 || pkt[1] < 192 || pkt[1] > 223 {
					t.Errorf("datagram % x neither played nor counted", pkt)
				}
			}
		}
	})
}
