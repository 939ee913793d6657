package media

import (
	"math"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/deskphone/deskphone/codecs"
	"github.com/deskphone/deskphone/media/sdp"
)

// jbRun feeds sequence numbers to a jitter buffer and returns what it
// plays (with -1 for each skipped number) and the late ones.
func jbRun(seqs ...uint16) (played []int, late []uint16) {
	var j jitterBuffer
	for _, seq := range seqs {
		if j.jumps(seq) {
			for p, lost := j.pop(true); p != nil; p, lost = j.pop(true) {
				for range lost {
					played = append(played, -1)
				}
				played = append(played, int(p.seq))
			}
			j.reset(seq)
		}
		switch j.insert(seq, uint32(seq)*160, kindAudio, []byte{byte(seq)}) {
		case tooLate:
			late = append(late, seq)
			continue
		case duplicate:
			continue
		}
		for p, lost := j.pop(false); p != nil; p, lost = j.pop(false) {
			for range lost {
				played = append(played, -1)
			}
			if p.data()[0] != byte(p.seq) {
				panic("payload mixed up")
			}
			played = append(played, int(p.seq))
		}
	}
	return played, late
}

func TestJitterBuffer(t *testing.T) {
	tests := []struct {
		name   string
		in     []uint16
		played []int
		late   []uint16
	}{
		{"in order", []uint16{1, 2, 3}, []int{1, 2, 3}, nil},
		{"swap", []uint16{1, 3, 2, 4}, []int{1, 2, 3, 4}, nil},
		{"reorder within the window", []uint16{10, 13, 12, 11, 14}, []int{10, 11, 12, 13, 14}, nil},
		{"loss skipped after three behind", []uint16{1, 3, 4, 5, 6}, []int{1, -1, 3, 4, 5, 6}, nil},
		{"late after the skip", []uint16{1, 3, 4, 5, 2, 6}, []int{1, -1, 3, 4, 5, 6}, []uint16{2}},
		{"duplicate", []uint16{1, 2, 2, 3, 1}, []int{1, 2, 3}, nil},
		{"duplicate of a skipped one is late", []uint16{1, 3, 4, 5, 2, 2}, []int{1, -1, 3, 4, 5}, []uint16{2, 2}},
		{"wrap", []uint16{65534, 65535, 0, 1}, []int{65534, 65535, 0, 1}, nil},
		{"jump drains and restarts", []uint16{1, 3, 500, 501}, []int{1, -1, 3, 500, 501}, nil},
		{"far behind restarts", []uint16{1000, 1001, 10, 11}, []int{1000, 1001, 10, 11}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			played, late := jbRun(tt.in...)
			if !slices.Equal(played, tt.played) || !slices.Equal(late, tt.late) {
				t.Errorf("played %v late %v, want %v %v", played, late, tt.played, tt.late)
			}
		})
	}
}

func TestSeqTracker(t *testing.T) {
	var s seqTracker
	s.init(65530)
	for _, seq := range []uint16{65531, 65533, 65535, 1, 2, 2} { // loses 65532, 65534, 0; 2 twice
		s.update(seq)
	}
	if s.extMax() != 1<<16+2 || s.expected() != 9 || s.received != 7 || s.lost() != 2 {
		t.Errorf("extMax %d expected %d received %d lost %d", s.extMax(), s.expected(), s.received, s.lost())
	}
	// A jump is believed only when the next packet follows it.
	s.update(30000)
	if s.maxSeq != 2 {
		t.Fatalf("one jump resynchronised: %+v", s)
	}
	s.update(30001)
	if s.maxSeq != 30001 || s.expected() != 1 || s.lost() != 0 {
		t.Errorf("after restart: %+v", s)
	}
}

func TestCrossingFrequencyAndDetector(t *testing.T) {
	for _, rate := range []int{8000, 16000} {
		for _, hz := range []float64{300, 1000, 1004, 1500, 3400} {
			pcm, _ := codecs.Tone(hz, -20, 200*time.Millisecond, rate)
			if f := crossingFrequency(pcm, rate); math.Abs(f-hz) > 0.5 {
				t.Errorf("%v Hz at %d: estimate %v", hz, rate, f)
			}
		}
		var d detector
		if err := d.reset(rate); err != nil {
			t.Fatal(err)
		}
		tone, _ := codecs.Tone(1000, -10, 400*time.Millisecond, rate)
		dual, _ := codecs.DTMFTone('5', -10, 400*time.Millisecond, rate)
		silence := make([]int16, rate/2)
		var got []float64
		var changes int
		for _, sig := range [][]int16{tone, dual, silence, tone} {
			for f := sig; len(f) > 0; f = f[min(len(f), rate/50):] {
				if hz, _, changed, ok := d.tone(f[:min(len(f), rate/50)]); ok {
					got = append(got, hz)
					if changed {
						changes++
					}
				}
			}
		}
		for _, hz := range got {
			if hz != 1000 {
				t.Errorf("rate %d: tone %v reported", rate, hz)
			}
		}
		if changes != 2 {
			t.Errorf("rate %d: %d tone starts, want 2 (the dual tone and silence end the first)", rate, changes)
		}
	}
}

