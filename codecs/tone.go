package codecs

import (
	"fmt"
	"math"
	"time"
)

// maxToneComponents bounds a generator to the tones telephony uses:
// single test tones, dual DTMF and call-progress tones, and a few more.
const maxToneComponents = 4

// maxToneDuration keeps the allocating helpers from being asked for an
// absurd buffer.
const maxToneDuration = time.Hour

// ToneGenerator produces a steady sum of sine waves, frame by frame,
// keeping phase across calls so frames join without clicks. Each
// component has the same level; a DTMF key at -10 dBFS has both its
// frequencies at -10 dBFS.
type ToneGenerator struct {
	amp   float64
	n     int
	step  [maxToneComponents]float64 // cycles per sample
	phase [maxToneComponents]float64 // cycles, in [0, 1)
}

// NewToneGenerator returns a generator of up to four frequencies (Hz,
// below Nyquist) at levelDBFS each (at most 0; components that add up
// past full scale are clipped).
func NewToneGenerator(sampleRate int, levelDBFS float64, freqs ...float64) (*ToneGenerator, error) {
	g := &ToneGenerator{}
	if err := g.init(sampleRate, levelDBFS, freqs); err != nil {
		return nil, err
	}
	return g, nil
}

func (g *ToneGenerator) init(sampleRate int, levelDBFS float64, freqs []float64) error {
	if sampleRate <= 0 || sampleRate > 384000 {
		return fmt.Errorf("tone sample rate %d: %w", sampleRate, ErrInvalidArgument)
	}
	if len(freqs) == 0 || len(freqs) > maxToneComponents {
		return fmt.Errorf("tone with %d frequencies, want 1 to %d: %w", len(freqs), maxToneComponents, ErrInvalidArgument)
	}
	if !(levelDBFS <= 0) || math.IsInf(levelDBFS, 0) { // also rejects NaN
		return fmt.Errorf("tone level %g dBFS, want a finite level <= 0: %w", levelDBFS, ErrInvalidArgument)
	}
	for i, f := range freqs {
		if !(f > 0 && f < float64(sampleRate)/2) {
			return fmt.Errorf("tone frequency %g Hz outside (0, %d): %w", f, sampleRate/2, ErrInvalidArgument)
		}
		g.step[i] = f / float64(sampleRate)
	}
	g.n = len(freqs)
	g.amp = dBFSAmplitude(levelDBFS)
	return nil
}

// Fill writes the next len(dst) samples of the tone into dst.
func (g *ToneGenerator) Fill(dst []int16) {
	for i := range dst {
		v := 0.0
		for k := 0; k < g.n; k++ {
			v += math.Sin(2 * math.Pi * g.phase[k])
			g.phase[k] += g.step[k]
			if g.phase[k] >= 1 {
				g.phase[k]--
			}
		}
		dst[i] = int16(clampInt(int(math.Round(v*g.amp)), -32768, 32767))
	}
}

func toneSamples(d time.Duration, sampleRate int) (int, error) {
	if d < 0 || d > maxToneDuration {
		return 0, fmt.Errorf("tone duration %v outside [0, %v]: %w", d, maxToneDuration, ErrInvalidArgument)
	}
	return int(int64(sampleRate) * int64(d) / int64(time.Second)), nil
}

// Tone returns d of a sine at freq Hz and levelDBFS, sampled at
// sampleRate.
func Tone(freq, levelDBFS float64, d time.Duration, sampleRate int) ([]int16, error) {
	return render(sampleRate, levelDBFS, d, freq)
}

// DTMF keypad frequencies (ITU-T Q.23): rows are the low group, columns
// the high group.
var (
	dtmfRows = [4]float64{697, 770, 852, 941}
	dtmfCols = [4]float64{1209, 1336, 1477, 1633}
	dtmfKeys = [4][4]rune{
		{'1', '2', '3', 'A'},
		{'4', '5', '6', 'B'},
		{'7', '8', '9', 'C'},
		{'*', '0', '#', 'D'},
	}
)

// DTMFFrequencies returns the low (row) and high (column) frequencies of
// a DTMF key ('0'-'9', '*', '#', 'A'-'D').
func DTMFFrequencies(key rune) (low, high float64, ok bool) {
	if key >= 'a' && key <= 'd' {
		key -= 'a' - 'A'
	}
	for r := range dtmfKeys {
		for c, k := range dtmfKeys[r] {
			if k == key {
				return dtmfRows[r], dtmfCols[c], true
			}
		}
	}
	return 0, 0, false
}

// DTMFTone returns d of the dual tone for key, each frequency at
// levelDBFS, sampled at sampleRate.
func DTMFTone(key rune, levelDBFS float64, d time.Duration, sampleRate int) ([]int16, error) {
	lo, hi, ok := DTMFFrequencies(key)
	if !ok {
		return nil, fmt.Errorf("DTMF key %q: %w", key, ErrInvalidArgument)
	}
	return render(sampleRate, levelDBFS, d, lo, hi)
}

// render generates d of the sum of freqs at levelDBFS.
func render(sampleRate int, levelDBFS float64, d time.Duration, freqs ...float64) ([]int16, error) {
	var g ToneGenerator
	if err := g.init(sampleRate, levelDBFS, freqs); err != nil {
		return nil, err
	}
	n, err := toneSamples(d, sampleRate)
	if err != nil {
		return nil, err
	}
	pcm := make([]int16, n)
	g.Fill(pcm)
	return pcm, nil
}
