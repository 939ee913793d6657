package media

import (
	"fmt"
	"math"
	"os"
	"sync"
	"sync/atomic"

	"github.com/deskphone/deskphone/codecs"
)

// Source is what a session sends. Sources are values that any number of
// sessions may share. Static audio (tones, WAV files, silence) is
// encoded once per codec and the payloads are shared by every session
// that plays it: encoding G.722 costs more than everything else a
// packet needs, and a thousand calls playing one prompt need it done
// once, not a thousand times.
type Source interface {
	open(s *Session, c codecs.Codec) (stream, error)
}

// stream produces a session's payloads, a 20 ms frame at a time, without
// allocating: live streams fill pcm and encode it with enc, pre-encoded
// ones copy their next frame.
type stream interface {
	frame(dst []byte, pcm []int16, enc codecs.Encoder) (int, error)
}

// Silence sends digital silence (and keeps the RTP flowing, as phones
// without voice activity detection do).
func Silence() Source { return silenceSource{} }

type silenceSource struct{}

func (silenceSource) open(_ *Session, c codecs.Codec) (stream, error) {
	loop, err := preEncode(c, make([]int16, c.FrameSamples(ptime)))
	if err != nil {
		return nil, err
	}
	return &encodedStream{loop: loop}, nil
}

// ToneSource sends a steady sine of hz (below 4000, so every codec can
// carry it) at dBFS (at most 0; -10 is a comfortable test level).
func ToneSource(hz, dBFS float64) (Source, error) {
	if !(hz > 0 && hz < 4000) {
		return nil, fmt.Errorf("%w: tone of %g Hz, want 0 < Hz < 4000", ErrSource, hz)
	}
	// Let the codecs package judge the level.
	if _, err := codecs.NewToneGenerator(8000, dBFS, hz); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSource, err)
	}
	return &toneSource{hz: hz, dBFS: dBFS, loops: map[codecs.Codec]*encodedLoop{}}, nil
}

type toneSource struct {
	hz, dBFS float64
	mu       sync.Mutex
	loops    map[codecs.Codec]*encodedLoop
}

// open shares a pre-encoded loop when the tone has a whole number of
// hertz, so that a whole number of periods fits a whole number of
// frames within a second; a tone with a fraction of a hertz is generated
// and encoded live.
func (t *toneSource) open(_ *Session, c codecs.Codec) (stream, error) {
	rate := c.SampleRate
	if t.hz != math.Trunc(t.hz) {
		g, err := codecs.NewToneGenerator(rate, t.dBFS, t.hz)
		if err != nil {
			return nil, err
		}
		return generatorStream{g}, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	loop, ok := t.loops[c]
	if !ok {
		// The period is rate/gcd(rate, hz) samples and a frame rate/50;
		// both divide rate, so their lcm (at most a second) loops cleanly.
		period, frame := rate/gcd(rate, int(t.hz)), c.FrameSamples(ptime)
		g, err := codecs.NewToneGenerator(rate, t.dBFS, t.hz)
		if err != nil {
			return nil, err
		}
		pcm := make([]int16, period/gcd(period, frame)*frame)
		g.Fill(pcm)
		if loop, err = preEncode(c, pcm); err != nil {
			return nil, err
		}
		t.loops[c] = loop
	}
	return &encodedStream{loop: loop}, nil
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

type generatorStream struct{ g *codecs.ToneGenerator }

func (s generatorStream) frame(dst []byte, pcm []int16, enc codecs.Encoder) (int, error) {
	s.g.Fill(pcm)
	return enc.Encode(dst, pcm)
}

// encodedLoop is audio encoded once for one codec, a whole number of
// frames long, shared read-only by every session that plays it.
type encodedLoop struct {
	data      []byte
	frameSize int
}

// preEncode encodes pcm (a whole number of frames) as a loop. The
// encoder first runs over the loop for a second or more, so adaptive
// codecs (G.722) start the shared payloads, and come back round to
// them, in the state the loop itself leads to.
func preEncode(c codecs.Codec, pcm []int16) (*encodedLoop, error) {
	frame := c.FrameSamples(ptime)
	if frame == 0 || len(pcm) == 0 || len(pcm)%frame != 0 {
		return nil, fmt.Errorf("%w: %d samples do not make whole %d-sample frames", ErrSource, len(pcm), frame)
	}
	enc, err := c.NewEncoder()
	if err != nil {
		return nil, err
	}
	size := c.PayloadSize(ptime)
	scratch := make([]byte, size)
	for warm := 0; warm < c.SampleRate; warm += len(pcm) {
		for f := pcm; len(f) > 0; f = f[frame:] {
			if _, err := enc.Encode(scratch, f[:frame]); err != nil {
				return nil, err
			}
		}
	}
	data := make([]byte, 0, len(pcm)/frame*size)
	for f := pcm; len(f) > 0; f = f[frame:] {
		n, err := enc.Encode(scratch, f[:frame])
		if err != nil {
			return nil, err
		}
		data = append(data, scratch[:n]...)
	}
	return &encodedLoop{data: data, frameSize: size}, nil
}

// encodedStream is one session's position in a shared loop.
type encodedStream struct {
	loop *encodedLoop
	pos  int
}

func (s *encodedStream) frame(dst []byte, _ []int16, _ codecs.Encoder) (int, error) {
	n := copy(dst, s.loop.data[s.pos:s.pos+s.loop.frameSize])
	if s.pos += s.loop.frameSize; s.pos >= len(s.loop.data) {
		s.pos = 0
	}
	return n, nil
}

// WAVSource sends the audio of a WAV file (16-bit PCM mono at 8000 or
// 16000 Hz), over and over, resampled to the codec's rate when needed
// and padded with silence to whole 20 ms frames. The file is read once,
// here; other formats are refused with an error that wraps ErrSource and
// the codecs package's reason (codecs.ErrWAVUnsupported,
// codecs.ErrNotWAV, ...).
func WAVSource(path string) (Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSource, err)
	}
	defer f.Close()
	pcm, rate, err := codecs.ReadWAV(f)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrSource, path, err)
	}
	if len(pcm) == 0 {
		return nil, fmt.Errorf("%w: %s holds no audio", ErrSource, path)
	}
	return &wavSource{pcm: pcm, rate: rate, loops: map[codecs.Codec]*encodedLoop{}}, nil
}

