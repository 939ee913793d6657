package codecs

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"
)

// The seed corpora live in testdata/fuzz/<FuzzName>; run a fuzzer with
// go test ./codecs -run '^$' -fuzz FuzzG722Decode -fuzztime 30s.

// FuzzG722Decode decodes arbitrary payloads: never a panic, always two
// samples per octet, and the same samples whether the payload arrives in
// one packet or two. The same bytes, read as PCM, go through the encoder.
func FuzzG722Decode(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x00, 0xFF, 0x04, 0x20})
	f.Fuzz(func(t *testing.T, payload []byte) {
		whole := make([]int16, 2*len(payload))
		n, err := NewG722Decoder().Decode(whole, payload)
		if err != nil || n != 2*len(payload) {
			t.Fatalf("Decode = %d, %v", n, err)
		}
		split := make([]int16, 2*len(payload))
		dec := NewG722Decoder()
		half := len(payload) / 2
		_, _ = dec.Decode(split, payload[:half])
		_, _ = dec.Decode(split[2*half:], payload[half:])
		if !slices.Equal(whole, split) {
			t.Fatal("decoding in two packets differs from one")
		}

		pcm := make([]int16, len(payload)/2)
		for i := range pcm {
			pcm[i] = int16(payload[2*i]) | int16(payload[2*i+1])<<8
		}
		pcm = pcm[:len(pcm)&^1]
		out := make([]byte, len(pcm)/2)
		if m, err := NewG722Encoder().Encode(out, pcm); err != nil || m != len(pcm)/2 {
			t.Fatalf("Encode = %d, %v", m, err)
		}
	})
}

// FuzzWAVRead reads arbitrary files: never a panic, every refusal wraps
// one of the WAV sentinels, and whatever is accepted writes back and
// reads again unchanged.
func FuzzWAVRead(f *testing.F) {
	var seed bytes.Buffer
	_ = WriteWAV(&seed, []int16{0, 1, -1, 32767, -32768}, 8000)
	f.Add(seed.Bytes())
	f.Fuzz(func(t *testing.T, file []byte) {
		pcm, rate, err := ReadWAV(bytes.NewReader(file))
		if err != nil {
			if !errors.Is(err, ErrNotWAV) && !errors.Is(err, ErrWAVUnsupported) && !errors.Is(err, ErrWAVCorrupt) {
				t.Fatalf("error %v wraps no WAV sentinel", err)
			}
			return
		}
		if rate != 8000 && rate != 16000 {
			t.Fatalf("accepted rate %d", rate)
		}
		var out bytes.Buffer
		if err := WriteWAV(&out, pcm, rate); err != nil {
			t.Fatal(err)
		}
		again, rate2, err := ReadWAV(&out)
		if err != nil || rate2 != rate || !slices.Equal(again, pcm) {
			t.Fatalf("rewritten file reads back differently: %v", err)
		}
	})
}

// FuzzTelephoneEvent parses arbitrary payloads: short ones are refused,
// others marshal back to their first four bytes (less the reserved bit),
// and a receiver fed them never panics. The first bytes also drive the
// sender with arbitrary keys and durations.
func FuzzTelephoneEvent(f *testing.F) {
	f.Add([]byte{0x05, 0x8a, 0x03, 0x20})
	f.Fuzz(func(t *testing.T, payload []byte) {
		var ev DTMFEvent
		err := ev.Unmarshal(payload)
		if len(payload) < DTMFEventSize {
			if !errors.Is(err, ErrInvalidEvent) {
				t.Fatalf("short payload accepted: %v", err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := ev.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		want := slices.Clone(payload[:4])
		want[1] &^= 0x40
		if !bytes.Equal(b, want) {
			t.Fatalf("Marshal = % x, want % x", b, want)
		}

		var r DTMFReceiver
		ts := uint32(payload[2])<<24 | uint32(payload[3])
		if _, _, err := r.Receive(ts, payload); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := r.Receive(ts, payload); ok {
			t.Fatal("the same packet was reported twice")
		}

		s, err := NewDTMFSender(8000, time.Duration(payload[1]&0x3F+1)*time.Millisecond, payload[1]&0x3F)
		if err != nil {
			t.Fatal(err)
		}
		d := time.Duration(ev.Duration) * time.Millisecond / 8
		if err := s.Start(rune(payload[0]), ts, d); err != nil {
			return // not a key, or too long: refused is fine
		}
		ends := 0
		for i := 0; i < 70000; i++ {
			p, ok := s.Next()
			if !ok {
				break
			}
			if p.Event.End {
				ends++
			}
		}
		if ends != 3 || s.Active() {
			t.Fatalf("%d end packets, active %v", ends, s.Active())
		}
	})
}
