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
	rate   int
	win    [toneWindowSamples]int16
	n      int // samples in win
	size   int // window length at rate
	toneOn bool
	hz     float64
	cand   [1]float64
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
	d.n, d.toneOn = 0, false
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
// the steady tone in it (ok) and whether it differs from the last one
// reported (changed).
func (d *detector) tone(pcm []int16) (hz float64, changed, ok bool) {
	if d.size == 0 {
		return 0, false, false
	}
	for len(pcm) > 0 {
		k := copy(d.win[d.n:d.size], pcm)
		d.n += k
		pcm = pcm[k:]
		if d.n < d.size {
			continue
		}
		d.n = 0
		f, found := d.steadyTone(d.win[:d.size])
		if !found {
			d.toneOn = false
			continue
		}
		changed = changed || !d.toneOn || math.Abs(f-d.hz) > toneSlackHz
		hz, ok = f, true
		d.toneOn, d.hz = true, f
	}
	return hz, changed, ok
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
