package codecs

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"
)

func TestGoertzelPower(t *testing.T) {
	tests := []struct {
		tone, probe float64
		rate, n     int
		wantDB      float64 // expected PowerDBFS
		tol         float64
	}{
		{1000, 1000, 8000, 800, -10, 0.05},
		{697, 697, 8000, 205, -10, 0.3}, // not on an FFT bin
		{6000, 6000, 16000, 320, -20, 0.05},
		{1000, 2000, 8000, 800, math.Inf(-1), 0}, // exactly on a null: nothing
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%g_in_%g", tc.probe, tc.tone), func(t *testing.T) {
			level := tc.wantDB
			if math.IsInf(level, -1) {
				level = -10
			}
			pcm := mustTone(t, tc.tone, level, time.Second, tc.rate)
			g, err := NewGoertzel(tc.probe, tc.rate, tc.n)
			if err != nil {
				t.Fatal(err)
			}
			if k := g.Add(pcm); k != tc.n || !g.Full() || g.Count() != tc.n {
				t.Fatalf("Add took %d of %d, Full %v", k, len(pcm), g.Full())
			}
			got := PowerDBFS(g.Power())
			if math.IsInf(tc.wantDB, -1) {
				if got > -60 {
					t.Errorf("power %.1f dBFS on a null, want < -60", got)
				}
				return
			}
			if math.Abs(got-tc.wantDB) > tc.tol {
				t.Errorf("power %.2f dBFS, want %.2f ± %.2f", got, tc.wantDB, tc.tol)
			}
		})
	}
}

// TestGoertzelBlocks feeds a block in pieces and checks it equals one
// call, and that Reset starts afresh.
func TestGoertzelBlocks(t *testing.T) {
	pcm := mustTone(t, 1209, -6, 100*time.Millisecond, 8000)
	whole, _ := NewGoertzel(1209, 8000, 205)
	whole.Add(pcm)
	parts, _ := NewGoertzel(1209, 8000, 205)
	took := 0
	for _, n := range []int{1, 50, 100, 400} {
		took += parts.Add(pcm[took : took+n])
	}
	if took != 205 || parts.Power() != whole.Power() {
		t.Errorf("pieces took %d, power %g; one call %g", took, parts.Power(), whole.Power())
	}
	parts.Reset()
	if parts.Count() != 0 || parts.Power() != 0 || parts.Freq() != 1209 {
		t.Error("Reset left state behind")
	}
}

func TestGoertzelInvalid(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		rate int
		n    int
	}{
		{0, 8000, 100}, {-5, 8000, 100}, {4001, 8000, 100}, {math.NaN(), 8000, 100},
		{1000, 0, 100}, {1000, 8000, 0}, {1000, 8000, -1},
	} {
		if _, err := NewGoertzel(tc.f, tc.rate, tc.n); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("NewGoertzel(%g, %d, %d): %v", tc.f, tc.rate, tc.n, err)
		}
	}
}

func TestDetectTone(t *testing.T) {
	sum := func(a, b []int16) []int16 {
		out := make([]int16, len(a))
		for i := range a {
			out[i] = a[i] + b[i]
		}
		return out
	}
	tone := func(f float64, rate int) []int16 { return mustTone(t, f, -10, 500*time.Millisecond, rate) }
	half := tone(1000, 8000)
	for i := len(half) / 2; i < len(half); i++ {
		half[i] = 0
	}
	tests := []struct {
		name  string
		pcm   []int16
		rate  int
		cands []float64
		want  float64 // 0: no tone
		tol   float64
	}{
		{"scan 440", tone(440, 8000), 8000, nil, 440, 1},
		{"scan 1004", tone(1004, 8000), 8000, nil, 1004, 1},
		{"scan 3950 wideband", tone(3950, 16000), 16000, nil, 3950, 1},
		{"scan 123.5", tone(123.5, 16000), 16000, nil, 123.5, 1},
		{"candidates", tone(480, 8000), 8000, []float64{350, 440, 480, 620}, 480, 0},
		{"candidate 6 kHz", tone(6000, 16000), 16000, []float64{1000, 6000}, 6000, 0},
		{"tone not among candidates", tone(1000, 8000), 8000, []float64{350, 440}, 0, 0},
		{"silence", make([]int16, 4000), 8000, nil, 0, 0},
		{"dual tone is not steady single", sum(tone(350, 8000), tone(440, 8000)), 8000, nil, 0, 0},
		{"tone stops half-way", half, 8000, nil, 0, 0},
		{"too short", tone(1000, 8000)[:100], 8000, nil, 0, 0},
		{"bad rate", tone(1000, 8000), 0, nil, 0, 0},
		{"bad candidates only", tone(1000, 8000), 8000, []float64{-1, 9000, math.NaN()}, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hz, ok := DetectTone(tc.pcm, tc.rate, tc.cands)
			if tc.want == 0 {
				if ok {
					t.Errorf("found %g Hz, want none", hz)
				}
				return
			}
			if !ok || math.Abs(hz-tc.want) > tc.tol {
				t.Errorf("DetectTone = %g, %v; want %g ± %g", hz, ok, tc.want, tc.tol)
			}
		})
	}
}

func TestGoertzelZeroAllocs(t *testing.T) {
	pcm := mustTone(t, 1000, -10, 20*time.Millisecond, 8000)
	g, _ := NewGoertzel(1000, 8000, len(pcm))
	allocs := testing.AllocsPerRun(100, func() {
		g.Reset()
		g.Add(pcm)
		_ = g.Power()
	})
	if allocs != 0 {
		t.Errorf("%v allocs per block", allocs)
	}
}
