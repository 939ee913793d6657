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
}
