package codecs

import (
	"fmt"
	"math/rand"
	"testing"
	"time"
)

// keySequence renders keys as tone bursts of on, separated by off of
// silence, after lead samples of silence.
func keySequence(t testing.TB, keys string, on, off time.Duration, level float64, rate, lead int) []int16 {
	t.Helper()
	pcm := make([]int16, lead)
	gap := make([]int16, int(int64(rate)*int64(off)/int64(time.Second)))
	for _, k := range keys {
		tone, err := DTMFTone(k, level, on, rate)
		if err != nil {
			t.Fatal(err)
		}
		pcm = append(pcm, tone...)
		pcm = append(pcm, gap...)
	}
	return pcm
}

// detectAll feeds pcm in frames of frame samples.
func detectAll(t testing.TB, rate int, pcm []int16, frame int) string {
	t.Helper()
	d, err := NewDTMFDetector(rate)
	if err != nil {
		t.Fatal(err)
	}
	var keys []rune
	for off := 0; off < len(pcm); off += frame {
		keys = d.Detect(keys, pcm[off:min(off+frame, len(pcm))])
	}
	return string(keys)
}

func TestDTMFDetectorKeys(t *testing.T) {
	const all = "123A456B789C*0#D"
	for _, rate := range []int{8000, 16000} {
		for _, level := range []float64{-3 - 6, -10, -25} {
			t.Run(fmt.Sprintf("%dHz_%gdBFS", rate, level), func(t *testing.T) {
				pcm := keySequence(t, all, 50*time.Millisecond, 50*time.Millisecond, level, rate, 37)
				for _, frame := range []int{rate / 50, 7, 1000} {
					if got := detectAll(t, rate, pcm, frame); got != all {
						t.Errorf("frames of %d: detected %q, want %q", frame, got, all)
					}
				}
			})
		}
	}
}

// TestDTMFDetectorDuration checks the debounce at every alignment of the
// burst to the analysis blocks: bursts of 40 ms or more are always
// reported, bursts of 20 ms or less never.
func TestDTMFDetectorDuration(t *testing.T) {
	tests := []struct {
		on   time.Duration
		want string
	}{
		{10 * time.Millisecond, ""},
		{20 * time.Millisecond, ""},
		{40 * time.Millisecond, "5"},
		{70 * time.Millisecond, "5"},
		{2 * time.Second, "5"},
	}
	for _, tc := range tests {
		t.Run(tc.on.String(), func(t *testing.T) {
			for lead := 0; lead < 102; lead++ {
				pcm := keySequence(t, "5", tc.on, 100*time.Millisecond, -10, 8000, lead)
				if got := detectAll(t, 8000, pcm, 160); got != tc.want {
					t.Fatalf("lead %d: detected %q, want %q", lead, got, tc.want)
				}
			}
		})
	}
}

func TestDTMFDetectorRejects(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	row := mustTone(t, 770, -10, 200*time.Millisecond, 8000)
	col := mustTone(t, 1336, -10, 200*time.Millisecond, 8000)
	mix := func(a, b []int16, gainB float64) []int16 {
		out := make([]int16, len(a))
		for i := range a {
			out[i] = int16(clampInt(int(a[i])+int(float64(b[i])*gainB), -32768, 32767))
		}
		return out
	}
	third := mustTone(t, 852, -10, 200*time.Millisecond, 8000)
	voice := make([]int16, 1600)
	for _, h := range []float64{150, 300, 450, 600, 750, 900, 1050, 1200, 1350} {
		tone := mustTone(t, h, -20, 200*time.Millisecond, 8000)
		voice = mix(voice, tone, 1)
	}
	tests := []struct {
		name string
		pcm  []int16
	}{
		{"silence", make([]int16, 1600)},
		{"row only", row},
		{"column only", col},
		{"twist 12 dB (column weak)", mix(row, col, 0.25)},
		{"twist 12 dB (row weak)", mix(col, row, 0.25)},
		{"two rows and a column", mix(mix(row, col, 1), third, 1)},
		{"too quiet", mix(row, col, 1)[:0]},
		{"noise", noise(rng, 8000, 8000)},
		{"harmonic voice-like", voice},
		{"dial tone", mix(mustTone(t, 350, -13, 200*time.Millisecond, 8000), mustTone(t, 440, -13, 200*time.Millisecond, 8000), 1)},
	}
	quiet, err := DTMFTone('5', -45, 200*time.Millisecond, 8000)
	if err != nil {
		t.Fatal(err)
	}
	tests[6].pcm = quiet
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := detectAll(t, 8000, tc.pcm, 160); got != "" {
				t.Errorf("detected %q", got)
			}
		})
	}
	// Twist within 6 dB is accepted.
	if got := detectAll(t, 8000, mix(row, col, 0.5), 160); got != "5" {
		t.Errorf("twist 6 dB: detected %q, want 5", got)
	}
}

