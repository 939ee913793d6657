//go:build unix

package media

import (
	"errors"
	"math"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"golang.org/x/net/ipv4"

	"github.com/deskphone/deskphone/codecs"
	"github.com/deskphone/deskphone/internal/testwait"
	"github.com/deskphone/deskphone/media/sdp"
)

// The bare loop is the reference the engine is measured against
// (BenchmarkLoad): the same SRTP calls over UDP on 127.0.0.1 doing only
// the work the load needs. Each 20 ms every stream gets a header, is
// protected and sent; each arrival is unprotected, counted and timed for
// RFC 3550 jitter. No codec, no jitter buffer, no statistics beyond
// those: whatever the engine spends above it is the price of being a
// media engine. It uses what a well-built engine would: a few shared
// sockets, sendmmsg and recvmmsg in batches of bareBatch, one pacing
// clock, pion/srtp v3 without allocation.

const (
	bareSockets = 4  // shared sockets, each read by one goroutine
	bareBatch   = 64 // datagrams per sendmmsg and recvmmsg
	// bareSocketBuffer is the receive and send buffer asked for each
	// socket: a 20 ms burst of 2,000 calls is some 900 KiB of datagrams.
	// The kernel caps it at net.core.rmem_max and wmem_max.
	bareSocketBuffer = 4 << 20
	bareSSRCBase     = 0x5EED0000
	bareFrameTicks   = 160 // 20 ms at the 8 kHz RTP clock of PCMU and G.722
	bareInterval     = 20 * time.Millisecond
	bareMaxPacket    = 1500
	bareHeaderLen    = 12
)

// bareStream is one direction of a call. Its sender goroutine owns the
// send fields, the reader of its destination socket the receive fields;
// the counters the benchmark reads are atomics.
type bareStream struct {
	ssrc uint32
	dst  int // index of the socket it is sent to
	tx   *srtp.Context
	seq  uint16

	rx          *recvContext
	started     bool
	baseSeq     uint16
	maxSeq      uint16
	cycles      uint32
	lastTransit int32
	jitter      float64 // RTP clock units, RFC 3550 A.8

	sent, received, expected atomic.Uint64
	jitterBits               atomic.Uint64 // math.Float64bits of jitter
}

// bareLoop runs calls SRTP calls, 2·calls streams, over bareSockets
// sockets until stop.
type bareLoop struct {
	pt       uint8
	start    time.Time
	conns    []*net.UDPConn
	pcs      []*ipv4.PacketConn
	addrs    []*net.UDPAddr
	streams  []*bareStream
	bySocket [][]*bareStream // streams each socket sends
	bad      atomic.Uint64   // datagrams that failed: no stream, auth, replay
	stop     chan struct{}
	wg       sync.WaitGroup
}

func newBareLoop(tb testing.TB, codec codecs.Codec, calls int) *bareLoop {
	tb.Helper()
	l := &bareLoop{pt: codec.PayloadType, stop: make(chan struct{}), bySocket: make([][]*bareStream, bareSockets)}
	for range bareSockets {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			tb.Fatal(err)
		}
		_ = c.SetReadBuffer(bareSocketBuffer)
		_ = c.SetWriteBuffer(bareSocketBuffer)
		l.conns = append(l.conns, c)
		l.pcs = append(l.pcs, ipv4.NewPacketConn(c))
		l.addrs = append(l.addrs, c.LocalAddr().(*net.UDPAddr))
	}
	for i := range 2 * calls {
		c, err := sdp.NewCrypto(1, sdp.DefaultSuite, false)
		if err != nil {
			tb.Fatal(err)
		}
		k, err := newKeyMaterial(c)
		if err != nil {
			tb.Fatal(err)
		}
		st := &bareStream{ssrc: bareSSRCBase + uint32(i), dst: (i + 1) % bareSockets}
		if st.tx, err = k.sendContext(); err != nil {
			tb.Fatal(err)
		}
		if st.rx, err = k.recvContext(); err != nil {
			tb.Fatal(err)
		}
		l.streams = append(l.streams, st)
		l.bySocket[i%bareSockets] = append(l.bySocket[i%bareSockets], st)
	}
	return l
}

