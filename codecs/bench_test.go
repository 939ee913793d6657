package codecs

import (
	"testing"
	"time"
)

// Each benchmark codes one 20 ms frame, the unit a media loop handles per
// call and per packet; b.SetBytes makes the figure comparable across
// codecs as PCM bytes per second.

func benchCodec(b *testing.B, c Codec) {
	pcm := mustTone(b, 1000, -10, 20*time.Millisecond, c.SampleRate)
	enc, err := c.NewEncoder()
	if err != nil {
		b.Fatal(err)
	}
	dec, err := c.NewDecoder()
	if err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, c.PayloadSize(20*time.Millisecond))
	out := make([]int16, len(pcm))
	b.Run("encode", func(b *testing.B) {
		b.SetBytes(int64(2 * len(pcm)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := enc.Encode(payload, pcm); err != nil {
				b.Fatal(err)
			}
		}
	})
	n, _ := enc.Encode(payload, pcm)
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(2 * len(pcm)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := dec.Decode(out, payload[:n]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkPCMU(b *testing.B) { benchCodec(b, PCMU) }
func BenchmarkPCMA(b *testing.B) { benchCodec(b, PCMA) }
func BenchmarkG722(b *testing.B) { benchCodec(b, G722) }

// BenchmarkGoertzel measures one 205-sample block (the classic DTMF
// block at 8 kHz) for one frequency.
func BenchmarkGoertzel(b *testing.B) {
	pcm := mustTone(b, 697, -10, 205*time.Second/8000, 8000)
	g, err := NewGoertzel(697, 8000, len(pcm))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		g.Reset()
		g.Add(pcm)
		_ = g.Power()
	}
}

// BenchmarkDTMFDetector measures a 20 ms frame through all eight
// Goertzel filters and the debounce.
func BenchmarkDTMFDetector(b *testing.B) {
	pcm, _ := DTMFTone('5', -10, time.Second, 8000)
	d, err := NewDTMFDetector(8000)
	if err != nil {
		b.Fatal(err)
	}
	keys := make([]rune, 0, 4)
	b.SetBytes(320)
	b.ReportAllocs()
	off := 0
	for b.Loop() {
		keys = d.Detect(keys[:0], pcm[off:off+160])
		off = (off + 160) % (len(pcm) - 160)
	}
}

// BenchmarkResample measures a 20 ms frame up to 16 kHz and back.
func BenchmarkResample(b *testing.B) {
	in := mustTone(b, 1000, -10, 20*time.Millisecond, 8000)
	up, _ := NewResampler(8000, 16000)
	down, _ := NewResampler(16000, 8000)
	mid := make([]int16, 2*len(in))
	out := make([]int16, len(in))
	b.ReportAllocs()
	for b.Loop() {
		_, _ = up.Process(mid, in)
		_, _ = down.Process(out, mid)
	}
}
