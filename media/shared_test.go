package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"

	"golang.org/x/net/ipv4"

	"github.com/deskphone/deskphone/codecs"
	"github.com/deskphone/deskphone/internal/testwait"
	"github.com/deskphone/deskphone/media/sdp"
)

// noSSRC takes a=ssrc out of a description, as a far end that does
// not write it.
func noSSRC(d *sdp.Session) { d.Media.SSRC, d.Media.CNAME = 0, "" }

// freePair is an even port whose pair was free a moment ago.
func freePair(t *testing.T) int {
	t.Helper()
	probe := openSession(t, newEngine(t, Config{Ports: PortsPerCall}))
	port := probe.Port()
	if err := probe.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// TestLatePacketsNeverReachANewCall is the failure seen once under load
// (auth failures and bad packets in a call that had none): a call ends
// while its far end still sends to our port, and a new call takes the
// port. The old far end's packets must go nowhere: not into the new
// call's audio (plain RTP latched onto them before), not into its
// counters (SRTP counted them as authentication failures). The new call
// hears its own far end only.
func TestLatePacketsNeverReachANewCall(t *testing.T) {
	for _, mode := range []Mode{Off, Mandatory} {
		for _, ports := range []Ports{PortsShared, PortsPerCall} {
			for _, ssrc := range []bool{true, false} {
				t.Run(fmt.Sprintf("%v/%v/ssrc=%v", mode, ports, ssrc), func(t *testing.T) {
					t.Parallel()
					edit := func(*sdp.Session) {}
					if !ssrc {
						edit = noSSRC
					}
					// A one-pair range, so that the new call gets the old
					// call's port; other tests (and processes) bind ports
					// too, so a pair taken meanwhile means another try.
					var near *Engine
					var old *Session
					for try := 0; old == nil; try++ {
						port := freePair(t)
						near = newEngine(t, Config{SRTP: mode, PortMin: port, PortMax: port + 1, Senders: 1, Ports: ports})
						var err error
						if old, err = near.NewSession(); err != nil && try == 5 {
							t.Fatal(err)
						}
					}
					port := old.Port()
					far := newEngine(t, Config{SRTP: mode})

					oldFar := openSession(t, far)
					oldFar.SetSource(mustTone(t, 400))
					connectWith(t, old, oldFar, edit)
					testwait.For(t, callTimeout, "the first call's tone", hears(old, 400))
					if err := old.Close(); err != nil {
						t.Fatal(err)
					}
					// oldFar goes on sending to the port.

					s, sFar := openSession(t, near), openSession(t, far)
					if s.Port() != port {
						t.Fatalf("the new call is on port %d, want the old call's %d", s.Port(), port)
					}
					sFar.SetSource(mustTone(t, 1000))
					offer := reparse(t, s.Offer(sdp.SendRecv))
					edit(offer)
					answer, err := sFar.Answer(reparse(t, offer), sdp.SendRecv)
					if err != nil {
						t.Fatal(err)
					}
					answer = reparse(t, answer)
					edit(answer)
					if err := s.Accept(reparse(t, answer)); err != nil {
						t.Fatal(err)
					}
					if err := s.Start(); err != nil {
						t.Fatal(err)
					}
					// The new call is on the air and only the old far end
					// sends to its port.
					frames(t, oldFar, 10)
					if err := sFar.Start(); err != nil {
						t.Fatal(err)
					}
					testwait.For(t, callTimeout, "the new call's own tone", hears(s, 1000))
					frames(t, oldFar, 5)
					st := s.Stats()
					if st.BadPackets+st.SRTPAuthFailed+st.SRTPReplayed != 0 {
						t.Errorf("the old call's packets were counted in the new one: %+v", st)
					}
					if got := near.StrayPackets(); got < 10 {
						t.Errorf("%d stray packets, want the old far end's (10 or more)", got)
					}
					if r := s.Stats().Remote; r != sFar.localAddr() {
						t.Errorf("the new call sends to %s, want its far end %s", r, sFar.localAddr())
					}
				})
			}
		}
	}
}

// TestSharedPortsKeepCallsApart: calls that share the engine's ports,
// each with its own tone, hear their own far end and nothing else, with
// a=ssrc and, under SRTP, without it (the key tells the calls apart); a
// stream from elsewhere is counted as stray, in no call.
func TestSharedPortsKeepCallsApart(t *testing.T) {
	for _, tc := range []struct {
		mode Mode
		ssrc bool
	}{{Off, true}, {Mandatory, true}, {Mandatory, false}} {
		t.Run(fmt.Sprintf("%v/ssrc=%v", tc.mode, tc.ssrc), func(t *testing.T) {
			t.Parallel()
			e := newEngine(t, Config{SRTP: tc.mode, Senders: 2})
			edit := func(*sdp.Session) {}
			if !tc.ssrc {
				edit = noSSRC
			}
			const calls = 12 // more than maxTrials wait on each port
			var pairs [][2]*Session
			ports := map[int]bool{}
			for i := range calls {
				a, b := openSession(t, e), openSession(t, e)
				a.SetSource(mustTone(t, float64(500+200*i)))
				b.SetSource(mustTone(t, float64(600+200*i)))
				connectWith(t, a, b, edit)
				pairs = append(pairs, [2]*Session{a, b})
				ports[a.Port()], ports[b.Port()] = true, true
			}
			if len(ports) != sharedLinks(2) {
				t.Errorf("%d calls on %d ports, want %d", calls, len(ports), sharedLinks(2))
			}
			for i, p := range pairs {
				t.Cleanup(func() {
					if t.Failed() {
						t.Logf("call %d: %+v\n%+v", i, p[0].Stats(), p[1].Stats())
					}
				})
				testwait.For(t, callTimeout, fmt.Sprintf("call %d's tones", i), func() bool {
					return hears(p[1], float64(500+200*i))() && hears(p[0], float64(600+200*i))()
				})
			}
			// Another process's stream on the port (the failure once seen
			// under load): stray, not any call's.
			foreign := dialUDP(t, pairs[0][0].Port())
			pkt := make([]byte, rtpHeaderLen+160+10)
			for seq := range 20 {
				putHeader(pkt, false, 0, uint16(seq), uint32(seq)*160, 0x5eed0001)
				if _, err := foreign.Write(pkt); err != nil {
					t.Fatal(err)
				}
			}
			testwait.For(t, callTimeout, "the foreign stream counted as stray", func() bool { return e.StrayPackets() >= 20 })
			for _, p := range pairs {
				for _, s := range p {
					if st := s.Stats(); st.BadPackets+st.SRTPAuthFailed+st.SRTPReplayed != 0 {
						t.Errorf("packets of other calls counted: %+v", st)
					}
				}
			}
		})
	}
}

// localAddr is the address s sends from.
func (s *Session) localAddr() netip.AddrPort { return s.link.local }

// tapLog is a Tap that keeps what it is shown.
type tapLog struct {
	mu   sync.Mutex
	seen map[[2]netip.AddrPort]int // packets per (src, dst)
	bad  []string
}

func (l *tapLog) RTP(src, dst netip.AddrPort, pkt []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// Plain PCMU: a 12-byte header and 160 bytes of audio, no SRTP tag;
	// telephone-events (4 bytes) may be shown too.
	if len(pkt) != rtpHeaderLen+160 && len(pkt) != rtpHeaderLen+4 {
		l.bad = append(l.bad, fmt.Sprintf("%d bytes %s -> %s", len(pkt), src, dst))
	}
	l.seen[[2]netip.AddrPort{src, dst}]++
}

func (l *tapLog) count(src, dst netip.AddrPort) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seen[[2]netip.AddrPort{src, dst}]
}

