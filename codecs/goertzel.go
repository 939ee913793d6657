package codecs

import (
	"fmt"
	"math"
)

// Goertzel measures the power of one frequency over a block of n samples
// with a second-order recursion: far cheaper than an FFT when only a few
// frequencies matter (DTMF keys, call-progress tones, test tones). The
// frequency need not fall on an FFT bin. Feed samples with Add until Full,
// read Power, then Reset for the next block.
type Goertzel struct {
	freq  float64
	rate  int
	n     int
	coeff float64 // 2·cos(2π·freq/rate)
	s1    float64 // s[k-1]
	s2    float64 // s[k-2]
	count int
}

// NewGoertzel returns a detector for freq Hz in a signal sampled at
// sampleRate, over blocks of n samples. The frequency resolution is about
// sampleRate/n: 8000/205 ≈ 39 Hz, say.
func NewGoertzel(freq float64, sampleRate, n int) (Goertzel, error) {
	if sampleRate <= 0 || sampleRate > 384000 {
		return Goertzel{}, fmt.Errorf("goertzel sample rate %d: %w", sampleRate, ErrInvalidArgument)
	}
	if !(freq > 0 && freq <= float64(sampleRate)/2) { // also rejects NaN
		return Goertzel{}, fmt.Errorf("goertzel frequency %g Hz outside (0, %d]: %w", freq, sampleRate/2, ErrInvalidArgument)
	}
	if n <= 0 || n > 1<<24 {
		return Goertzel{}, fmt.Errorf("goertzel block length %d: %w", n, ErrInvalidArgument)
	}
	return Goertzel{
		freq:  freq,
		rate:  sampleRate,
		n:     n,
		coeff: 2 * math.Cos(2*math.Pi*freq/float64(sampleRate)),
	}, nil
}

// Add feeds samples and returns how many it took: it stops at the block
// length, so the caller can carry the rest into the next block.
func (g *Goertzel) Add(pcm []int16) int {
	k := min(len(pcm), g.n-g.count)
	s1, s2, c := g.s1, g.s2, g.coeff
	for _, x := range pcm[:k] {
		s1, s2 = float64(x)+c*s1-s2, s1
	}
	g.s1, g.s2 = s1, s2
	g.count += k
	return k
}

// Full reports whether the block holds n samples.
func (g *Goertzel) Full() bool { return g.count >= g.n }

// Count is the number of samples in the current block.
func (g *Goertzel) Count() int { return g.count }

// Freq is the frequency measured.
func (g *Goertzel) Freq() float64 { return g.freq }

// Power is the mean-square power of the frequency component in the
// samples added so far, in squared sample units: a sine of amplitude A
// gives A²/2, the same scale as [Meter], so the two can be compared and
// [PowerDBFS] converts either to dBFS.
func (g *Goertzel) Power() float64 {
	if g.count == 0 {
		return 0
	}
	mag2 := g.s1*g.s1 + g.s2*g.s2 - g.coeff*g.s1*g.s2
	n := float64(g.count)
	return max(0, 2*mag2/(n*n))
}

// Reset clears the block, keeping frequency and length.
func (g *Goertzel) Reset() {
	g.s1, g.s2, g.count = 0, 0, 0
}

// tonePower measures the power of freq over the whole of pcm.
func tonePower(pcm []int16, freq float64, rate int) float64 {
	g, err := NewGoertzel(freq, rate, max(1, len(pcm)))
	if err != nil {
		return 0
	}
	g.Add(pcm)
	return g.Power()
}

// add4 feeds four filters at once, filter i taking p[i]; the slices must
// be equally long and fit in every filter's block. A Goertzel recursion
// is a chain of floating-point operations each waiting for the last, so
// one filter at a time leaves the CPU idle most cycles (issue 23: tone
// and DTMF detection at 16 kHz cost half as much as the G.722 decoding
// before them); four independent chains in one loop keep it busy. Each
// filter's arithmetic is Add's, in the same order: the results are the
// same to the bit.
func add4(g *[4]Goertzel, p0, p1, p2, p3 []int16) {
	k := len(p0)
	p1, p2, p3 = p1[:k], p2[:k], p3[:k]
	a1, a2, ac := g[0].s1, g[0].s2, g[0].coeff
	b1, b2, bc := g[1].s1, g[1].s2, g[1].coeff
	c1, c2, cc := g[2].s1, g[2].s2, g[2].coeff
	d1, d2, dc := g[3].s1, g[3].s2, g[3].coeff
	for i, x := range p0 {
		a1, a2 = float64(x)+ac*a1-a2, a1
		b1, b2 = float64(p1[i])+bc*b1-b2, b1
		c1, c2 = float64(p2[i])+cc*c1-c2, c1
		d1, d2 = float64(p3[i])+dc*d1-d2, d1
	}
	g[0].s1, g[0].s2 = a1, a2
	g[1].s1, g[1].s2 = b1, b2
	g[2].s1, g[2].s2 = c1, c2
	g[3].s1, g[3].s2 = d1, d2
	for i := range g {
		g[i].count += k
	}
}

