package media

// Reorder buffer sizes. Eight slots cover 160 ms of sequence numbers;
// a gap is given up once jbDepth packets wait behind it (60 ms), which
// is how long a desk phone's adaptive buffer would wait at best.
const (
	jbSlots = 8 // a power of two
	jbDepth = 3
	// maxPayload is the largest payload a slot holds: 80 ms of G.711,
	// 40 ms of G.722. Larger payloads are not audio a phone sends.
	maxPayload = 640
	// maxMisorder is how far back (in sequence numbers) a packet may be
	// and still be taken for a late one rather than a restarted stream
	// (RFC 3550 A.1).
	maxMisorder = 100
)

// jbPacket is one buffered packet; the payload is copied in, so the
// read buffer can take the next datagram.
type jbPacket struct {
	used    bool
	seq     uint16
	ts      uint32
	kind    uint8
	n       int
	payload [maxPayload]byte
}

func (p *jbPacket) data() []byte { return p.payload[:p.n] }

// jitterBuffer puts packets back in sequence order. It is driven by
// arrivals alone (no timer): a packet is released when it is next in
// sequence, and a gap is skipped once jbDepth packets wait behind it.
type jitterBuffer struct {
	slots   [jbSlots]jbPacket
	next    uint16 // sequence number to release next
	held    int
	started bool
	// played has bit i set when sequence number next-1-i was released,
	// so a copy of a played packet is told from one that came too late.
	played uint64
}

// insertResult says what became of an inserted packet.
type insertResult int

const (
	inserted  insertResult = iota
	tooLate                // its turn has passed (released or skipped)
	duplicate              // already buffered
)

// jumps reports whether seq is so far from the expected one (ahead of
// the window, or far behind) that the stream must have restarted or
// lost a long burst: the caller drains the buffer and resets it.
func (j *jitterBuffer) jumps(seq uint16) bool {
	if !j.started {
		return false
	}
	d := int16(seq - j.next)
	return d >= jbSlots || d < -maxMisorder
}

// reset empties the buffer and expects seq next.
func (j *jitterBuffer) reset(seq uint16) {
	for i := range j.slots {
		j.slots[i].used = false
	}
	j.next, j.held, j.started, j.played = seq, 0, true, 0
}

// insert stores a packet; the caller has ruled out jumps.
func (j *jitterBuffer) insert(seq uint16, ts uint32, kind uint8, payload []byte) insertResult {
	if !j.started {
		j.reset(seq)
	}
	if back := -int(int16(seq - j.next)); back > 0 {
		if back <= 64 && j.played&(1<<(back-1)) != 0 {
			return duplicate
		}
		return tooLate
	}
	p := &j.slots[seq%jbSlots]
	if p.used {
		return duplicate
	}
	p.used, p.seq, p.ts, p.kind = true, seq, ts, kind
	p.n = copy(p.payload[:], payload)
	j.held++
	return inserted
}

// pop returns the next packet to play and how many sequence numbers were
// skipped before it (lost), or nil when the next one is still awaited.
// With drain it releases whatever is held regardless of gaps. The packet
// stays valid until the next insert.
func (j *jitterBuffer) pop(drain bool) (p *jbPacket, skipped int) {
	if j.held == 0 {
		return nil, 0
	}
	if !drain && !j.slots[j.next%jbSlots].used && j.held < jbDepth {
		return nil, 0
	}
	for i := range jbSlots {
		q := &j.slots[(j.next+uint16(i))%jbSlots]
		if q.used && q.seq == j.next+uint16(i) {
			q.used = false
			j.held--
			j.next = q.seq + 1
			j.played = j.played<<(i+1) | 1
			return q, i
		}
	}
	// Unreachable while held counts the used slots; recover anyway.
	j.reset(j.next)
	return nil, 0
}
