package media

import (
	"testing"
	"time"

	"github.com/deskphone/deskphone/internal/testwait"
)

// A cue is heard over the far end's audio by the user of the session that
// plays it and never reaches the far end; a cadence plays and pauses, and
// the zero Cue stops it.
func TestCueIsHeardNotSent(t *testing.T) {
	e := newEngine(t, Config{})
	a, b := openSession(t, e), openSession(t, e)
	a.SetSource(mustTone(t, 1000))
	b.SetSource(mustTone(t, 600))
	connect(t, a, b)
	testwait.For(t, callTimeout, "each hears the other's tone", func() bool { return hears(b, 1000)() && hears(a, 600)() })

	b.SetCue(Cue{Hz: 440, On: time.Hour})
	testwait.For(t, callTimeout, "b hears the cue over a's tone", hearsPair(b, 440, 1000))
	// a has heard b all along: the cue is in no packet b sends.
	frames(t, b, 20)
	if st := a.Stats(); !near5(st.ToneHz, 600) || st.ToneHz2 != 0 {
		t.Errorf("the far end hears %v+%v Hz, want b's 600 alone", st.ToneHz, st.ToneHz2)
	}

	b.SetCue(Cue{})
	testwait.For(t, callTimeout, "the cue stopped", func() bool { st := b.Stats(); return near5(st.ToneHz, 1000) && st.ToneHz2 == 0 })

	// A cadence: 300 ms of the cue, then silence, heard by the pair
	// detector, then a's tone alone again.
	b.SetCue(Cue{Hz: 440, On: 300 * time.Millisecond, Off: time.Hour})
	testwait.For(t, callTimeout, "the burst heard", hearsPair(b, 440, 1000))
	testwait.For(t, callTimeout, "the burst over", func() bool { st := b.Stats(); return near5(st.ToneHz, 1000) && st.ToneHz2 == 0 })
}

// mix follows the cadence: on for On, off for Off, again, from the start
// of each new cue.
func TestCuePlayerCadence(t *testing.T) {
	var cp cuePlayer
	c := &Cue{Hz: 1000, On: 10 * time.Millisecond, Off: 20 * time.Millisecond}
	const rate = 8000
	frame := make([]int16, 80) // 10 ms
	loud := func() bool {
		clear(frame)
		cp.mix(c, frame, rate, true)
		for _, v := range frame {
			if v != 0 {
				return true
			}
		}
		return false
	}
	for i, want := range []bool{true, false, false, true, false, false, true} {
		if got := loud(); got != want {
			t.Fatalf("frame %d: sound %v, want %v", i, got, want)
		}
	}
	c = &Cue{Hz: 1000, On: 10 * time.Millisecond, Off: 20 * time.Millisecond}
	if !loud() {
		t.Error("a new cue does not start with its tone")
	}
	c = nil
	if loud() {
		t.Error("no cue, yet a sound")
	}
	// A new cue waits for the detector's window to begin.
	c = &Cue{Hz: 1000, On: time.Second}
	clear(frame)
	cp.mix(c, frame, rate, false)
	if frame[1] != 0 {
		t.Error("a cue began inside the detector's window")
	}
	if !loud() {
		t.Error("the cue did not begin on the window's boundary")
	}
}