// tonePowers4 is tonePower for the first n (1..4) of freqs in one pass.
func tonePowers4(pcm []int16, rate int, freqs [4]float64, n int) [4]float64 {
	var g [4]Goertzel
	var valid [4]bool
	for i := range 4 {
		f := freqs[min(i, n-1)] // the unused filters repeat a used one
		var err error
		g[i], err = NewGoertzel(f, rate, max(1, len(pcm)))
		valid[i] = err == nil
		if !valid[i] {
			g[i], _ = NewGoertzel(1, 8000, max(1, len(pcm))) // valid; its result is dropped
		}
	}
	add4(&g, pcm, pcm, pcm, pcm)
	var out [4]float64
	for i := range n {
		if valid[i] {
			out[i] = g[i].Power()
		}
	}
	return out
}

// TonePowers sets out[i] to the power of freqs[i] over the whole of pcm,
// sampled at rate: what a Goertzel over len(pcm) samples would give for
// each, bit for bit (0 for a frequency it cannot measure), but four
// frequencies a pass, several times faster than one filter after
// another. out must be as long as freqs.
func TonePowers(out []float64, pcm []int16, rate int, freqs []float64) {
	out = out[:len(freqs)]
	var fs [4]float64
	for i := 0; i < len(freqs); i += 4 {
		n := copy(fs[:], freqs[i:])
		ps := tonePowers4(pcm, rate, fs, n)
		copy(out[i:], ps[:n])
	}
}

// toneScan calls visit with each frequency from lo to hi in steps of
// step, in order, and its power over pcm, four frequencies a pass. skip
// leaves out frequencies, as the caller's loop would with continue.
func toneScan(pcm []int16, rate int, lo, hi, step float64, skip func(float64) bool, visit func(f, p float64)) {
	var fs [4]float64
	n := 0
	flush := func() {
		if n == 0 {
			return
		}
		ps := tonePowers4(pcm, rate, fs, n)
		for i := range n {
			visit(fs[i], ps[i])
		}
		n = 0
	}
	for f := lo; f <= hi; f += step {
		if skip != nil && skip(f) {
			continue
		}
		fs[n] = f
		if n++; n == 4 {
			flush()
		}
	}
	flush()
}

func meanSquare(pcm []int16) float64 {
	if len(pcm) == 0 {
		return 0
	}
	sum := 0.0
	for _, s := range pcm {
		sum += float64(s) * float64(s)
	}
	return sum / float64(len(pcm))
}

// Tone detection limits. A steady tone must carry at least toneShare of
// the signal's power in each quarter of the buffer; quieter than
// toneFloorDBFS is silence.
const (
	toneShare     = 0.5
	toneFloorDBFS = -60
	toneScanLow   = 100.0
	toneScanHigh  = 4000.0
	toneQuarters  = 4
)

// DetectTone looks for one steady tone in pcm, sampled at rate. With
// candidates it picks the candidate frequency that carries the most power;
// without, it scans 100..4000 Hz (up to Nyquist) and refines the peak to
// about 1 Hz. The tone must carry at least half of the signal's power in
// every quarter of the buffer, so speech, noise, silence and tones that
// stop half-way are refused. pcm should hold at least 100 ms.
func DetectTone(pcm []int16, rate int, candidates []float64) (hz float64, ok bool) {
	if rate <= 0 || rate > 384000 || len(pcm) < rate/50 || len(pcm) < 4*toneQuarters {
		return 0, false
	}
	if PowerDBFS(meanSquare(pcm)) < toneFloorDBFS {
		return 0, false
	}
	if len(candidates) > 0 {
		best, bestShare := 0.0, 0.0
		for _, f := range candidates {
			if !(f > 0 && f < float64(rate)/2) {
				continue
			}
			if share := steadyShare(pcm, f, rate); share > bestShare {
				best, bestShare = f, share
			}
		}
		return best, bestShare >= toneShare
	}

	// Coarse scan on a block of at most 200 ms (5 Hz resolution), in
	// steps of half the resolution so no tone falls between two probes.
	block := pcm[:min(len(pcm), rate/5)]
	step := max(1, float64(rate)/float64(len(block))/2)
	hi := min(toneScanHigh, float64(rate)/2-step)
	peak, peakPow := 0.0, -1.0
	toneScan(block, rate, toneScanLow, hi, step, nil, func(f, p float64) {
		if p > peakPow {
			peak, peakPow = f, p
		}
	})
	// Refine over up to one second of signal in 0.25 Hz steps.
	fine := pcm[:min(len(pcm), rate)]
	bestF, bestP := peak, -1.0
	outside := func(f float64) bool { return f <= 0 || f >= float64(rate)/2 }
	toneScan(fine, rate, peak-step, peak+step, 0.25, outside, func(f, p float64) {
		if p > bestP {
			bestF, bestP = f, p
		}
	})
	if steadyShare(pcm, bestF, rate) < toneShare {
		return 0, false
	}
	return math.Round(bestF*4) / 4, true
}

// steadyShare is the smallest share of power that freq carries in any
// quarter of pcm.
func steadyShare(pcm []int16, freq float64, rate int) float64 {
	q := len(pcm) / toneQuarters
	var ms [toneQuarters]float64
	for i := range ms {
		if ms[i] = meanSquare(pcm[i*q : (i+1)*q]); ms[i] == 0 {
			return 0
		}
	}
	var g [toneQuarters]Goertzel
	for i := range g {
		var err error
		if g[i], err = NewGoertzel(freq, rate, max(1, q)); err != nil {
			return 0 // tonePower's answer for a frequency it cannot measure
		}
	}
	add4(&g, pcm[:q], pcm[q:2*q], pcm[2*q:3*q], pcm[3*q:4*q])
	share := math.Inf(1)
	for i := range g {
		share = min(share, g[i].Power()/ms[i])
	}
	return share
}
