package media

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/deskphone/deskphone/codecs"
	"github.com/deskphone/deskphone/internal/testwait"
	"github.com/deskphone/deskphone/media/sdp"
)

// callTimeout bounds each wait; a call that works needs well under a
// second for tones and DTMF.
const callTimeout = 10 * time.Second

// TestCalls runs real calls over 127.0.0.1 for every codec, plain and
// with every SRTP suite: each side hears the other's tone and the
// other's RFC 4733 digits, and nothing is counted as bad.
func TestCalls(t *testing.T) {
	suites := append([]string{""}, sdp.Suites()...)
	for _, name := range []string{"PCMU", "PCMA", "G722"} {
		for _, suite := range suites {
			label := suite
			if label == "" {
				label = "plain"
			}
			t.Run(name+"/"+label, func(t *testing.T) {
				t.Parallel()
				codec := codecNamed(t, name)
				cfgA := Config{Codecs: []codecs.Codec{codec}}
				if suite != "" {
					cfgA.SRTP, cfgA.Suites = Mandatory, []string{suite}
				}
				// The answerer takes whatever the offerer proposes.
				ea := newEngine(t, cfgA)
				eb := newEngine(t, Config{SRTP: Optional, Suites: sdp.Suites()})
				a, b := openSession(t, ea), openSession(t, eb)
				a.SetSource(mustTone(t, 1000))
				b.SetSource(mustTone(t, 1500))
				connect(t, a, b)
				if err := a.SendDTMF("12#"); err != nil {
					t.Fatal(err)
				}
				if err := b.SendDTMF("9*"); err != nil {
					t.Fatal(err)
				}
				testwait.For(t, callTimeout, "tones and digits both ways", func() bool {
					return hears(a, 1500)() && hears(b, 1000)() &&
						a.Stats().DTMFHeard == "9*" && b.Stats().DTMFHeard == "12#"
				})
				for side, s := range map[string]*Session{"a": a, "b": b} {
					st := s.Stats()
					if st.Codec != name || st.SRTPSuite != suite {
						t.Errorf("%s: codec %q suite %q, want %q %q", side, st.Codec, st.SRTPSuite, name, suite)
					}
					if st.BadPackets+st.SRTPAuthFailed+st.SRTPReplayed != 0 {
						t.Errorf("%s: bad %d, auth failed %d, replayed %d", side, st.BadPackets, st.SRTPAuthFailed, st.SRTPReplayed)
					}
					if st.PacketsSent == 0 || st.PacketsReceived == 0 || st.MOS < 4 {
						t.Errorf("%s: %+v", side, st)
					}
				}
			})
		}
	}
}

