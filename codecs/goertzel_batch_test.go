package codecs

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// The four-at-a-time Goertzel (add4) must give exactly what one filter
// at a time gives: detection thresholds compare these powers, and a
// last-bit difference could flip a decision.

func randomPCM(rng *rand.Rand, n int) []int16 {
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(rng.Uint32())
	}
	return pcm
}

func TestAdd4MatchesAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	pcm := randomPCM(rng, 4000)
	var one, four [4]Goertzel
	for i, f := range []float64{697, 1209, 3999.5, 100} {
		one[i], _ = NewGoertzel(f, 16000, 1000)
		four[i] = one[i]
	}
	for off := 0; off < 1000; {
		n := min(1+rng.IntN(90), 1000-off)
		for i := range one {
			one[i].Add(pcm[1000*i+off : 1000*i+off+n])
		}
		add4(&four, pcm[off:off+n], pcm[1000+off:1000+off+n], pcm[2000+off:2000+off+n], pcm[3000+off:3000+off+n])
		off += n
	}
	for i := range one {
		if one[i] != four[i] {
			t.Errorf("filter %d: add4 %+v, Add %+v", i, four[i], one[i])
		}
	}
}

func TestToneScanMatchesTonePower(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	pcm := randomPCM(rng, 3200)
	for _, c := range []struct{ lo, hi, step float64 }{
		{100, 4000, 12.5}, {990, 1010, 0.25}, {-1, 8001, 7}, {100, 100, 1}, {100, 103, 1},
	} {
		var want, got [][2]float64
		for f := c.lo; f <= c.hi; f += c.step {
			if f <= 0 || f >= 8000 {
				continue
			}
			want = append(want, [2]float64{f, tonePower(pcm, f, 16000)})
		}
		skip := func(f float64) bool { return f <= 0 || f >= 8000 }
		toneScan(pcm, 16000, c.lo, c.hi, c.step, skip, func(f, p float64) { got = append(got, [2]float64{f, p}) })
		if len(got) != len(want) {
			t.Fatalf("%+v: %d frequencies visited, want %d", c, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%+v: visit %d is %v, tonePower gives %v", c, i, got[i], want[i])
			}
		}
	}
	// A frequency a Goertzel cannot measure has power 0, as in tonePower.
	if ps := tonePowers4(pcm, 8000, [4]float64{1000, 5000, 0, 2000}, 4); ps[1] != 0 || ps[2] != 0 || ps[0] != tonePower(pcm, 1000, 8000) || ps[3] != tonePower(pcm, 2000, 8000) {
		t.Errorf("powers %v", ps)
	}
}

func TestSteadyShareMatchesQuarters(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	for _, n := range []int{3200, 1603, 800} {
		pcm := mustTone(t, 1000, -10, 200*time.Millisecond, 16000)
		pcm = append(pcm, randomPCM(rng, n)...)
		for _, f := range []float64{1000, 440, 8000, 12} {
			q := len(pcm) / toneQuarters
			want := math.Inf(1)
			for i := range toneQuarters {
				part := pcm[i*q : (i+1)*q]
				want = min(want, tonePower(part, f, 16000)/meanSquare(part))
			}
			if got := steadyShare(pcm, f, 16000); got != want {
				t.Errorf("%d samples, %g Hz: share %v, one quarter at a time %v", len(pcm), f, got, want)
			}
		}
	}
	if got := steadyShare(make([]int16, 800), 1000, 16000); got != 0 {
		t.Errorf("silence: share %v, want 0", got)
	}
}

func TestDetectToneAllocatesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counting")
	}
	pcm := mustTone(t, 1000, -10, 200*time.Millisecond, 16000)
	pcm = append(pcm, randomPCM(rand.New(rand.NewPCG(7, 7)), 3200)...)
	cand := []float64{1000}
	if n := testing.AllocsPerRun(50, func() { DetectTone(pcm, 16000, cand) }); n != 0 {
		t.Errorf("DetectTone with a candidate: %v allocations", n)
	}
	if n := testing.AllocsPerRun(5, func() { DetectTone(pcm, 16000, nil) }); n != 0 {
		t.Errorf("DetectTone scanning: %v allocations", n)
	}
}

func TestTonePowers(t *testing.T) {
	pcm := randomPCM(rand.New(rand.NewPCG(8, 8)), 320)
	freqs := []float64{100, 125, 150, 175, 200, 9000, 697}
	out := make([]float64, len(freqs))
	TonePowers(out, pcm, 16000, freqs)
	for i, f := range freqs {
		g, err := NewGoertzel(f, 16000, len(pcm))
		want := 0.0
		if err == nil {
			g.Add(pcm)
			want = g.Power()
		}
		if out[i] != want {
			t.Errorf("%g Hz: %v, a Goertzel gives %v", f, out[i], want)
		}
	}
	if out[5] != 0 {
		t.Errorf("9000 Hz at 16 kHz: %v, want 0", out[5])
	}
}
