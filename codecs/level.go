package codecs

import "math"

// fullScale is the largest positive sample; a sine of this amplitude is
// 0 dBFS, and its mean square is fullScale²/2.
const fullScale = 32767.0

// PowerDBFS converts a mean-square power (in squared sample units, as
// [Meter] and [Goertzel.Power] return) to dBFS. Zero power is -Inf.
func PowerDBFS(meanSquare float64) float64 {
	if meanSquare <= 0 {
		return math.Inf(-1)
	}
	return 10 * math.Log10(meanSquare/(fullScale*fullScale/2))
}

// AmplitudeDBFS converts a peak amplitude to dBFS, where 32767 is 0 dBFS.
// Zero is -Inf.
func AmplitudeDBFS(peak float64) float64 {
	if peak <= 0 {
		return math.Inf(-1)
	}
	return 20 * math.Log10(peak/fullScale)
}

// dBFSAmplitude is the peak amplitude of a sine at level dBFS.
func dBFSAmplitude(level float64) float64 {
	return fullScale * math.Pow(10, level/20)
}

// Meter measures the level of a signal fed to it in pieces, so a media
// loop can meter a stream frame by frame without keeping the audio.
// The zero value is ready to use.
type Meter struct {
	sum   float64 // sum of squares
	n     int
	peak  int
	clips int
}

// Add feeds samples to the meter.
func (m *Meter) Add(pcm []int16) {
	sum := 0.0
	for _, s := range pcm {
		v := int(s)
		sum += float64(v * v)
		if v < 0 {
			v = -v
		}
		if v > m.peak {
			m.peak = v
		}
		if v >= 32767 {
			m.clips++
		}
	}
	m.sum += sum
	m.n += len(pcm)
}

// Samples is the number of samples measured.
func (m *Meter) Samples() int { return m.n }

// RMS is the root-mean-square sample value.
func (m *Meter) RMS() float64 {
	if m.n == 0 {
		return 0
	}
	return math.Sqrt(m.sum / float64(m.n))
}

// RMSdBFS is the RMS level in dBFS (a full-scale sine reads 0); silence
// reads -Inf.
func (m *Meter) RMSdBFS() float64 {
	if m.n == 0 {
		return math.Inf(-1)
	}
	return PowerDBFS(m.sum / float64(m.n))
}

// Peak is the largest absolute sample value (32768 for -32768).
func (m *Meter) Peak() int { return m.peak }

// PeakdBFS is the peak level in dBFS; silence reads -Inf.
func (m *Meter) PeakdBFS() float64 { return AmplitudeDBFS(float64(m.peak)) }

// Clipped is the number of samples at full scale, a sign of overload.
func (m *Meter) Clipped() int { return m.clips }

// Reset starts a new measurement.
func (m *Meter) Reset() { *m = Meter{} }

// Level returns the RMS and peak levels of pcm in dBFS.
func Level(pcm []int16) (rmsDBFS, peakDBFS float64) {
	var m Meter
	m.Add(pcm)
	return m.RMSdBFS(), m.PeakdBFS()
}
