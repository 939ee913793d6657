package testwait

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestPoll(t *testing.T) {
	var n atomic.Int32
	go func() {
		for range 3 {
			n.Add(1)
		}
	}()
	Until(t, "three increments", func() bool { return n.Load() == 3 })
	if Poll(20*time.Millisecond, func() bool { return false }) {
		t.Fatal("a condition that never holds held")
	}
	calls := 0
	if !Poll(0, func() bool { calls++; return true }) || calls != 1 {
		t.Fatalf("a condition true at once was polled %d times", calls)
	}
}
