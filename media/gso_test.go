package media

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
)

// TestSegmentedFlush: a batch of datagrams to two addresses, of two
// sizes, leaves in segmented sends and arrives as the same datagrams, in
// order for each address; a batchConn that refuses segmented sends turns
// segmenting off, and what was left still arrives.
func TestSegmentedFlush(t *testing.T) {
	for _, refuse := range []bool{false, true} {
		name := "kernel"
		if refuse {
			name = "refused"
		}
		t.Run(name, func(t *testing.T) {
			from := udp(t)
			a, b := udp(t), udp(t)
			l := &link{conn: from, bc: ipv4.NewPacketConn(from)}
			if refuse {
				l.bc = refuseSegments{l.bc}
			}
			w := newWriter(l)
			var wantA, wantB [][]byte
			for i := range 20 {
				size := 182
				if i%7 == 6 {
					size = 61 // an RTCP report among the RTP
				}
				pkt := bytes.Repeat([]byte{byte(i)}, size)
				dst, want := a, &wantA
				if i%3 == 2 {
					dst, want = b, &wantB
				}
				*want = append(*want, pkt)
				if err := w.send(l, pkt, dst.LocalAddr().(*net.UDPAddr).AddrPort(), false); err != nil {
					t.Fatal(err)
				}
			}
			w.flush()
			if w.n != 0 {
				t.Fatalf("%d datagrams left in the batch", w.n)
			}
			if gsoSupported && w.gso == refuse {
				t.Errorf("segmenting on = %v after the flush, want %v", w.gso, !refuse)
			}
			for _, c := range []struct {
				conn *net.UDPConn
				want [][]byte
			}{{a, wantA}, {b, wantB}} {
				for i, want := range c.want {
					got := make([]byte, 2048)
					_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
					n, err := c.conn.Read(got)
					if err != nil {
						t.Fatalf("datagram %d of %d: %v", i, len(c.want), err)
					}
					if !bytes.Equal(got[:n], want) {
						t.Fatalf("datagram %d: %d bytes of %d, want %d of %d", i, n, got[0], len(want), want[0])
					}
				}
			}
		})
	}
}

func udp(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// refuseSegments is a kernel without UDP_SEGMENT: a message with a
// control message fails, as sendmmsg does there (EINVAL/EIO).
type refuseSegments struct{ batchConn }

func (r refuseSegments) WriteBatch(ms []ipv4.Message, flags int) (int, error) {
	for i, m := range ms {
		if len(m.OOB) > 0 {
			if i > 0 {
				return r.batchConn.WriteBatch(ms[:i], flags)
			}
			return 0, net.UnknownNetworkError("no UDP_SEGMENT")
		}
	}
	return r.batchConn.WriteBatch(ms, flags)
}
