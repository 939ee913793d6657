package lockout

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

func TestWindow(t *testing.T) {
	w := &Window{Max: 3, Per: time.Minute}
	for i := range 3 {
		if d := w.Wait("a", t0); d != 0 {
			t.Fatalf("event %d: wait %v", i, d)
		}
		w.Add("a", t0.Add(time.Duration(i)*10*time.Second))
	}
	if d := w.Wait("a", t0.Add(30*time.Second)); d != 30*time.Second {
		t.Fatalf("wait %v, want 30s (until the first event leaves)", d)
	}
	if d := w.Wait("b", t0); d != 0 {
		t.Fatalf("another key waits %v", d)
	}
	if d := w.Wait("a", t0.Add(time.Minute)); d != 0 {
		t.Fatalf("after the window: %v", d)
	}
	w.Reset("a")
	if n := w.Count("a", t0); n != 0 {
		t.Fatalf("after Reset: %d", n)
	}
}

// Keys from many sources are swept once their window has passed.
func TestWindowSweeps(t *testing.T) {
	w := &Window{Max: 5, Per: time.Minute}
	for i := range 1000 {
		w.Add(string(rune('a'+i%26))+string(rune(i)), t0)
	}
	w.Add("late", t0.Add(2*time.Minute))
	if n := w.Len(); n != 1 {
		t.Fatalf("%d keys held after the window, want 1", n)
	}
}

func TestFamiliar(t *testing.T) {
	f := &Familiar{Max: 2, Per: time.Hour}
	f.Add("alice", "10.0.0.1", t0)
	f.Add("alice", "10.0.0.2", t0.Add(time.Second))
	f.Add("alice", "10.0.0.3", t0.Add(2*time.Second))
	if f.Known("alice", "10.0.0.1", t0.Add(3*time.Second)) {
		t.Error("the oldest of three was kept with Max 2")
	}
	if !f.Known("alice", "10.0.0.3", t0.Add(3*time.Second)) || f.Known("bob", "10.0.0.3", t0) {
		t.Error("Known mixes accounts up")
	}
	if f.Known("alice", "10.0.0.3", t0.Add(2*time.Hour)) {
		t.Error("known after Per")
	}
}