// TestDetectorFollowsASmallStep: a steady tone that moves by a few
// hertz is reported as a new tone, even though the cheap check that a
// tone goes on (stillTone) runs first.
func TestDetectorFollowsASmallStep(t *testing.T) {
	for _, rate := range []int{8000, 16000} {
		var d detector
		if err := d.reset(rate); err != nil {
			t.Fatal(err)
		}
		var last float64
		var changes int
		for _, hz := range []float64{1000, 1000, 1004, 1004, 996} {
			sig, _ := codecs.Tone(hz, -10, 200*time.Millisecond, rate)
			for f := sig; len(f) > 0; f = f[rate/50:] {
				if got, _, changed, ok := d.tone(f[:rate/50]); ok {
					last = got
					if changed {
						changes++
					}
				}
			}
			if math.Abs(last-hz) > 1 {
				t.Errorf("rate %d: %v Hz reported as %v", rate, hz, last)
			}
		}
		if changes != 3 {
			t.Errorf("rate %d: %d tone changes, want 3 (1000, 1004, 996)", rate, changes)
		}
	}
}

// TestDetectorKeepsAToneThroughSkippedFrames: frames the far end
// skips (a busy sender) jump the tone's phase; the tone goes on being
// heard, not lost and found again.
func TestDetectorKeepsAToneThroughSkippedFrames(t *testing.T) {
	for _, rate := range []int{8000, 16000} {
		var d detector
		if err := d.reset(rate); err != nil {
			t.Fatal(err)
		}
		frame := rate / 50
		sig, _ := codecs.Tone(1000, -10, 2*time.Second, rate)
		var changes, heard int
		for i := 0; (i+1)*frame <= len(sig); i++ {
			if i >= 20 && i%7 == 3 {
				continue // skipped at the far end
			}
			if hz, _, changed, ok := d.tone(sig[i*frame : (i+1)*frame]); ok {
				heard++
				if hz != 1000 {
					t.Errorf("rate %d: %v Hz heard", rate, hz)
				}
				if changed {
					changes++
				}
			}
		}
		if changes != 1 || heard < 8 {
			t.Errorf("rate %d: %d windows heard the tone, %d changes; want all, 1", rate, heard, changes)
		}
	}
}

// TestBlockPowers: the interleaved filters give each block the power
// goertzelPower finds in it, and the mean square meanSquare finds, on a tone and on noise, for block counts
// that do and do not fill the groups of four.
func TestBlockPowers(t *testing.T) {
	tone, _ := codecs.Tone(1000, -10, 200*time.Millisecond, 16000)
	noise := make([]int16, len(tone))
	for i := range noise {
		noise[i] = int16(i*7919%65536 - 32768)
	}
	for _, pcm := range [][]int16{tone, noise} {
		for _, blocks := range []int{10, 7, 3} {
			pow, ms := make([]float64, blocks), make([]float64, blocks)
			blockPowers(pow, ms, pcm, 320, 1000, 16000)
			for i, p := range pow {
				want := goertzelPower(pcm[i*320:(i+1)*320], 1000, 16000)
				if math.Abs(p-want) > 1e-9*max(1, want) {
					t.Fatalf("%d blocks: block %d power %v, goertzelPower %v", blocks, i, p, want)
				}
				if want := meanSquare(pcm[i*320 : (i+1)*320]); math.Abs(ms[i]-want) > 1e-9*max(1, want) {
					t.Fatalf("%d blocks: block %d mean square %v, meanSquare %v", blocks, i, ms[i], want)
				}
			}
		}
	}
}

// TestDetectorSwitchesRate: setRate keeps the tone last reported, so a
// tone that goes on through a switch between 16 and 8 kHz is not
// reported again, and the detectors go on hearing it at the new rate.
func TestDetectorSwitchesRate(t *testing.T) {
	var d detector
	if err := d.reset(16000); err != nil {
		t.Fatal(err)
	}
	var changes, heard int
	feed := func(rate int) {
		sig, _ := codecs.Tone(1000, -10, 600*time.Millisecond+7*time.Millisecond, rate)
		for f := sig; len(f) >= rate/50; f = f[rate/50:] {
			if hz, _, changed, ok := d.tone(f[:rate/50]); ok {
				heard++
				if hz != 1000 {
					t.Errorf("rate %d: %v Hz heard", rate, hz)
				}
				if changed {
					changes++
				}
			}
		}
	}
	feed(16000)
	for _, rate := range []int{8000, 16000, 8000} {
		if err := d.setRate(rate); err != nil {
			t.Fatal(err)
		}
		feed(rate)
	}
	if changes != 1 || heard < 8 {
		t.Errorf("%d windows heard the tone, %d changes; want at least 8, 1", heard, changes)
	}
}

