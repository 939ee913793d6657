package media

import (
	"math"

	"github.com/deskphone/deskphone/codecs"
)

// toneWindowSamples is the audio each tone decision looks at: long enough for
// codecs.DetectTone's steadiness test (four quarters of 50 ms), short
// enough to follow a tone change within a quarter of a second.
const toneWindowSamples = 16000 / 5 // 200 ms at 16 kHz

// toneSlackHz is how far two decisions may differ and still be the same
// tone (G.711 quantisation moves the estimate by a fraction of a hertz).
const toneSlackHz = 3

// detector finds steady tones and in-band DTMF in decoded audio. It
// allocates nothing per frame.
type detector struct {
	rate int
	win  [toneWindowSamples]int16
	n    int // samples in win
	// heard: a window of audio has completed since the last reset.
	heard  bool
	size   int // window length at rate
	toneOn bool
	hz     float64
	hz2    float64 // the second tone of a pair, 0 for a single tone
	cand   [1]float64
	pow    [toneWindowSamples / 160]float64 // stillTone's block powers (20 ms blocks, 8 kHz or more)
	ms     [toneWindowSamples / 160]float64 // and mean squares
	dtmfD  *codecs.DTMFDetector
	keys   [8]rune
}

func (d *detector) reset(rate int) error {
	det, err := codecs.NewDTMFDetector(rate)
	if err != nil {
		return err
	}
	d.rate, d.dtmfD = rate, det
	d.size = rate / 5
	d.n, d.toneOn, d.heard = 0, false, false
	return nil
}

// setRate moves the detectors to audio at another rate mid-call, as when
// the receiver switches between G.722's full decoder and its lower band:
// the partial window and any key in progress are dropped, but the tone
// last reported and heard are kept, so a tone that goes on is not
// reported again and a cue may begin with the new window.
func (d *detector) setRate(rate int) error {
	toneOn, hz, hz2, heard := d.toneOn, d.hz, d.hz2, d.heard
	if err := d.reset(rate); err != nil {
		return err
	}
	d.toneOn, d.hz, d.hz2, d.heard = toneOn, hz, hz2, heard
	return nil
}

// dtmf returns the DTMF keys recognised in pcm.
func (d *detector) dtmf(pcm []int16) []rune {
	if d.dtmfD == nil {
		return nil
	}
	return d.dtmfD.Detect(d.keys[:0], pcm)
}

// tone feeds pcm to the tone window. When a window completes it reports
// the steady tone in it (ok), the second one when the window holds a
// steady pair (hz2, the higher; a conference mixes two far ends' tones),
// and whether they differ from the last ones reported (changed).
func (d *detector) tone(pcm []int16) (hz, hz2 float64, changed, ok bool) {
	if d.size == 0 {
		return 0, 0, false, false
	}
	for len(pcm) > 0 {
		k := copy(d.win[d.n:d.size], pcm)
		d.n += k
		pcm = pcm[k:]
		if d.n < d.size {
			continue
		}
		d.n, d.heard = 0, true
		var f, f2 float64
		found := d.stillTone(d.win[:d.size])
		if found {
			f = d.hz
		} else {
			f, f2, found = d.steadyTones(d.win[:d.size])
		}
		if !found {
			d.toneOn = false
			continue
		}
		changed = changed || !d.toneOn || math.Abs(f-d.hz) > toneSlackHz || math.Abs(f2-d.hz2) > toneSlackHz
		hz, hz2, ok = f, f2, true
		d.toneOn, d.hz, d.hz2 = true, f, f2
	}
	return hz, hz2, changed, ok
}

// soloShare is the share of the power a single tone carries when it is
// alone; below it, a tone DetectTone accepted (half the power suffices)
// may be one of a pair of equal tones, which the pair test then decides.
const soloShare = 0.8

// stillTone reports whether the window carries the single tone heard
// in the last one, checked 20 ms block by block: in each, the zero
// crossings give the same frequency (within toneSlackHz) and one
// Goertzel filter there finds at least soloShare of the power. That is
// what DetectTone and the pair test would conclude, at a fraction of
// their cost, which matters when a thousand calls each play a tone; and
// block by block, a frame the far end skipped (its phase jumps) does not
// hide the tone and send every window down the dear path just when the
// machine is busiest.
func (d *detector) stillTone(pcm []int16) bool {
	if !d.toneOn || d.hz2 != 0 {
		return false
	}
	block := d.rate / 50
	if block <= 0 {
		return false
	}
	blocks := min(len(pcm)/block, len(d.pow))
	for i := range blocks {
		blk := pcm[i*block : (i+1)*block]
		if f := crossingFrequency(blk, d.rate); math.Abs(f-d.hz) > toneSlackHz {
			return false
		}
	}
	blockPowers(d.pow[:blocks], d.ms[:blocks], pcm, block, d.hz, d.rate)
	for i, p := range d.pow[:blocks] {
		if ms := d.ms[i]; ms == 0 || p/ms < soloShare {
			return false
		}
	}
	return true
}