// TestDTMFDetectorHeld reports a long press once, even across a short
// dropout, and two presses of the same key twice.
func TestDTMFDetectorHeld(t *testing.T) {
	long := keySequence(t, "8", time.Second, 0, -10, 8000, 0)
	for i := 4000; i < 4040; i++ { // a 5 ms dropout
		long[i] = 0
	}
	if got := detectAll(t, 8000, long, 160); got != "8" {
		t.Errorf("held key: detected %q, want one 8", got)
	}
	twice := keySequence(t, "88", 100*time.Millisecond, 60*time.Millisecond, -10, 8000, 0)
	if got := detectAll(t, 8000, twice, 160); got != "88" {
		t.Errorf("two presses: detected %q, want 88", got)
	}
	// A key changing straight into another reports both.
	a, _ := DTMFTone('1', -10, 100*time.Millisecond, 8000)
	b, _ := DTMFTone('9', -10, 100*time.Millisecond, 8000)
	if got := detectAll(t, 8000, append(a, b...), 160); got != "19" {
		t.Errorf("back to back: detected %q, want 19", got)
	}
}

// TestDTMFDetectorThroughCodecs checks in-band DTMF survives the codecs a
// call may use.
func TestDTMFDetectorThroughCodecs(t *testing.T) {
	const keys = "159#*0D"
	narrow := keySequence(t, keys, 60*time.Millisecond, 60*time.Millisecond, -10, 8000, 11)
	for _, c := range []Codec{PCMU, PCMA} {
		enc, _ := c.NewEncoder()
		dec, _ := c.NewDecoder()
		buf := make([]byte, len(narrow))
		out := make([]int16, len(narrow))
		n, _ := enc.Encode(buf, narrow)
		_, _ = dec.Decode(out, buf[:n])
		if got := detectAll(t, 8000, out, 160); got != keys {
			t.Errorf("%s: detected %q, want %q", c.Name, got, keys)
		}
	}
	wide := keySequence(t, keys, 60*time.Millisecond, 60*time.Millisecond, -10, 16000, 10)
	_, out := g722RoundTrip(t, wide[:len(wide)&^1], 320)
	if got := detectAll(t, 16000, out, 320); got != keys {
		t.Errorf("G722: detected %q, want %q", got, keys)
	}
}

func TestDTMFDetectorReset(t *testing.T) {
	d, _ := NewDTMFDetector(8000)
	tone, _ := DTMFTone('3', -10, 100*time.Millisecond, 8000)
	if got := string(d.Detect(nil, tone)); got != "3" {
		t.Fatalf("detected %q", got)
	}
	d.Reset()
	if got := string(d.Detect(nil, tone)); got != "3" {
		t.Errorf("after Reset the same key is a new press: detected %q", got)
	}
	for _, rate := range []int{0, 4000, 96000} {
		if _, err := NewDTMFDetector(rate); err == nil {
			t.Errorf("rate %d accepted", rate)
		}
	}
}

func TestDTMFDetectorZeroAllocs(t *testing.T) {
	d, _ := NewDTMFDetector(8000)
	pcm := keySequence(t, "1", 40*time.Millisecond, 40*time.Millisecond, -10, 8000, 0)
	keys := make([]rune, 0, 4)
	allocs := testing.AllocsPerRun(100, func() {
		keys = d.Detect(keys[:0], pcm[:160])
		keys = d.Detect(keys[:0], pcm[160:480])
	})
	if allocs != 0 {
		t.Errorf("%v allocs per frame", allocs)
	}
}