// TestEvents checks what Events delivers and that it closes with the
// session.
func TestEvents(t *testing.T) {
	e := newEngine(t, Config{})
	a, b := openSession(t, e), openSession(t, e)
	a.SetSource(mustTone(t, 1000))
	connect(t, a, b)
	if err := a.SendDTMF("5"); err != nil {
		t.Fatal(err)
	}
	var tone, digit bool
	timeout := time.After(callTimeout)
	for !tone || !digit {
		select {
		case ev := <-b.Events():
			switch ev := ev.(type) {
			case ToneHeard:
				tone = tone || ev.Hz == 1000
			case DTMFHeard:
				if ev.Digit != '5' || ev.InBand {
					t.Errorf("DTMF event %+v, want 5 over RFC 4733", ev)
				}
				digit = true
			}
		case <-timeout:
			t.Fatalf("events: tone %v, digit %v", tone, digit)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	for range b.Events() { // drains, then ends: the channel is closed
	}
}

// TestInBandDTMF: without telephone-event in the answer, digits go as
// dual tones and the far end finds them in the audio.
func TestInBandDTMF(t *testing.T) {
	e := newEngine(t, Config{})
	a, b := openSession(t, e), openSession(t, e)
	offer := reparse(t, a.Offer(sdp.SendRecv))
	var formats []sdp.Format
	for _, f := range offer.Media.Formats {
		if !f.IsTelephoneEvent() {
			formats = append(formats, f)
		}
	}
	offer.Media.Formats = formats
	answer, err := b.Answer(offer, sdp.SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Accept(answer); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Session{a, b} {
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.SendDTMF("47*0"); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, callTimeout, "in-band digits", func() bool { return b.Stats().DTMFHeard == "47*0" })
	if ev := <-b.Events(); ev != (DTMFHeard{Digit: '4', InBand: true}) {
		t.Errorf("first event %#v", ev)
	}
}

// TestEcho: the echo source returns the caller's tone, decoded and
// encoded again.
func TestEcho(t *testing.T) {
	for _, codec := range []string{"PCMU", "G722"} {
		t.Run(codec, func(t *testing.T) {
			t.Parallel()
			e := newEngine(t, Config{Codecs: []codecs.Codec{codecNamed(t, codec)}})
			a, b := openSession(t, e), openSession(t, e)
			a.SetSource(mustTone(t, 1000))
			b.SetSource(Echo())
			connect(t, a, b)
			testwait.For(t, callTimeout, "the echo of 1000 Hz", hears(a, 1000))
		})
	}
}

// TestRecord records what one side hears and reads the WAV back.
func TestRecord(t *testing.T) {
	for _, tc := range []struct {
		codec string
		rate  int
	}{{"PCMA", 8000}, {"G722", 16000}} {
		t.Run(tc.codec, func(t *testing.T) {
			t.Parallel()
			e := newEngine(t, Config{Codecs: []codecs.Codec{codecNamed(t, tc.codec)}})
			a, b := openSession(t, e), openSession(t, e)
			a.SetSource(mustTone(t, 1200))
			connect(t, a, b)
			path := filepath.Join(t.TempDir(), "heard.wav")
			if err := b.Record(path); err != nil {
				t.Fatal(err)
			}
			testwait.For(t, callTimeout, "the tone, then a second of it recorded", func() bool {
				return hears(b, 1200)() && recorded(b) >= int64(tc.rate)
			})
			if err := b.StopRecording(); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			pcm, rate, err := codecs.ReadWAV(f)
			if err != nil {
				t.Fatal(err)
			}
			if rate != tc.rate || len(pcm) < rate/2 {
				t.Fatalf("recording: %d samples at %d Hz", len(pcm), rate)
			}
			if hz, ok := codecs.DetectTone(pcm[len(pcm)/2:], rate, nil); !ok || hz < 1195 || hz > 1205 {
				t.Errorf("recording holds %v Hz (%v)", hz, ok)
			}
			if err := b.StopRecording(); err != nil {
				t.Errorf("second stop: %v", err)
			}
		})
	}
}

// TestRecordAfterNarrow: a G.722 call with nobody but the detectors
// listening decodes only the lower band; a recording started mid-call
// switches to the full decoder, whose upper band resumes from its paused
// state, and must still hold the tone at 16 kHz from its first frames;
// after it stops, the detectors follow a new tone at the narrow rate.
func TestRecordAfterNarrow(t *testing.T) {
	e := newEngine(t, Config{Codecs: []codecs.Codec{codecs.G722}})
	a, b := openSession(t, e), openSession(t, e)
	a.SetSource(mustTone(t, 1200))
	connect(t, a, b)
	testwait.For(t, callTimeout, "1200 Hz heard before recording", hears(b, 1200))
	path := filepath.Join(t.TempDir(), "heard.wav")
	if err := b.Record(path); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, callTimeout, "a second recorded", func() bool { return recorded(b) >= 16000 })
	if err := b.StopRecording(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pcm, rate, err := codecs.ReadWAV(f)
	if err != nil {
		t.Fatal(err)
	}
	if rate != 16000 || len(pcm) < 16000 {
		t.Fatalf("recording: %d samples at %d Hz", len(pcm), rate)
	}
	// From the second frame on: the first may hold a concealed gap.
	if hz, ok := codecs.DetectTone(pcm[320:], rate, nil); !ok || hz < 1195 || hz > 1205 {
		t.Errorf("recording holds %v Hz (%v)", hz, ok)
	}
	a.SetSource(mustTone(t, 700))
	testwait.For(t, callTimeout, "700 Hz heard after recording", hears(b, 700))
}

// TestHoldAndRekey: a sendonly re-offer stops the held side's audio, a
// resume brings it back, every re-offer carries new keys, and the call
// goes on throughout.
func TestHoldAndRekey(t *testing.T) {
	e := newEngine(t, Config{SRTP: Mandatory, MKI: true})
	a, b := openSession(t, e), openSession(t, e)
	a.SetSource(mustTone(t, 1000))
	b.SetSource(mustTone(t, 1500))
	first := reparse(t, a.Offer(sdp.SendRecv))
	answer, err := b.Answer(first, sdp.SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Accept(reparse(t, answer)); err != nil {
		t.Fatal(err)
	}
	_ = a.Start()
	_ = b.Start()
	testwait.For(t, callTimeout, "tones both ways", func() bool { return hears(a, 1500)() && hears(b, 1000)() })

	reoffer := func(dir sdp.Direction) (*sdp.Session, *sdp.Session) {
		t.Helper()
		offer := reparse(t, a.Reoffer(dir))
		ans, err := b.Answer(offer, sdp.SendRecv)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Accept(reparse(t, ans)); err != nil {
			t.Fatal(err)
		}
		return offer, ans
	}
	hold, held := reoffer(sdp.SendOnly)
	if held.Media.Direction != sdp.RecvOnly || hold.SessionVersion != first.SessionVersion+1 {
		t.Fatalf("hold answered %v, version %d", held.Media.Direction, hold.SessionVersion)
	}
	if string(hold.Media.Crypto[0].KeySalt) == string(first.Media.Crypto[0].KeySalt) ||
		string(held.Media.Crypto[0].KeySalt) == string(answer.Media.Crypto[0].KeySalt) {
		t.Fatal("hold kept the keys")
	}
	// The held side answered recvonly: from the frame after its answer it
	// sends nothing, while the holder's audio still reaches it. Counted in
	// the holder's packets, not in a wall-clock window: a frame of b being
	// sent as it answered is the one packet allowed.
	bSent, bBefore := b.Stats().PacketsSent, b.Stats().PacketsReceived
	testwait.For(t, callTimeout, "the held side receiving 25 of the holder's packets", func() bool {
		return b.Stats().PacketsReceived >= bBefore+25
	})
	if got := b.Stats().PacketsSent; got > bSent+1 {
		t.Errorf("the held side still sends to the holder: %d -> %d packets", bSent, got)
	}

	a.SetSource(mustTone(t, 1300))
	resume, _ := reoffer(sdp.SendRecv)
	if string(resume.Media.Crypto[0].KeySalt) == string(hold.Media.Crypto[0].KeySalt) {
		t.Fatal("resume kept the keys")
	}
	b.SetSource(mustTone(t, 1700))
	testwait.For(t, callTimeout, "tones after resume", func() bool { return hears(a, 1700)() && hears(b, 1300)() })
	for side, s := range map[string]*Session{"a": a, "b": b} {
		// Packets already sent under an old key when its successor took
		// over may fail; a handful at most.
		if st := s.Stats(); st.SRTPAuthFailed > 5 || st.SRTPReplayed != 0 || st.BadPackets != 0 {
			t.Errorf("%s: auth failed %d, replayed %d, bad %d", side, st.SRTPAuthFailed, st.SRTPReplayed, st.BadPackets)
		}
	}
}

// TestRTCP: reports flow both ways, giving round-trip time, jitter and a
// MOS for a clean loopback call.
// It runs with rtcp-mux (RFC 5761, what we offer), without it (RTCP on
// the port above, as a far end that does not answer a=rtcp-mux wants),
// and with a port pair per call.
func TestRTCP(t *testing.T) {
	for _, tc := range []struct {
		mode  Mode
		mux   bool
		ports Ports
	}{
		{Off, true, PortsShared}, {Mandatory, true, PortsShared},
		{Off, false, PortsShared}, {Mandatory, false, PortsShared},
		{Mandatory, false, PortsPerCall}, {Mandatory, true, PortsPerCall},
	} {
		t.Run(fmt.Sprintf("%v/mux=%v/%v", tc.mode, tc.mux, tc.ports), func(t *testing.T) {
			t.Parallel()
			e := newEngine(t, Config{SRTP: tc.mode, RTCPInterval: 100 * time.Millisecond, Ports: tc.ports})
			a, b := openSession(t, e), openSession(t, e)
			connectWith(t, a, b, func(d *sdp.Session) { d.Media.RTCPMux = d.Media.RTCPMux && tc.mux })
			for _, s := range []*Session{a, b} {
				s.mu.Lock()
				mux := s.neg.mux
				s.mu.Unlock()
				if mux != tc.mux {
					t.Fatalf("rtcp-mux %v, want %v", mux, tc.mux)
				}
			}
			testwait.For(t, callTimeout, "round-trip times", func() bool { return a.Stats().RTTMS > 0 && b.Stats().RTTMS > 0 })
			for _, s := range []*Session{a, b} {
				st := s.Stats()
				if st.RTTMS > 100 || st.JitterMS > 30 || st.MOS < 4 || st.MOS > 4.5 || st.Lost != 0 {
					t.Errorf("stats %+v", st)
				}
				if st.SRTPAuthFailed+st.BadPackets+st.SRTPReplayed != 0 {
					t.Errorf("RTCP counted as bad: %+v", st)
				}
			}
		})
	}
}

// TestWAVSource plays a 16 kHz file into a G.711 call (resampled) and
// refuses files that are not 8/16 kHz mono 16-bit.
func TestWAVSource(t *testing.T) {
	dir := t.TempDir()
	tone, err := codecs.Tone(700, -12, 300*time.Millisecond, 16000)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "prompt.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := codecs.WriteWAV(f, tone, 16000); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	src, err := WAVSource(path)
	if err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, Config{Codecs: []codecs.Codec{codecNamed(t, "PCMU")}})
	a, b := openSession(t, e), openSession(t, e)
	a.SetSource(src)
	connect(t, a, b)
	testwait.For(t, callTimeout, "the prompt", hears(b, 700))

	stereo := filepath.Join(dir, "stereo.wav")
	hdr := []byte("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x02\x00\x44\xac\x00\x00\x10\xb1\x02\x00\x04\x00\x10\x00data\x00\x00\x00\x00")
	if err := os.WriteFile(stereo, hdr, 0o644); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.wav")
	if err := os.WriteFile(garbage, []byte("hello, this is not a RIFF file"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.wav")
	ef, _ := os.Create(empty)
	_ = codecs.WriteWAV(ef, nil, 8000)
	_ = ef.Close()
	for _, tc := range []struct {
		path string
		want error
	}{
		{stereo, codecs.ErrWAVUnsupported},
		{garbage, codecs.ErrNotWAV},
		{filepath.Join(dir, "missing.wav"), os.ErrNotExist},
		{empty, ErrSource},
	} {
		if _, err := WAVSource(tc.path); !errors.Is(err, ErrSource) || !errors.Is(err, tc.want) {
			t.Errorf("WAVSource(%s) = %v, want %v", filepath.Base(tc.path), err, tc.want)
		}
	}
}

func TestToneSourceErrors(t *testing.T) {
	for _, tc := range []struct{ hz, dBFS float64 }{{0, -10}, {4000, -10}, {-1, -10}, {1000, 3}, {1000, nan()}} {
		if _, err := ToneSource(tc.hz, tc.dBFS); !errors.Is(err, ErrSource) {
			t.Errorf("ToneSource(%v, %v) = %v", tc.hz, tc.dBFS, err)
		}
	}
	// A tone with a fraction of a hertz is generated, not looped.
	src, err := ToneSource(1000.5, -10)
	if err != nil {
		t.Fatal(err)
	}
	st, err := src.open(nil, codecs.PCMU)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.(generatorStream); !ok {
		t.Errorf("stream %T", st)
	}
}

func nan() float64 { var z float64; return z / z }

func TestSendDTMFErrors(t *testing.T) {
	e := newEngine(t, Config{})
	s := openSession(t, e)
	if err := s.SendDTMF("12x"); !errors.Is(err, ErrDTMF) {
		t.Errorf("bad digit: %v", err)
	}
	if err := s.SendDTMF(string(make([]byte, dtmfLimit+1))); !errors.Is(err, ErrDTMF) {
		t.Errorf("too many: %v", err)
	}
	_ = s.Close()
	if err := s.SendDTMF("1"); !errors.Is(err, ErrClosed) {
		t.Errorf("after close: %v", err)
	}
}

// TestServe is what the backend's echo service does: the phone offers,
// the backend answers with sdp.Answer and Serve fills in the port.
func TestServe(t *testing.T) {
	e := newEngine(t, Config{})
	phone := openSession(t, e)
	phone.SetSource(mustTone(t, 1000))
	offer := reparse(t, phone.Offer(sdp.SendRecv))
	local, err := sdp.Answer(offer, "127.0.0.1", 0, []sdp.Format{sdp.G722, sdp.PCMU, sdp.PCMA, sdp.TelephoneEvent}, sdp.SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := contextWithCancel(t)
	port, err := e.Serve(ctx, offer, local.Clone(), Echo())
	if err != nil {
		t.Fatal(err)
	}
	local.Media.Port = port
	if err := phone.Accept(reparse(t, local)); err != nil {
		t.Fatal(err)
	}
	if err := phone.Start(); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, callTimeout, "the echo", hears(phone, 1000))
	svc := other(e, phone)
	cancel()
	// The context's end closes the service's session and takes it out of
	// the engine; from then on it sends one packet at most (the frame
	// under way), however long the phone goes on sending.
	testwait.For(t, callTimeout, "the service's session closed", forgotten(e, svc))
	sent := svc.Stats().PacketsSent
	frames(t, phone, 25)
	if got := svc.Stats().PacketsSent; got > sent+1 {
		t.Errorf("the service still sends after its context ended: %d -> %d packets", sent, got)
	}
}

// TestServeWithoutOffer: an INVITE without SDP; the service offers and
// learns the caller's address from its packets (symmetric RTP).
func TestServeWithoutOffer(t *testing.T) {
	e := newEngine(t, Config{})
	local := sdp.NewOffer("127.0.0.1", 0, []sdp.Format{sdp.PCMU, sdp.TelephoneEvent}, sdp.SendRecv)
	ctx, _ := contextWithCancel(t)
	port, err := e.Serve(ctx, nil, local.Clone(), mustTone(t, 800))
	if err != nil {
		t.Fatal(err)
	}
	local.Media.Port = port
	phone := openSession(t, e)
	if _, err := phone.Answer(reparse(t, local), sdp.SendRecv); err != nil {
		t.Fatal(err)
	}
	if err := phone.Start(); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, callTimeout, "the service's tone", hears(phone, 800))
	if _, err := e.Serve(ctx, nil, nil, nil); !errors.Is(err, ErrNotNegotiated) {
		t.Errorf("Serve without a description: %v", err)
	}
}

// TestCloseLeavesNothing: closing the engine stops every goroutine.
func TestCloseLeavesNothing(t *testing.T) {
	before := runtime.NumGoroutine()
	e, err := NewEngine(Config{SRTP: Optional})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		a, _ := e.NewSession()
		b, _ := e.NewSession()
		connect(t, a, b)
		// Running calls, not just opened ones, are what Close must stop.
		testwait.For(t, callTimeout, "packets both ways", func() bool {
			return a.Stats().PacketsReceived > 0 && b.Stats().PacketsReceived > 0
		})
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.NewSession(); !errors.Is(err, ErrClosed) {
		t.Errorf("NewSession after Close: %v", err)
	}
	testwait.For(t, 2*time.Second, fmt.Sprintf("goroutines back to %d", before), func() bool { return runtime.NumGoroutine() <= before })
}