// blockPowers sets pow[i] to the power of hz in the i-th block of pcm,
// and ms[i] to its mean square, as goertzelPower and meanSquare would
// (the same operations, in the same order). A Goertzel filter is one
// long chain of dependent multiply-adds, so filtering block after block
// leaves the processor waiting on each sample; here four blocks advance
// together, four independent chains, which, with the mean squares taken
// in the same pass, halves the cost of the steady-tone check that every
// call runs five times a second.
func blockPowers(pow, ms []float64, pcm []int16, block int, hz float64, rate int) {
	c := 2 * math.Cos(2*math.Pi*hz/float64(rate))
	power := func(s1, s2 float64) float64 {
		n := float64(block)
		return max(0, 2*(s1*s1+s2*s2-c*s1*s2)/(n*n))
	}
	i := 0
	for ; i+4 <= len(pow); i += 4 {
		b0 := pcm[i*block : (i+1)*block]
		b1 := pcm[(i+1)*block : (i+2)*block]
		b2 := pcm[(i+2)*block : (i+3)*block]
		b3 := pcm[(i+3)*block : (i+4)*block]
		var a1, a2, e1, e2, f1, f2, g1, g2 float64
		var sa, se, sf, sg float64
		for j := range b0 {
			x0, x1, x2, x3 := float64(b0[j]), float64(b1[j]), float64(b2[j]), float64(b3[j])
			a1, a2 = x0+c*a1-a2, a1
			e1, e2 = x1+c*e1-e2, e1
			f1, f2 = x2+c*f1-f2, f1
			g1, g2 = x3+c*g1-g2, g1
			sa += x0 * x0
			se += x1 * x1
			sf += x2 * x2
			sg += x3 * x3
		}
		pow[i], pow[i+1], pow[i+2], pow[i+3] = power(a1, a2), power(e1, e2), power(f1, f2), power(g1, g2)
		n := float64(block)
		ms[i], ms[i+1], ms[i+2], ms[i+3] = sa/n, se/n, sf/n, sg/n
	}
	for ; i < len(pow); i++ {
		blk := pcm[i*block : (i+1)*block]
		pow[i], ms[i] = goertzelPower(blk, hz, rate), meanSquare(blk)
	}
}

// steadyTones finds one steady tone, else a steady pair.
func (d *detector) steadyTones(pcm []int16) (hz, hz2 float64, ok bool) {
	f, ok := d.steadyTone(pcm)
	if !ok {
		return steadyPair(pcm, d.rate)
	}
	if ms := meanSquare(pcm); ms > 0 && goertzelPower(pcm, f, d.rate)/ms < soloShare {
		if lo, hi, ok := steadyPair(pcm, d.rate); ok {
			return lo, hi, true
		}
	}
	return f, 0, true
}

// steadyTone estimates the frequency of a single tone from its rising
// zero crossings and lets codecs.DetectTone confirm it. DetectTone's own
// scan (about 1500 Goertzel probes per window) is too dear to run on a
// thousand calls; the crossing count costs one pass, and the
// confirmation four, so speech, noise, DTMF pairs and silence are still
// refused by DetectTone's rule (half the power in every quarter).
func (d *detector) steadyTone(pcm []int16) (float64, bool) {
	f := crossingFrequency(pcm, d.rate)
	if f <= 0 {
		return 0, false
	}
	d.cand[0] = f
	hz, ok := codecs.DetectTone(pcm, d.rate, d.cand[:])
	if !ok {
		return 0, false
	}
	return math.Round(hz), true
}

