package media

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/deskphone/deskphone/codecs"
	"github.com/deskphone/deskphone/internal/testwait"
	"github.com/deskphone/deskphone/media/sdp"
)

// hearsPair reports whether s hears the steady pair lo+hi (within 5 Hz).
func hearsPair(s *Session, lo, hi float64) func() bool {
	return func() bool {
		st := s.Stats()
		return near5(st.ToneHz, lo) && near5(st.ToneHz2, hi)
	}
}

func near5(got, want float64) bool { return got > want-5 && got < want+5 }

// threeWay is phone A in a conference with B (G.722) and C (PCMU), each
// on its own engine as on its own phone.
type threeWay struct {
	a1, a2, b, c *Session
}

func newThreeWay(t *testing.T) *threeWay {
	t.Helper()
	g722, pcmu := codecNamed(t, "G722"), codecNamed(t, "PCMU")
	ea := newEngine(t, Config{Codecs: []codecs.Codec{g722, pcmu}})
	eb := newEngine(t, Config{Codecs: []codecs.Codec{g722}})
	ec := newEngine(t, Config{Codecs: []codecs.Codec{pcmu}})
	w := &threeWay{a1: openSession(t, ea), a2: openSession(t, ea), b: openSession(t, eb), c: openSession(t, ec)}
	for _, s := range []*Session{w.a1, w.a2, w.b, w.c} {
		t.Cleanup(func() { _ = s.Close() })
	}
	connect(t, w.a1, w.b)
	connect(t, w.a2, w.c)
	if got := w.a1.Stats().Codec; got != "G722" {
		t.Fatalf("leg to B: codec %s, want G722", got)
	}
	if got := w.a2.Stats().Codec; got != "PCMU" {
		t.Fatalf("leg to C: codec %s, want PCMU", got)
	}
	w.b.SetSource(mustTone(t, 600))
	w.c.SetSource(mustTone(t, 440))
	return w
}

// TestConference: a tone on one leg is heard on the other and by the
// user, with a G.722 leg and a PCMU leg; the user's tone reaches both;
// split gives each far end the user alone again.
func TestConference(t *testing.T) {
	w := newThreeWay(t)
	user := mustTone(t, 1000)
	conf, err := Join(w.a1, w.a2, user)
	if err != nil {
		t.Fatal(err)
	}
	testwait.For(t, callTimeout, "B (G.722) hears A's 1000 Hz and C's 440 Hz", hearsPair(w.b, 440, 1000))
	testwait.For(t, callTimeout, "C (PCMU) hears A's 1000 Hz and B's 600 Hz", hearsPair(w.c, 600, 1000))
	testwait.For(t, callTimeout, "the user hears B's 600 Hz and C's 440 Hz", func() bool {
		hz, hz2 := conf.Tones()
		return near5(hz, 440) && near5(hz2, 600)
	})
	// Each leg still hears its own far end alone.
	testwait.For(t, callTimeout, "leg 1 hears B", hears(w.a1, 600))
	testwait.For(t, callTimeout, "leg 2 hears C", hears(w.a2, 440))

	conf.Split(mustTone(t, 1300))
	testwait.For(t, callTimeout, "B hears the user alone after the split", hears(w.b, 1300))
	testwait.For(t, callTimeout, "C hears the user alone after the split", hears(w.c, 1300))
	if w.a1.conf.Load() != nil || w.a2.conf.Load() != nil {
		t.Error("a leg still feeds the mix after the split")
	}
}

// TestConferenceSilentUser: with the user silent, each far end hears the
// other's tone alone, so a single-tone detector is enough.
func TestConferenceSilentUser(t *testing.T) {
	w := newThreeWay(t)
	if _, err := Join(w.a1, w.a2, Silence()); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, callTimeout, "B hears C's 440 Hz", hears(w.b, 440))
	testwait.For(t, callTimeout, "C hears B's 600 Hz", hears(w.c, 600))
}

func TestJoinErrors(t *testing.T) {
	e := newEngine(t, Config{})
	a, b := openSession(t, e), openSession(t, e)
	if _, err := Join(a, a, Silence()); err == nil {
		t.Error("Join of a session with itself: no error")
	}
	if _, err := Join(a, b, Silence()); err == nil {
		t.Error("Join of sessions not negotiated: no error")
	}
}

// TestSteadyPair: the pair detector finds two tones of a mix at both
// rates, and refuses DTMF keys, close pairs, one tone and silence.
func TestSteadyPair(t *testing.T) {
	for _, rate := range []int{8000, 16000} {
		mix := func(f ...float64) []int16 {
			pcm, err := codecs.Tone(f[0], -12, 200*time.Millisecond, rate)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range f[1:] {
				more, _ := codecs.Tone(g, -12, 200*time.Millisecond, rate)
				for i := range pcm {
					pcm[i] = sat(int(pcm[i]) + int(more[i]))
				}
			}
			return pcm
		}
		for _, tc := range []struct {
			name   string
			pcm    []int16
			lo, hi float64
			ok     bool
		}{
			{"440+600", mix(440, 600), 440, 600, true},
			{"600+1000", mix(600, 1000), 600, 1000, true},
			{"1000+3000", mix(1000, 3000), 1000, 3000, true},
			{"DTMF 5", mix(770, 1336), 0, 0, false},
			{"ringback 440+480", mix(440, 480), 0, 0, false},
			{"silence", make([]int16, rate/5), 0, 0, false},
		} {
			t.Run(fmt.Sprintf("%d/%s", rate, tc.name), func(t *testing.T) {
				lo, hi, ok := steadyPair(tc.pcm, rate)
				if ok != tc.ok || ok && (!near5(lo, tc.lo) || !near5(hi, tc.hi)) {
					t.Errorf("steadyPair = %v, %v, %v; want %v, %v, %v", lo, hi, ok, tc.lo, tc.hi, tc.ok)
				}
			})
		}
	}
}

