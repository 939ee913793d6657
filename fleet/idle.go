package fleet

// idleQueue is the phones free for load calls, by index, oldest first: a
// ring with room for every phone, so picking a phone costs O(1) however
// big the fleet (a few bytes a phone, allocated when a load starts, none
// while the fleet is idle). A phone in a call is marked busy rather than
// searched out of the ring: pop drops it when it comes round, release
// queues it again.
type idleQueue struct {
	ring         []int32
	head, queued int
	inRing       []bool
	busy         []bool
}

func newIdleQueue(n int) idleQueue {
	return idleQueue{ring: make([]int32, n), inRing: make([]bool, n), busy: make([]bool, n)}
}

// push queues phone i last, unless it is queued already.
func (q *idleQueue) push(i int) {
	if q.inRing[i] {
		return
	}
	q.ring[(q.head+q.queued)%len(q.ring)] = int32(i)
	q.queued++
	q.inRing[i] = true
}

// pop takes the oldest phone that is not busy and is ready (registered,
// not the caller), -1 when none is. A busy phone met on the way leaves
// the ring; one not ready goes last. Every step is O(1); the steps are
// bounded by the ring's length, and are one when the oldest is ready.
func (q *idleQueue) pop(ready func(int) bool) int {
	for range q.queued {
		i := int(q.ring[q.head])
		q.head = (q.head + 1) % len(q.ring)
		q.queued--
		q.inRing[i] = false
		if q.busy[i] {
			continue
		}
		if !ready(i) {
			q.push(i)
			continue
		}
		return i
	}
	return -1
}

// release frees phone i after its call and queues it last.
func (q *idleQueue) release(i int) {
	q.busy[i] = false
	q.push(i)
}
