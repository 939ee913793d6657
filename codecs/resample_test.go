package codecs

import (
	"errors"
	"testing"
	"time"
)

func TestResampleTone(t *testing.T) {
	tests := []struct {
		name     string
		from, to int
		freq     float64
		maxLoss  float64 // dB of level lost by the crude filters
	}{
		{"up 1 kHz", 8000, 16000, 1000, 0.6},
		{"up 3 kHz", 8000, 16000, 3000, 5.5},
		{"down 1 kHz", 16000, 8000, 1000, 0.6},
		{"down 3 kHz", 16000, 8000, 3000, 5.5},
		{"same rate", 8000, 8000, 1000, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := mustTone(t, tc.freq, -10, time.Second, tc.from)
			r, err := NewResampler(tc.from, tc.to)
			if err != nil {
				t.Fatal(err)
			}
			out := make([]int16, r.OutLen(len(in)))
			// 20 ms frames plus an odd-sized tail exercise the carry.
			done, step := 0, tc.from/50
			for off, k := 0, step-1; off < len(in); off, k = off+k, step {
				n, err := r.Process(out[done:], in[off:min(off+k, len(in))])
				if err != nil {
					t.Fatal(err)
				}
				done += n
			}
			if done != len(in)*tc.to/tc.from {
				t.Fatalf("wrote %d samples for %d in", done, len(in))
			}
			out = out[:done]
			if hz, ok := DetectTone(out, tc.to, []float64{tc.freq, tc.freq * 2, tc.freq / 2}); !ok || hz != tc.freq {
				t.Errorf("DetectTone = %g, %v; want %g", hz, ok, tc.freq)
			}
			got, _ := Level(out[100:])
			if got > -10+0.1 || got < -10-tc.maxLoss {
				t.Errorf("level %.2f dBFS after resampling, want -10 (loss up to %.1f dB)", got, tc.maxLoss)
			}
		})
	}
}

// Downsampling must suppress what would alias: a 7 kHz tone at 16 kHz
// would fold to 1 kHz at 8 kHz.
func TestResampleDownAttenuatesAliases(t *testing.T) {
	in := mustTone(t, 7000, -10, 200*time.Millisecond, 16000)
	r, _ := NewResampler(16000, 8000)
	out := make([]int16, r.OutLen(len(in)))
	n, _ := r.Process(out, in)
	got, _ := Level(out[:n])
	if got > -10-15 {
		t.Errorf("7 kHz alias at %.1f dBFS, want at least 15 dB down", got)
	}
}

func TestResampleInvalid(t *testing.T) {
	for _, rates := range [][2]int{{8000, 44100}, {0, 8000}, {16000, 48000}} {
		if _, err := NewResampler(rates[0], rates[1]); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("NewResampler(%d, %d): %v", rates[0], rates[1], err)
		}
	}
	r, _ := NewResampler(8000, 16000)
	if _, err := r.Process(make([]int16, 3), make([]int16, 2)); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("short dst: %v", err)
	}
	d, _ := NewResampler(16000, 8000)
	if n, _ := d.Process(make([]int16, 1), []int16{5}); n != 0 || d.OutLen(1) != 1 {
		t.Errorf("odd sample carried: wrote %d, next OutLen(1) %d", n, d.OutLen(1))
	}
	d.Reset()
	if d.OutLen(1) != 0 {
		t.Error("Reset kept the carried sample")
	}
}

func TestResampleZeroAllocs(t *testing.T) {
	up, _ := NewResampler(8000, 16000)
	down, _ := NewResampler(16000, 8000)
	in := make([]int16, 160)
	mid := make([]int16, 320)
	out := make([]int16, 160)
	allocs := testing.AllocsPerRun(100, func() {
		_, _ = up.Process(mid, in)
		_, _ = down.Process(out, mid)
	})
	if allocs != 0 {
		t.Errorf("%v allocs per frame", allocs)
	}
}