// confRig is a conference whose packets the benchmark moves by hand:
// no sender goroutine ticks its sessions and each sends to a sink, so
// one iteration is exactly one 20 ms frame of one conference.
type confRig struct {
	a1, a2, b, c                 *Session
	sinkA1, sinkA2, sinkB, sinkC *net.UDPConn
	buf                          []byte
	frame                        int64
	now                          time.Time
	w                            *writer // the test's sender scratch
}

func newConfRig(t testing.TB) *confRig {
	t.Helper()
	g722, pcmu := codecNamed(t, "G722"), codecNamed(t, "PCMU")
	ea := newEngine(t, Config{Codecs: []codecs.Codec{g722, pcmu}})
	eb := newEngine(t, Config{Codecs: []codecs.Codec{g722}})
	ec := newEngine(t, Config{Codecs: []codecs.Codec{pcmu}})
	r := &confRig{a1: openSession(t, ea), a2: openSession(t, ea), b: openSession(t, eb), c: openSession(t, ec), buf: make([]byte, maxPacket), now: time.Now(), w: newWriter(nil)}
	sink := func() *net.UDPConn {
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		return conn
	}
	r.sinkA1, r.sinkA2, r.sinkB, r.sinkC = sink(), sink(), sink(), sink()
	pair := func(a, far *Session, sinkA, sinkFar *net.UDPConn) {
		offer := a.Offer(sdp.SendRecv)
		offer.Media.Port = sinkFar.LocalAddr().(*net.UDPAddr).Port
		offer.Media.RTCPMux = false // the sinks take RTP alone
		answer, err := far.Answer(offer, sdp.SendRecv)
		if err != nil {
			t.Fatal(err)
		}
		answer.Media.Port = sinkA.LocalAddr().(*net.UDPAddr).Port
		if err := a.Accept(answer); err != nil {
			t.Fatal(err)
		}
		for _, s := range []*Session{a, far} {
			s.mu.Lock()
			s.started = true // for its goroutines; not on the sender's list
			s.publishLocked()
			s.mu.Unlock()
		}
	}
	pair(r.a1, r.b, r.sinkA1, r.sinkB)
	pair(r.a2, r.c, r.sinkA2, r.sinkC)
	r.b.SetSource(mustTone(t, 600))
	r.c.SetSource(mustTone(t, 440))
	if _, err := Join(r.a1, r.a2, mustTone(t, 1000)); err != nil {
		t.Fatal(err)
	}
	return r
}

// step is one frame: B and C send to A's legs, A mixes and sends to both.
func (r *confRig) step() {
	r.frame++
	for _, leg := range []struct {
		far, a *Session
		sink   *net.UDPConn
	}{{r.b, r.a1, r.sinkB}, {r.c, r.a2, r.sinkC}} {
		leg.far.tick(r.frame, r.now, r.w)
		n, _, err := leg.sink.ReadFromUDPAddrPort(r.buf)
		if err != nil {
			panic(err)
		}
		from := r.sinkA1
		if leg.a == r.a2 {
			from = r.sinkA2
		}
		leg.a.receive(r.buf[:n], from.LocalAddr().(*net.UDPAddr).AddrPort(), true)
	}
	for _, leg := range []struct {
		a    *Session
		sink *net.UDPConn
	}{{r.a1, r.sinkA1}, {r.a2, r.sinkA2}} {
		leg.a.tick(r.frame, r.now, r.w)
		if _, _, err := leg.sink.ReadFromUDPAddrPort(r.buf); err != nil {
			panic(err)
		}
	}
}

// TestConferenceAllocatesNothing: a conference's frame (two legs
// received, mixed, encoded and sent) allocates nothing.
func TestConferenceAllocatesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counting")
	}
	r := newConfRig(t)
	for range 100 {
		r.step()
	}
	if n := testing.AllocsPerRun(200, r.step); n != 0 {
		t.Errorf("%v allocations per conference frame, want 0", n)
	}
}

// BenchmarkConference is the CPU of one three-way conference on the
// phone, per 20 ms frame: two legs (G.722 and PCMU) received and decoded,
// resampled to 16 kHz, mixed for both far ends and the user's ear (whose
// tone detector runs), encoded and sent; plus the two far ends' own
// sends. core% is the share of one core one conference takes.
func BenchmarkConference(b *testing.B) {
	r := newConfRig(b)
	for range 100 {
		r.step()
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		r.step()
	}
	elapsed := time.Since(start)
	b.StopTimer()
	perFrame := float64(elapsed.Nanoseconds()) / float64(b.N)
	b.ReportMetric(perFrame, "ns/frame")
	b.ReportMetric(100*perFrame/float64(ptime.Nanoseconds()), "core%")
}