type wavSource struct {
	pcm   []int16
	rate  int
	mu    sync.Mutex
	loops map[codecs.Codec]*encodedLoop
}

func (w *wavSource) open(_ *Session, c codecs.Codec) (stream, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	loop, ok := w.loops[c]
	if !ok {
		r, err := codecs.NewResampler(w.rate, c.SampleRate)
		if err != nil {
			return nil, err
		}
		frame := c.FrameSamples(ptime)
		n := r.OutLen(len(w.pcm))
		pcm := make([]int16, (n+frame-1)/frame*frame)
		if _, err := r.Process(pcm, w.pcm); err != nil {
			return nil, err
		}
		if loop, err = preEncode(c, pcm); err != nil {
			return nil, err
		}
		w.loops[c] = loop
	}
	return &encodedStream{loop: loop}, nil
}

// Echo sends back what the session receives, decoded and encoded again
// (so a codec mismatch or a broken decoder shows), about one packet late.
func Echo() Source { return echoSource{} }

type echoSource struct{}

func (echoSource) open(s *Session, _ codecs.Codec) (stream, error) {
	s.echo.on.Store(true)
	return &s.echo, nil
}

// echoCap bounds the echo delay: 200 ms at 16 kHz.
const echoCap = 3200

// echoRing carries decoded audio from the reader to the sender.
type echoRing struct {
	on  atomic.Bool // an echo is playing: only then does the reader copy
	mu  sync.Mutex
	buf [echoCap]int16
	r   int // read position
	n   int // samples held
}

// write appends received audio, dropping the oldest when full.
func (e *echoRing) write(pcm []int16) {
	if !e.on.Load() {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(pcm) > echoCap {
		pcm = pcm[len(pcm)-echoCap:]
	}
	if over := e.n + len(pcm) - echoCap; over > 0 {
		e.r = (e.r + over) % echoCap
		e.n -= over
	}
	w := (e.r + e.n) % echoCap
	k := copy(e.buf[w:], pcm)
	copy(e.buf[:], pcm[k:])
	e.n += len(pcm)
}

// frame encodes the oldest audio, padded with silence when there is not
// enough.
func (e *echoRing) frame(dst []byte, pcm []int16, enc codecs.Encoder) (int, error) {
	e.read(pcm)
	return enc.Encode(dst, pcm)
}

// read takes the oldest audio, padding with silence when there is not
// enough.
func (e *echoRing) read(pcm []int16) {
	e.mu.Lock()
	defer e.mu.Unlock()
	take := min(len(pcm), e.n)
	k := copy(pcm[:take], e.buf[e.r:])
	copy(pcm[k:take], e.buf[:])
	e.r = (e.r + take) % echoCap
	e.n -= take
	clear(pcm[take:])
}