// TestTap: the tap sees each packet plain, sent and received, with
// the addresses it travelled between; SRTP is removed before it.
func TestTap(t *testing.T) {
	tap := &tapLog{seen: map[[2]netip.AddrPort]int{}}
	e := newEngine(t, Config{SRTP: Mandatory, Codecs: []codecs.Codec{codecs.PCMU}, Tap: tap})
	a, b := openSession(t, e), openSession(t, e)
	connect(t, a, b)
	ab := [2]netip.AddrPort{a.localAddr(), b.localAddr()}
	// Each packet from a to b is shown twice: sent by a, received by b.
	testwait.For(t, callTimeout, "packets both ways in the tap", func() bool {
		return tap.count(ab[0], ab[1]) >= 20 && tap.count(ab[1], ab[0]) >= 20
	})
	tap.mu.Lock()
	defer tap.mu.Unlock()
	if len(tap.bad) > 0 {
		t.Errorf("the tap saw protected or odd packets: %v", tap.bad[:min(3, len(tap.bad))])
	}
	if len(tap.seen) != 2 {
		t.Errorf("the tap saw %d address pairs, want 2: %v", len(tap.seen), tap.seen)
	}
}

// failingBatches is a socket whose recvmmsg and sendmmsg always fail,
// as where a sandbox refuses them.
type failingBatches struct{}

func (failingBatches) ReadBatch([]ipv4.Message, int) (int, error) {
	return 0, errors.New("recvmmsg: function not implemented")
}

func (failingBatches) WriteBatch([]ipv4.Message, int) (int, error) {
	return 0, errors.New("sendmmsg: function not implemented")
}

func (failingBatches) read([]int, []netip.AddrPort) (int, error) {
	return 0, errors.New("recvmmsg: operation not permitted")
}

// TestBatchFallback: where batched I/O fails, shared ports fall back to
// a datagram per call and calls carry audio all the same.
func TestBatchFallback(t *testing.T) {
	e := newEngine(t, Config{SRTP: Mandatory})
	e.batching = func(*net.UDPConn) batchConn { return failingBatches{} }
	e.mmsg = func(*net.UDPConn, [][]byte) (batchReader, error) { return failingBatches{}, nil }
	a, b := openSession(t, e), openSession(t, e)
	a.SetSource(mustTone(t, 700))
	b.SetSource(mustTone(t, 900))
	connect(t, a, b)
	testwait.For(t, callTimeout, "tones both ways", func() bool { return hears(a, 900)() && hears(b, 700)() })
}

// TestIPv6: shared ports and their batched reads work on IPv6 too.
func TestIPv6(t *testing.T) {
	if c, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback}); err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	} else {
		_ = c.Close()
	}
	e := newEngine(t, Config{IP: "::1", SRTP: Mandatory})
	a, b := openSession(t, e), openSession(t, e)
	a.SetSource(mustTone(t, 700))
	b.SetSource(mustTone(t, 900))
	connect(t, a, b)
	testwait.For(t, callTimeout, "tones both ways", func() bool { return hears(a, 900)() && hears(b, 700)() })
	if r := a.Stats().Remote; r != b.localAddr() {
		t.Errorf("a sends to %v, want %v", r, b.localAddr())
	}
}
