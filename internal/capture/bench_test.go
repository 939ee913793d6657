package capture

import (
	"io"
	"net/netip"
	"sync/atomic"
	"testing"
)

// BenchmarkRTP is the cost of capturing one RTP packet (a 20 ms PCMU
// frame) from many goroutines at once, as a fleet's engines do: a
// thousand calls are 100,000 packets a second.
func BenchmarkRTP(b *testing.B) {
	w, err := New(io.Discard, "bench.pcapng")
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	var next atomic.Uint32
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		src := netip.AddrPortFrom(aliceRTP.Addr(), uint16(20000+2*next.Add(1)))
		pkt := rtpPacket(0, 1)
		var seq uint16
		for pb.Next() {
			seq++
			pkt[2], pkt[3] = byte(seq>>8), byte(seq)
			w.RTP(src, bobRTP, pkt)
		}
	})
}