func TestMOS(t *testing.T) {
	clean := estimateMOS("PCMU", 0, 1, 2)
	if clean < 4.3 || clean > 4.5 {
		t.Errorf("clean call MOS %v", clean)
	}
	if lossy := estimateMOS("PCMU", 5, 1, 2); lossy > 4 || lossy < 3 {
		t.Errorf("5%% loss MOS %v", lossy)
	}
	if slow := estimateMOS("G722", 0, 40, 600); slow > 3.6 {
		t.Errorf("600 ms RTT, 40 ms jitter MOS %v", slow)
	}
	if mosFromR(-5) != 1 || mosFromR(120) != 4.5 {
		t.Error("MOS bounds")
	}
	if estimateMOS("X", 100, 0, 0) < 1 {
		t.Error("MOS below 1")
	}
}

func TestEchoRing(t *testing.T) {
	var e echoRing
	e.write([]int16{1, 2, 3}) // nobody listens yet
	out := make([]int16, 4)
	e.read(out)
	if !slices.Equal(out, []int16{0, 0, 0, 0}) {
		t.Errorf("read %v", out)
	}
	e.on.Store(true)
	big := make([]int16, echoCap+10)
	for i := range big {
		big[i] = int16(i)
	}
	e.write(big[:echoCap-2])
	e.write(big[echoCap-2:]) // overflows: the oldest go
	e.read(out)
	if !slices.Equal(out, []int16{10, 11, 12, 13}) {
		t.Errorf("after overflow read %v", out)
	}
	rest := make([]int16, echoCap)
	e.read(rest)
	if rest[echoCap-5] != int16(echoCap+9) || rest[echoCap-4] != 0 {
		t.Errorf("tail %v", rest[echoCap-6:])
	}
}

func TestNTP(t *testing.T) {
	at := time.Date(2026, 1, 5, 9, 0, 0, 500_000_000, time.UTC)
	n := ntpTime(at)
	if n>>32 != uint64(at.Unix())+ntpEpochOffset || uint32(n) != 1<<31 {
		t.Errorf("ntp %x", n)
	}
	if ntpShort(at) != uint32(n>>16) {
		t.Error("ntpShort")
	}
}

// rig is a negotiated session pair that the test drives by hand: a's
// sender ticks on the test's goroutine and sends into sink, whose
// packets the test hands to b.receive. Neither session is on the
// engine's sender list and nothing else sends to b, so no goroutine
// races the test.
type rig struct {
	a, b  *Session
	sink  *net.UDPConn
	buf   []byte
	frame int64
	now   time.Time
	w     *writer // the test's sender scratch: a sends one at a time
}

func newRig(t testing.TB, mode Mode, suite string) *rig {
	t.Helper()
	cfg := Config{SRTP: mode, Codecs: []codecs.Codec{codecs.PCMU}}
	if suite != "" {
		cfg.Suites = []string{suite}
	}
	e := newEngine(t, cfg)
	r := &rig{a: openSession(t, e), b: openSession(t, e), buf: make([]byte, maxPacket), now: time.Now(), w: newWriter(nil)}
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sink.Close() })
	r.sink = sink
	answer, err := r.b.Answer(r.a.Offer(sdp.SendRecv), sdp.SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	answer.Media.Port = sink.LocalAddr().(*net.UDPAddr).Port
	// RTCP on the port above the sink, as without rtcp-mux: the sink
	// reads a's RTP alone, one packet per frame.
	answer.Media.RTCPMux = false
	if err := r.a.Accept(answer); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Session{r.a, r.b} {
		s.mu.Lock()
		s.started = true // for its goroutines; not on the sender's list
		s.publishLocked()
		s.mu.Unlock()
	}
	src := mustTone(t, 1000)
	r.a.SetSource(src)
	r.b.SetSource(src)
	return r
}

// send has a send one frame; it returns the packet as sent.
func (r *rig) send() []byte {
	r.frame++
	r.a.tick(r.frame, r.now, r.w)
	n, _, err := r.sink.ReadFromUDPAddrPort(r.buf)
	if err != nil {
		panic(err)
	}
	return r.buf[:n]
}

// relay sends one frame from a and receives it at b.
func (r *rig) relay() {
	r.b.receive(r.send(), netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(r.a.Port())), true)
}

// TestNoAllocationsPerPacket: our send and receive paths (encode,
// packetise, write; read, check, reorder, decode, detect) allocate
// nothing per packet. SRTP adds nothing either (TestSRTPNoAllocations).
func TestNoAllocationsPerPacket(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counting")
	}
	r := newRig(t, Off, "")
	for range 100 { // warm up: streams open, detectors fill
		r.relay()
	}
	if n := testing.AllocsPerRun(200, r.relay); n != 0 {
		t.Errorf("%v allocations per packet sent and received", n)
	}
	if st := r.b.Stats(); st.PacketsReceived < 300 || st.BadPackets != 0 || st.ToneHz != 1000 {
		t.Errorf("the rig does not carry audio: %+v", st)
	}
}