// run starts the readers and senders; close stops and waits for them.
func (l *bareLoop) run() {
	l.start = time.Now()
	for i := range l.conns {
		l.wg.Add(2)
		go l.read(i)
		go l.send(i)
	}
}

func (l *bareLoop) close() {
	close(l.stop)
	for _, c := range l.conns {
		_ = c.Close() // ends the readers
	}
	l.wg.Wait()
}

// send paces socket i's streams on the 20 ms clock. A tick missed when
// the machine is too busy is skipped, not caught up, and its frame's
// timestamps are skipped with it, as a real sender's would be.
func (l *bareLoop) send(i int) {
	defer l.wg.Done()
	pc := l.pcs[i]
	msgs := make([]ipv4.Message, bareBatch)
	for j := range msgs {
		msgs[j].Buffers = [][]byte{make([]byte, 0, bareMaxPacket)}
	}
	plain := make([]byte, bareHeaderLen+bareFrameTicks)
	for j := range plain[bareHeaderLen:] {
		plain[bareHeaderLen+j] = 0xFF // PCMU silence; any payload costs the same
	}
	var hdr rtp.Header
	tick := time.NewTicker(bareInterval)
	defer tick.Stop()
	for {
		var now time.Time
		select {
		case <-l.stop:
			return
		case now = <-tick.C:
		}
		ts := uint32(now.Sub(l.start)/bareInterval) * bareFrameTicks
		n := 0
		for _, st := range l.bySocket[i] {
			srtpHeader(plain, st.seq, ts, st.ssrc)
			plain[1] = l.pt
			out, err := st.tx.EncryptRTP(msgs[n].Buffers[0][:0], plain, &hdr)
			if err != nil {
				continue
			}
			st.seq++
			msgs[n].Buffers[0] = out
			msgs[n].Addr = l.addrs[st.dst]
			st.sent.Add(1)
			if n++; n == bareBatch {
				writeAll(pc, msgs[:n])
				n = 0
			}
		}
		writeAll(pc, msgs[:n])
	}
}

// writeAll sends msgs, as many sendmmsg calls as it takes; a failed
// datagram is dropped (it counts as lost at the receiver).
func writeAll(pc *ipv4.PacketConn, msgs []ipv4.Message) {
	for len(msgs) > 0 {
		n, err := pc.WriteBatch(msgs, 0)
		if err != nil {
			n = max(n, 1)
		}
		msgs = msgs[n:]
	}
}

