package codecs

import (
	"math"
	"testing"
	"time"
)

// mustTone returns d of a sine at freq and level, failing the test on error.
func mustTone(t testing.TB, freq, level float64, d time.Duration, rate int) []int16 {
	t.Helper()
	pcm, err := Tone(freq, level, d, rate)
	if err != nil {
		t.Fatalf("Tone(%g, %g, %v, %d): %v", freq, level, d, rate, err)
	}
	return pcm
}

// g722RoundTrip encodes pcm with a fresh G.722 encoder in frames of frame
// samples and decodes the result with a fresh decoder.
func g722RoundTrip(t testing.TB, pcm []int16, frame int) (payload []byte, out []int16) {
	t.Helper()
	enc, dec := NewG722Encoder(), NewG722Decoder()
	payload = make([]byte, len(pcm)/2)
	out = make([]int16, len(pcm))
	for off := 0; off < len(pcm); off += frame {
		end := min(off+frame, len(pcm))
		if _, err := enc.Encode(payload[off/2:], pcm[off:end]); err != nil {
			t.Fatalf("encode at %d: %v", off, err)
		}
		if _, err := dec.Decode(out[off:], payload[off/2:end/2]); err != nil {
			t.Fatalf("decode at %d: %v", off, err)
		}
	}
	return payload, out
}

// bestDelay finds the lag (0..maxLag samples) by which out trails ref,
// by normalised cross-correlation.
func bestDelay(ref, out []int16, maxLag int) int {
	best, bestCorr := 0, math.Inf(-1)
	for lag := 0; lag <= maxLag; lag++ {
		var xy, yy float64
		for i := 0; i+lag < len(out) && i < len(ref); i++ {
			x, y := float64(ref[i]), float64(out[i+lag])
			xy += x * y
			yy += y * y
		}
		if yy == 0 {
			continue
		}
		if c := xy / math.Sqrt(yy); c > bestCorr {
			best, bestCorr = lag, c
		}
	}
	return best
}

// snrDB compares out, delayed by lag, with ref from sample skip on.
func snrDB(ref, out []int16, lag, skip int) float64 {
	var sig, noise float64
	for i := skip; i < len(ref) && i+lag < len(out); i++ {
		x, y := float64(ref[i]), float64(out[i+lag])
		sig += x * x
		noise += (x - y) * (x - y)
	}
	if noise == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(sig/noise)
}

// goldenSignal is a 16 kHz test signal built with integer arithmetic
// only, so it is identical on every platform (math.Sin and fused
// multiply-add could differ in the last bit): integer-oscillator tones
// from low to high frequency and level, then shaped noise, then loud
// white noise that drives the quantisers to their largest steps. It
// stays clear of full scale so the decoded signal never clips, which
// implementations handle differently (saturate or wrap).
func goldenSignal() []int16 {
	var pcm []int16
	// Tones by the recursion y[n] = c·y[n-1] - y[n-2], c = 2cos(w) in Q14.
	for _, tone := range []struct{ c, amp, n int }{
		{32290, 20000, 3200}, // ≈ 300 Hz
		{30274, 8000, 3200},  // ≈ 1000 Hz
		{23170, 12000, 3200}, // ≈ 2000 Hz
		{0, 12000, 3200},     // 4000 Hz, the band edge
		{-23170, 6000, 3200}, // ≈ 6000 Hz
		{-32290, 300, 3200},  // ≈ 7700 Hz, quiet
	} {
		y1, y2 := tone.amp, tone.c*tone.amp>>15 // y[n] = amp·cos(w(n+1))
		for i := 0; i < tone.n; i++ {
			y := (tone.c*y1)>>14 - y2
			y = clampInt(y, -32768, 32767)
			pcm = append(pcm, int16(y))
			y2, y1 = y1, y
		}
	}
	// xorshift32 noise, low-passed (speech-like tilt), then white at half scale.
	x := uint32(2463534242)
	next := func() int {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		return int(int16(x >> 16))
	}
	acc := 0
	for i := 0; i < 16000; i++ {
		acc += (next()/2 - acc) >> 3
		pcm = append(pcm, int16(clampInt(acc*4, -32768, 32767)))
	}
	for i := 0; i < 8000; i++ {
		pcm = append(pcm, int16(next()/2))
	}
	return pcm
}
