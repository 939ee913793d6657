package fleet

import "testing"

func TestIdleQueue(t *testing.T) {
	q := newIdleQueue(4)
	for i := range 4 {
		q.push(i)
	}
	all := func(int) bool { return true }
	if got := q.pop(all); got != 0 {
		t.Fatalf("first pop %d, want 0", got)
	}
	q.busy[0] = true
	// Phone 2 is taken as a callee while still queued: passed over.
	q.busy[2] = true
	if got := q.pop(func(i int) bool { return i != 1 }); got != 3 {
		t.Fatalf("pop past 1 (not ready) and 2 (busy): %d, want 3", got)
	}
	q.busy[3] = true
	if got := q.pop(func(i int) bool { return i != 1 }); got != -1 {
		t.Fatalf("nothing ready: %d, want -1", got)
	}
	q.release(2)
	q.release(0)
	var order []int
	for i := q.pop(all); i >= 0; i = q.pop(all) {
		q.busy[i] = true
		order = append(order, i)
	}
	if len(order) != 3 || order[0] != 1 || order[1] != 2 || order[2] != 0 {
		t.Errorf("order after release: %v, want [1 2 0] (oldest first)", order)
	}
	q.release(3)
	q.release(3)
	if q.queued != 1 {
		t.Errorf("a phone released twice is queued %d times", q.queued)
	}
}

// BenchmarkIdleQueue picks and frees phones of a fleet of 10,000 with
// 2,000 in calls (1,000 calls between the fleet's phones), as issue 23's
// load does: each pick must cost the same as in a fleet of ten.
func BenchmarkIdleQueue(b *testing.B) {
	const phones, inCalls = 10_000, 2_000
	q := newIdleQueue(phones)
	for i := range phones {
		q.push(i)
	}
	ready := func(int) bool { return true }
	calls := make([]int, 0, inCalls)
	for range inCalls {
		i := q.pop(ready)
		q.busy[i] = true
		calls = append(calls, i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for n := range b.N {
		i := q.pop(ready)
		if i < 0 {
			b.Fatal("no idle phone")
		}
		q.busy[i] = true
		k := n % inCalls
		q.release(calls[k])
		calls[k] = i
	}
}