// read takes socket i's datagrams in batches: find the stream by SSRC,
// unprotect, count, and update the jitter from the arrival time (one per
// batch, the moment recvmmsg returned, as a batched engine sees it).
func (l *bareLoop) read(i int) {
	defer l.wg.Done()
	pc := l.pcs[i]
	msgs := make([]ipv4.Message, bareBatch)
	for j := range msgs {
		msgs[j].Buffers = [][]byte{make([]byte, bareMaxPacket)}
	}
	dec := make([]byte, 0, bareMaxPacket)
	var hdr rtp.Header
	for {
		n, err := pc.ReadBatch(msgs, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		arrival := uint32(time.Since(l.start) * 8000 / time.Second) // RTP clock units
		for _, m := range msgs[:n] {
			pkt := m.Buffers[0][:m.N]
			if len(pkt) < bareHeaderLen {
				l.bad.Add(1)
				continue
			}
			idx := int(uint32(pkt[8])<<24|uint32(pkt[9])<<16|uint32(pkt[10])<<8|uint32(pkt[11])) - bareSSRCBase
			if idx < 0 || idx >= len(l.streams) {
				l.bad.Add(1)
				continue
			}
			st := l.streams[idx]
			if _, _, err := st.rx.decryptRTP(dec[:0], pkt, &hdr); err != nil {
				l.bad.Add(1)
				continue
			}
			st.arrived(hdr.SequenceNumber, hdr.Timestamp, arrival)
		}
	}
}

// arrived counts a packet, extends its sequence number (RFC 3550 A.1,
// without the probation) and updates the jitter (A.8).
func (st *bareStream) arrived(seq uint16, ts, arrival uint32) {
	transit := int32(arrival - ts)
	if !st.started {
		st.started, st.baseSeq, st.maxSeq, st.lastTransit = true, seq, seq, transit
	} else {
		if d := seq - st.maxSeq; d != 0 && d < 1<<15 {
			if seq < st.maxSeq {
				st.cycles += 1 << 16
			}
			st.maxSeq = seq
		}
		d := float64(transit - st.lastTransit)
		st.lastTransit = transit
		st.jitter += (math.Abs(d) - st.jitter) / 16
		st.jitterBits.Store(math.Float64bits(st.jitter))
	}
	st.received.Add(1)
	st.expected.Store(uint64(st.cycles) + uint64(st.maxSeq-st.baseSeq) + 1)
}

// bareSample is one stream's counters at a moment.
type bareSample struct{ sent, received, expected uint64 }

func (l *bareLoop) snapshot() []bareSample {
	out := make([]bareSample, len(l.streams))
	for i, st := range l.streams {
		out[i] = bareSample{st.sent.Load(), st.received.Load(), st.expected.Load()}
	}
	return out
}

// bareLoad measures the bare loop the way engineLoad measures the engine.
func bareLoad(b *testing.B, codec codecs.Codec, calls int) loadResult {
	b.StopTimer()
	l := newBareLoop(b, codec, calls)
	l.run()
	defer l.close()
	time.Sleep(time.Second) // every stream started, buffers warm

	before, cpu0, t0 := l.snapshot(), cpuTime(b), time.Now()
	b.StartTimer()
	time.Sleep(loadWindow)
	b.StopTimer()
	after, cpu1, elapsed := l.snapshot(), cpuTime(b), time.Since(t0)

	var sent, lost int64
	for i := range after {
		sent += int64(after[i].sent - before[i].sent)
		expected := int64(after[i].expected - before[i].expected)
		received := int64(after[i].received - before[i].received)
		lost += max(expected-received, 0)
	}
	jitter := make([]float64, len(l.streams))
	for i, st := range l.streams {
		jitter[i] = math.Float64frombits(st.jitterBits.Load()) / 8 // ms at 8 kHz
	}
	slices.Sort(jitter)
	if bad := l.bad.Load(); bad != 0 {
		b.Errorf("bare loop: %d datagrams failed (no stream, auth or replay)", bad)
	}
	return loadResult{
		cpu:    100 * float64(cpu1-cpu0) / float64(elapsed),
		loss:   100 * float64(lost) / float64(max(sent, 1)),
		jitter: jitter[len(jitter)*99/100],
		pps:    float64(sent) / elapsed.Seconds() / float64(2*calls),
	}
}

// TestBareLoop runs a few calls through the bare loop briefly: every
// stream's packets arrive, authenticated, on that stream. It keeps the
// benchmark's reference honest without timing anything.
func TestBareLoop(t *testing.T) {
	l := newBareLoop(t, codecs.PCMU, 5)
	l.run()
	testwait.For(t, 10*time.Second, "10 packets on every stream", func() bool {
		for _, st := range l.streams {
			if st.received.Load() < 10 {
				return false
			}
		}
		return true
	})
	l.close()
	for i, st := range l.streams {
		got, sent, expected := st.received.Load(), st.sent.Load(), st.expected.Load()
		if got > sent || expected > sent || got > expected {
			t.Errorf("stream %d: sent %d, received %d, expected %d", i, sent, got, expected)
		}
	}
	if bad := l.bad.Load(); bad != 0 {
		t.Errorf("%d datagrams failed", bad)
	}
}
