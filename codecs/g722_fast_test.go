package codecs

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// g722Inputs are payloads and PCM that drive the codec everywhere it can
// go: uniform random octets and samples, runs of one octet (the scale
// factors pinned at their limits, the predictors saturated), full-scale
// square waves and silence.
func g722Inputs() (payload []byte, pcm []int16) {
	rng := rand.New(rand.NewPCG(23, 722))
	const n = 1 << 18
	payload = make([]byte, 0, 2*n)
	for range n {
		payload = append(payload, byte(rng.Uint32()))
	}
	for _, c := range []byte{0x00, 0xFF, 0x3F, 0xC0, 0x80, 0x7F, 0x40, 0x20} {
		for range 4000 {
			payload = append(payload, c)
		}
		for range 4000 { // alternate with random to leave the limits again
			payload = append(payload, c^byte(rng.Uint32()&0x81))
		}
	}
	pcm = make([]int16, 0, 2*n)
	for range n {
		pcm = append(pcm, int16(rng.Uint32()))
	}
	for _, period := range []int{2, 3, 16, 160} {
		for i := range 20000 {
			v := int16(32767)
			if i/period%2 == 1 {
				v = -32768
			}
			pcm = append(pcm, v)
		}
	}
	pcm = append(pcm, make([]int16, 2000)...)
	for i := range 40000 { // a sweep with noise on top, at varied levels
		amp := int32(1 + i%32768)
		pcm = append(pcm, int16(int32(rng.Uint32())%amp))
	}
	return payload, pcm
}

// TestG722MatchesReference: the tuned codec's output equals, bit for bit,
// that of the implementation it replaced (g722_ref_test.go), over a long
// random input cut into frames of varied size, with resets between some.
func TestG722MatchesReference(t *testing.T) {
	payload, pcm := g722Inputs()
	rng := rand.New(rand.NewPCG(1, 2))

	dec, ref := NewG722Decoder(), newRefG722Decoder()
	got := make([]int16, 2*len(payload))
	want := make([]int16, 2*len(payload))
	for off := 0; off < len(payload); {
		n := min(1+rng.IntN(400), len(payload)-off)
		if rng.IntN(50) == 0 {
			dec.Reset()
			ref.Reset()
		}
		if _, err := dec.Decode(got[2*off:], payload[off:off+n]); err != nil {
			t.Fatal(err)
		}
		if _, err := ref.Decode(want[2*off:], payload[off:off+n]); err != nil {
			t.Fatal(err)
		}
		off += n
	}
	if i := firstDiff(got, want); i >= 0 {
		t.Fatalf("decoder: sample %d is %d, the reference gives %d", i, got[i], want[i])
	}

	enc, eref := NewG722Encoder(), newRefG722Encoder()
	gotB := make([]byte, len(pcm)/2)
	wantB := make([]byte, len(pcm)/2)
	for off := 0; off < len(pcm)/2; {
		n := min(1+rng.IntN(400), len(pcm)/2-off)
		if rng.IntN(50) == 0 {
			enc.Reset()
			eref.Reset()
		}
		if _, err := enc.Encode(gotB[off:], pcm[2*off:2*(off+n)]); err != nil {
			t.Fatal(err)
		}
		if _, err := eref.Encode(wantB[off:], pcm[2*off:2*(off+n)]); err != nil {
			t.Fatal(err)
		}
		off += n
	}
	if i := firstDiff(gotB, wantB); i >= 0 {
		t.Fatalf("encoder: octet %d is %#x, the reference gives %#x", i, gotB[i], wantB[i])
	}
	// The inputs must reach the extremes the test claims to cover.
	if !slices.Contains(want, 32767) && !slices.Contains(want, -32768) {
		t.Error("the decoder's reference output never saturates: the inputs are too tame")
	}
}

func firstDiff[E comparable](a, b []E) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