// crossingFrequency counts rising zero crossings, placed between samples
// by linear interpolation, and returns crossings per second; 0 when there
// are too few to tell.
func crossingFrequency(pcm []int16, rate int) float64 {
	first, last := -1.0, -1.0
	count := 0
	for i := 1; i < len(pcm); i++ {
		a, b := int(pcm[i-1]), int(pcm[i])
		if a < 0 && b >= 0 {
			t := float64(i-1) + float64(-a)/float64(b-a)
			if first < 0 {
				first = t
			}
			last = t
			count++
		}
	}
	if count < 3 || last <= first {
		return 0
	}
	return float64(count-1) * float64(rate) / (last - first)
}

// Two-tone detection limits. A pair is two tones at least pairMinGapHz
// apart that together carry pairShare of the power in every quarter of
// the window, each at least pairEachShare: a conference's mix of two
// test tones passes; speech, noise and a tone with its echo do not.
const (
	pairStepHz    = 25  // coarse probes; the 20 ms block resolves 50 Hz
	pairRefineHz  = 2   // fine probes over 100 ms (10 Hz resolution)
	pairMinGapHz  = 100 // closer tones (ringback's 440+480) are not a pair
	pairShare     = 0.7
	pairEachShare = 0.15
	pairFloorDBFS = -60
)

// steadyPair looks for two steady tones in pcm (200 ms at rate). It costs
// about three times the single-tone test and runs only when that test
// failed on audio above the floor: a coarse Goertzel scan of one 20 ms
// block, a refinement of the two highest peaks over 100 ms, and the
// confirmation per quarter. It allocates nothing.
func steadyPair(pcm []int16, rate int) (lo, hi float64, ok bool) {
	if rate <= 0 || len(pcm) < rate/10 || codecs.PowerDBFS(meanSquare(pcm)) < pairFloorDBFS {
		return 0, 0, false
	}
	block := pcm[:rate/50]
	top := min(4000, float64(rate)/2-pairStepHz)
	p1, p2 := 0.0, 0.0
	pow1, pow2 := -1.0, -1.0
	for f := 100.0; f <= top; f += pairStepHz {
		p := goertzelPower(block, f, rate)
		switch {
		case p > pow1:
			if math.Abs(f-p1) >= pairMinGapHz {
				p2, pow2 = p1, pow1
			}
			p1, pow1 = f, p
		case p > pow2 && math.Abs(f-p1) >= pairMinGapHz:
			p2, pow2 = f, p
		}
	}
	if pow2 <= 0 {
		return 0, 0, false
	}
	fine := pcm[:rate/10]
	f1, f2 := refine(fine, p1, rate), refine(fine, p2, rate)
	if math.Abs(f1-f2) < pairMinGapHz {
		return 0, 0, false
	}
	q := len(pcm) / 4
	for i := range 4 {
		part := pcm[i*q : (i+1)*q]
		ms := meanSquare(part)
		if ms == 0 {
			return 0, 0, false
		}
		s1, s2 := goertzelPower(part, f1, rate)/ms, goertzelPower(part, f2, rate)/ms
		if s1 < pairEachShare || s2 < pairEachShare || s1+s2 < pairShare {
			return 0, 0, false
		}
	}
	lo, hi = math.Round(min(f1, f2)), math.Round(max(f1, f2))
	if dtmfPair(lo, hi) {
		return 0, 0, false // a key: the DTMF detector's, not a pair of tones
	}
	return lo, hi, true
}

// dtmfKeys lists the keys whose frequency pairs dtmfPair knows.
const dtmfKeys = "123A456B789C*0#D"

// dtmfPair reports whether lo and hi are a DTMF key's row and column
// (within 2%, the detectors' tolerance).
func dtmfPair(lo, hi float64) bool {
	for _, k := range dtmfKeys {
		r, c, _ := codecs.DTMFFrequencies(k)
		if math.Abs(lo-r) <= r/50 && math.Abs(hi-c) <= c/50 {
			return true
		}
	}
	return false
}

// refine finds the strongest frequency within a coarse step of f.
func refine(pcm []int16, f float64, rate int) float64 {
	best, bestP := f, -1.0
	for g := f - pairStepHz; g <= f+pairStepHz; g += pairRefineHz {
		if g <= 0 || g >= float64(rate)/2 {
			continue
		}
		if p := goertzelPower(pcm, g, rate); p > bestP {
			best, bestP = g, p
		}
	}
	return best
}

// goertzelPower is the power of f over the whole of pcm.
func goertzelPower(pcm []int16, f float64, rate int) float64 {
	g, err := codecs.NewGoertzel(f, rate, len(pcm))
	if err != nil {
		return 0
	}
	g.Add(pcm)
	return g.Power()
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
