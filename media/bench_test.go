package media

import (
	"math"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/deskphone/deskphone/codecs"
	"github.com/deskphone/deskphone/media/sdp"
)

// BenchmarkSRTPProtect is pion/srtp v3 protecting one 20 ms G.711 packet
// the way the sender does (into a reused buffer), for each suite. It must
// show 0 allocs/op (TestSRTPNoAllocations holds that).
func BenchmarkSRTPProtect(b *testing.B) {
	for _, suite := range sdp.Suites() {
		b.Run(suite, func(b *testing.B) {
			k := benchKey(b, suite)
			ctx, err := k.sendContext()
			if err != nil {
				b.Fatal(err)
			}
			pkt := make([]byte, rtpHeaderLen+160)
			out := make([]byte, 0, maxPacket)
			var hdr rtp.Header
			b.SetBytes(int64(len(pkt)))
			b.ReportAllocs()
			for i := range b.N {
				putHeader(pkt, false, 0, uint16(i), uint32(i)*160, 0x12345678)
				if _, err := ctx.EncryptRTP(out[:0], pkt, &hdr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSRTPUnprotect is the receiving side: verify, replay check and
// decrypt, as the reader does, for each suite.
func BenchmarkSRTPUnprotect(b *testing.B) {
	const batch = 4096
	for _, suite := range sdp.Suites() {
		b.Run(suite, func(b *testing.B) {
			k := benchKey(b, suite)
			enc, err := k.sendContext()
			if err != nil {
				b.Fatal(err)
			}
			dec, err := k.recvContext()
			if err != nil {
				b.Fatal(err)
			}
			packets := make([][]byte, batch)
			plain := make([]byte, rtpHeaderLen+160)
			var hdr rtp.Header
			seq := 0
			fill := func() {
				for i := range packets {
					putHeader(plain, false, 0, uint16(seq), uint32(seq)*160, 0x12345678)
					seq++
					out, err := enc.EncryptRTP(packets[i][:0], plain, &hdr)
					if err != nil {
						b.Fatal(err)
					}
					packets[i] = out
				}
			}
			fill()
			out := make([]byte, 0, maxPacket)
			b.SetBytes(int64(len(plain)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if i > 0 && i%batch == 0 {
					b.StopTimer()
					fill()
					b.StartTimer()
				}
				if _, replayed, err := dec.decryptRTP(out[:0], packets[i%batch], &hdr); err != nil || replayed {
					b.Fatal(err, replayed)
				}
			}
		})
	}
}

func benchKey(b *testing.B, suite string) *keyMaterial {
	b.Helper()
	c, err := sdp.NewCrypto(1, suite, false)
	if err != nil {
		b.Fatal(err)
	}
	k, err := newKeyMaterial(c)
	if err != nil {
		b.Fatal(err)
	}
	return k
}

// BenchmarkPacketPath is one packet through both sessions of a call:
// read the source, encode, packetise, protect, sendto; recvfrom, check,
// unprotect, reorder, decode, tone and DTMF detection. Plain RTP shows
// what this package costs (and that it allocates nothing); the SRTP
// cases add pion's protect and unprotect, which allocate nothing either.
func BenchmarkPacketPath(b *testing.B) {
	for _, suite := range append([]string{""}, sdp.DefaultSuite, "AEAD_AES_128_GCM") {
		name, mode := suite, Mandatory
		if suite == "" {
			name, mode = "plain", Off
		}
		b.Run(name, func(b *testing.B) {
			r := newRig(b, mode, suite)
			for range 100 {
				r.relay()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				r.relay()
			}
			b.StopTimer()
			if st := r.b.Stats(); st.BadPackets+st.SRTPAuthFailed+st.SRTPReplayed != 0 || st.ToneHz != 1000 {
				b.Fatalf("the path lost its audio: %+v", st)
			}
		})
	}
}

// BenchmarkG722Listen is what a G.722 call's receive side spends on its
// audio per 20 ms packet when only the detectors listen: the full decoder
// and detection at 16 kHz (as with a recording), against the lower band
// alone at 8 kHz (play's narrow path). Run in one process, the ratio
// holds on a busy machine.
func BenchmarkG722Listen(b *testing.B) {
	pcm, err := codecs.Tone(1000, -10, time.Second, 16000)
	if err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, len(pcm)/2)
	if _, err := codecs.NewG722Encoder().Encode(payload, pcm); err != nil {
		b.Fatal(err)
	}
	for _, narrow := range []bool{false, true} {
		name, rate := "full", 16000
		if narrow {
			name, rate = "narrow", 8000
		}
		b.Run(name, func(b *testing.B) {
			dec := codecs.NewG722Decoder()
			var d detector
			if err := d.reset(rate); err != nil {
				b.Fatal(err)
			}
			out := make([]int16, 320)
			off, heard := 0, 0.0
			for b.Loop() {
				pkt := payload[off : off+160]
				if off += 160; off == len(payload) {
					off = 0
				}
				var n int
				if narrow {
					n, err = dec.DecodeLow(out, pkt)
				} else {
					n, err = dec.Decode(out, pkt)
				}
				if err != nil {
					b.Fatal(err)
				}
				if hz, _, _, ok := d.tone(out[:n]); ok {
					heard = hz
				}
			}
			if b.N > 100 && math.Abs(heard-1000) > 2 {
				b.Fatalf("heard %v Hz", heard)
			}
		})
	}
}
