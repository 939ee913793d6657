package codecs_test

import (
	"fmt"
	"time"

	"github.com/deskphone/deskphone/codecs"
)

// A 20 ms PCMU packet: 160 samples become 160 bytes and back. Decoding
// returns the centre of each code's quantisation interval.
func ExampleEncodePCMU() {
	pcm := []int16{0, 1000, -1000, 32767, -32768}
	payload := make([]byte, len(pcm)) // reuse per stream: no allocations
	n, err := codecs.EncodePCMU(payload, pcm)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("% x\n", payload[:n])

	out := make([]int16, n)
	m, _ := codecs.DecodePCMU(out, payload[:n])
	fmt.Println(out[:m])
	// Output:
	// ff ce 4e 80 00
	// [0 988 -988 32124 -32124]
}

// Keys dialled in-band, 50 ms on and 50 ms off, through a µ-law call,
// are reported once each.
func ExampleDTMFDetector() {
	var pcm []int16
	for _, key := range "*123#" {
		tone, _ := codecs.DTMFTone(key, -10, 50*time.Millisecond, 8000)
		pcm = append(pcm, tone...)
		pcm = append(pcm, make([]int16, 400)...) // 50 ms of silence
	}
	payload := make([]byte, len(pcm))
	n, _ := codecs.EncodePCMU(payload, pcm)
	_, _ = codecs.DecodePCMU(pcm, payload[:n])

	det, err := codecs.NewDTMFDetector(8000)
	if err != nil {
		fmt.Println(err)
		return
	}
	var keys []rune
	for off := 0; off < len(pcm); off += 160 { // one 20 ms frame at a time
		keys = det.Detect(keys, pcm[off:min(off+160, len(pcm))])
	}
	fmt.Println(string(keys))
	// Output:
	// *123#
}

// The Skype for Business policy order, reduced to what can be offered.
func ExampleParseOrder() {
	order, skipped := codecs.ParseOrder("G722_8000;PCMU;PCMA;G729")
	for _, c := range order {
		fmt.Printf("%d %s, %d samples per 20 ms\n", c.PayloadType, c.RTPMap(), c.FrameSamples(20*time.Millisecond))
	}
	fmt.Println("skipped:", skipped)
	// Output:
	// 9 G722/8000, 320 samples per 20 ms
	// 0 PCMU/8000, 160 samples per 20 ms
	// 8 PCMA/8000, 160 samples per 20 ms
	// skipped: [G729]
}

// RFC 4733 packets for the key 5 held 60 ms, sent every 20 ms.
func ExampleDTMFSender() {
	s, err := codecs.NewDTMFSender(8000, 20*time.Millisecond, 10)
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = s.Start('5', 48000, 60*time.Millisecond)
	buf := make([]byte, codecs.DTMFEventSize)
	for {
		p, ok := s.Next()
		if !ok {
			break
		}
		n, _ := p.Event.MarshalTo(buf)
		fmt.Printf("ts=%d marker=%v payload=% x\n", p.Timestamp, p.Marker, buf[:n])
	}
	// Output:
	// ts=48000 marker=true payload=05 0a 00 a0
	// ts=48000 marker=false payload=05 0a 01 40
	// ts=48000 marker=false payload=05 8a 01 e0
	// ts=48000 marker=false payload=05 8a 01 e0
	// ts=48000 marker=false payload=05 8a 01 e0
}
