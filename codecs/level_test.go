package codecs

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestToneLevels(t *testing.T) {
	tests := []struct {
		name     string
		pcm      func() ([]int16, error)
		wantRMS  float64
		wantPeak float64
	}{
		{"sine 0 dBFS", func() ([]int16, error) { return Tone(1000, 0, time.Second, 8000) }, 0, 0},
		{"sine -10 dBFS", func() ([]int16, error) { return Tone(1000, -10, time.Second, 8000) }, -10, -10},
		{"sine -40 dBFS wideband", func() ([]int16, error) { return Tone(6000, -40, time.Second, 16000) }, -40, -40},
		// Two components at -10 dBFS each: powers add (+3 dB), peaks
		// add (+6 dB) when the phases meet.
		{"DTMF -10 dBFS each", func() ([]int16, error) { return DTMFTone('5', -10, time.Second, 8000) }, -6.99, -4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pcm, err := tc.pcm()
			if err != nil {
				t.Fatal(err)
			}
			rms, peak := Level(pcm)
			if math.Abs(rms-tc.wantRMS) > 0.05 {
				t.Errorf("RMS %.2f dBFS, want %.2f", rms, tc.wantRMS)
			}
			if math.Abs(peak-tc.wantPeak) > 0.1 {
				t.Errorf("peak %.2f dBFS, want %.2f", peak, tc.wantPeak)
			}
		})
	}
}

func TestMeter(t *testing.T) {
	var m Meter
	if !math.IsInf(m.RMSdBFS(), -1) || !math.IsInf(m.PeakdBFS(), -1) || m.RMS() != 0 {
		t.Error("empty meter should read -Inf")
	}
	m.Add([]int16{0, 0, 0, 0})
	if !math.IsInf(m.RMSdBFS(), -1) || m.Samples() != 4 {
		t.Error("silence should read -Inf")
	}
	m.Add([]int16{-32768, 32767, 100, -100})
	if m.Peak() != 32768 || m.Clipped() != 2 {
		t.Errorf("peak %d clipped %d", m.Peak(), m.Clipped())
	}
	// A full-scale square wave is +3 dBFS on the sine-referenced scale.
	m.Reset()
	m.Add([]int16{32767, -32767, 32767, -32767})
	if got := m.RMSdBFS(); math.Abs(got-3.01) > 0.01 || m.RMS() != 32767 {
		t.Errorf("square wave %.3f dBFS (RMS %g), want +3.01", got, m.RMS())
	}
}

// TestToneGeneratorContinuity checks that frames join without a phase
// jump: 50 frames of 20 ms equal one 1 s tone.
func TestToneGeneratorContinuity(t *testing.T) {
	whole := mustTone(t, 697, -10, time.Second, 8000)
	g, err := NewToneGenerator(8000, -10, 697)
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]int16, 160)
	for i := 0; i < 50; i++ {
		g.Fill(frame)
		for j, s := range frame {
			if d := int(s) - int(whole[i*160+j]); d > 1 || d < -1 {
				t.Fatalf("frame %d sample %d: %d, one-shot tone %d", i, j, s, whole[i*160+j])
			}
		}
	}
	allocs := testing.AllocsPerRun(100, func() { g.Fill(frame) })
	if allocs != 0 {
		t.Errorf("Fill: %v allocs", allocs)
	}
}

func TestToneInvalid(t *testing.T) {
	for _, tc := range []struct {
		name  string
		freq  float64
		level float64
		d     time.Duration
		rate  int
	}{
		{"above Nyquist", 4000, -10, time.Second, 8000},
		{"zero frequency", 0, -10, time.Second, 8000},
		{"positive level", 1000, 1, time.Second, 8000},
		{"NaN level", 1000, math.NaN(), time.Second, 8000},
		{"-Inf level", 1000, math.Inf(-1), time.Second, 8000},
		{"negative duration", 1000, -10, -time.Second, 8000},
		{"huge duration", 1000, -10, 1000 * time.Hour, 8000},
		{"zero rate", 1000, -10, time.Second, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Tone(tc.freq, tc.level, tc.d, tc.rate); !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("Tone: %v", err)
			}
		})
	}
	if _, err := DTMFTone('X', -10, time.Second, 8000); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("DTMFTone('X'): %v", err)
	}
	if _, err := DTMFTone('1', 3, time.Second, 8000); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("DTMFTone at +3 dBFS: %v", err)
	}
	if _, err := DTMFTone('1', -10, -time.Second, 8000); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("DTMFTone for -1s: %v", err)
	}
	if _, err := NewToneGenerator(8000, -10); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("no frequencies: %v", err)
	}
	if _, err := NewToneGenerator(8000, -10, 1, 2, 3, 4, 5); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("five frequencies: %v", err)
	}
}

func TestDTMFFrequencies(t *testing.T) {
	tests := []struct {
		key     rune
		lo, hi  float64
		invalid bool
	}{
		{'1', 697, 1209, false}, {'5', 770, 1336, false}, {'9', 852, 1477, false},
		{'*', 941, 1209, false}, {'0', 941, 1336, false}, {'#', 941, 1477, false},
		{'A', 697, 1633, false}, {'d', 941, 1633, false}, {'E', 0, 0, true},
	}
	for _, tc := range tests {
		lo, hi, ok := DTMFFrequencies(tc.key)
		if ok == tc.invalid || lo != tc.lo || hi != tc.hi {
			t.Errorf("DTMFFrequencies(%q) = %g, %g, %v", tc.key, lo, hi, ok)
		}
	}
}