// BenchmarkG722Tuned compares, in one run, the codec with the one it
// replaced on a 20 ms frame of a 1 kHz tone; on a busy machine only the
// ratio between the two means much.
func BenchmarkG722Tuned(b *testing.B) {
	pcm := mustTone(b, 1000, -10, 20*time.Millisecond, 16000)
	payload := make([]byte, len(pcm)/2)
	out := make([]int16, len(pcm))
	for _, impl := range []struct {
		name string
		enc  interface {
			Encode([]byte, []int16) (int, error)
		}
		dec interface {
			Decode([]int16, []byte) (int, error)
		}
	}{
		{"reference", newRefG722Encoder(), newRefG722Decoder()},
		{"tuned", NewG722Encoder(), NewG722Decoder()},
	} {
		b.Run("encode/"+impl.name, func(b *testing.B) {
			b.SetBytes(int64(2 * len(pcm)))
			for b.Loop() {
				if _, err := impl.enc.Encode(payload, pcm); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("decode/"+impl.name, func(b *testing.B) {
			b.SetBytes(int64(2 * len(pcm)))
			for b.Loop() {
				if _, err := impl.dec.Decode(out, payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("decodelow/tuned", func(b *testing.B) {
		dec := NewG722Decoder()
		b.SetBytes(int64(2 * len(pcm)))
		for b.Loop() {
			if _, err := dec.DecodeLow(out, payload); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestG722DecodeLowMatchesReference: DecodeLow gives, bit for bit, twice
// the lower band's reconstructed signal that the reference decoder
// computes inside decodeOctet (read from its state before each octet),
// over frames of varied size with resets between some; and a stream
// that goes back to Decode keeps its lower band in step.
func TestG722DecodeLowMatchesReference(t *testing.T) {
	payload, _ := g722Inputs()
	rng := rand.New(rand.NewPCG(3, 4))
	dec, ref := NewG722Decoder(), newRefG722Decoder()
	got := make([]int16, len(payload))
	want := make([]int16, len(payload))
	scratch := make([]int16, 2*400)
	for off := 0; off < len(payload); {
		n := min(1+rng.IntN(400), len(payload)-off)
		if rng.IntN(50) == 0 {
			dec.Reset()
			ref.Reset()
		}
		for i, c := range payload[off : off+n] {
			lo := &ref.low
			rl := refClampInt(lo.s+lo.det*refQm6[c&0x3F]>>15, -16384, 16383)
			want[off+i] = int16(2 * rl)
			ref.decodeOctet(c)
		}
		if _, err := dec.DecodeLow(got[off:], payload[off:off+n]); err != nil {
			t.Fatal(err)
		}
		off += n
		// Now and then a frame through the full decoder, as when a
		// recording starts mid-call: the lower band must not notice.
		if rng.IntN(4) == 0 && off < len(payload) {
			m := min(1+rng.IntN(400), len(payload)-off)
			if _, err := dec.Decode(scratch, payload[off:off+m]); err != nil {
				t.Fatal(err)
			}
			for i, c := range payload[off : off+m] {
				lo := &ref.low
				want[off+i] = int16(2 * refClampInt(lo.s+lo.det*refQm6[c&0x3F]>>15, -16384, 16383))
				ref.decodeOctet(c)
				got[off+i] = want[off+i] // not DecodeLow's to check
			}
			off += m
		}
	}
	if i := firstDiff(got, want); i >= 0 {
		t.Fatalf("DecodeLow: sample %d is %d, the reference's lower band gives %d", i, got[i], want[i])
	}
	if _, err := dec.DecodeLow(make([]int16, 1), []byte{1, 2}); err == nil {
		t.Error("DecodeLow into a short buffer succeeded")
	}
}

// TestG722DecodeLowTone: the lower band of a coded tone is the tone at
// 8 kHz, at the level Decode gives it, and a return to Decode after
// DecodeLow carries the tone on.
func TestG722DecodeLowTone(t *testing.T) {
	pcm := mustTone(t, 1000, -10, time.Second, 16000)
	payload := make([]byte, len(pcm)/2)
	if _, err := NewG722Encoder().Encode(payload, pcm); err != nil {
		t.Fatal(err)
	}
	dec := NewG722Decoder()
	low := make([]int16, len(payload)/2)
	if _, err := dec.DecodeLow(low, payload[:len(payload)/2]); err != nil {
		t.Fatal(err)
	}
	hz, ok := DetectTone(low[len(low)/2:], 8000, nil)
	if !ok || hz < 995 || hz > 1005 {
		t.Fatalf("DecodeLow: %v Hz (%v), want 1000", hz, ok)
	}
	if got, want := PowerDBFS(meanSquareOf(low[len(low)/2:])), PowerDBFS(meanSquareOf(pcm)); got < want-1 || got > want+1 {
		t.Errorf("DecodeLow level %.1f dBFS, the tone's %.1f", got, want)
	}
	wide := make([]int16, len(payload))
	if _, err := dec.Decode(wide, payload[len(payload)/2:]); err != nil {
		t.Fatal(err)
	}
	// The first 10 ms may carry the upper band's catching up.
	if hz, ok := DetectTone(wide[160:], 16000, nil); !ok || hz < 995 || hz > 1005 {
		t.Errorf("Decode after DecodeLow: %v Hz (%v), want 1000", hz, ok)
	}
}

// TestG722DecodeLowFrameSizes: how DecodeLow's input is cut into frames
// changes nothing, including the QMF history a later Decode starts from
// (DecodeLow fills it only from the end of each frame).
func TestG722DecodeLowFrameSizes(t *testing.T) {
	payload, _ := g722Inputs()
	payload = payload[:4000]
	whole, bits := NewG722Decoder(), NewG722Decoder()
	a, b := make([]int16, 3000), make([]int16, 3000)
	if _, err := whole.DecodeLow(a, payload[:3000]); err != nil {
		t.Fatal(err)
	}
	for off := 0; off < 3000; off += 5 {
		if _, err := bits.DecodeLow(b[off:], payload[off:off+5]); err != nil {
			t.Fatal(err)
		}
	}
	if i := firstDiff(a, b); i >= 0 {
		t.Fatalf("DecodeLow in 5-octet frames differs at %d", i)
	}
	x, y := make([]int16, 2000), make([]int16, 2000)
	_, _ = whole.Decode(x, payload[3000:])
	_, _ = bits.Decode(y, payload[3000:])
	if i := firstDiff(x, y); i >= 0 {
		t.Fatalf("Decode after DecodeLow in frames differs at %d", i)
	}
}

func meanSquareOf(pcm []int16) float64 {
	sum := 0.0
	for _, s := range pcm {
		sum += float64(s) * float64(s)
	}
	return sum / float64(len(pcm))
}
