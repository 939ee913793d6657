package codecs

import (
	"errors"
	"testing"
)

// Known values from ITU-T G.711 Tables 2a/2b (µ-law) and 1a/1b (A-law):
// the code of a sample and the centre value its code decodes to.
func TestG711KnownValues(t *testing.T) {
	tests := []struct {
		name  string
		in    int16
		ucode byte
		uout  int16
		acode byte
		aout  int16
	}{
		{"zero", 0, 0xFF, 0, 0xD5, 8},
		{"minus one", -1, 0x7F, 0, 0x55, -8},
		{"small", 8, 0xFE, 8, 0xD5, 8},
		{"1000", 1000, 0xCE, 988, 0xFA, 1008},
		{"-1000", -1000, 0x4E, -988, 0x7A, -1008},
		{"4096", 4096, 0xAF, 4092, 0x85, 4224},
		{"max", 32767, 0x80, 32124, 0xAA, 32256},
		{"min", -32768, 0x00, -32124, 0x2A, -32256},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := LinearToMulaw(tc.in); got != tc.ucode {
				t.Errorf("LinearToMulaw(%d) = %#02x, want %#02x", tc.in, got, tc.ucode)
			}
			if got := MulawToLinear(tc.ucode); got != tc.uout {
				t.Errorf("MulawToLinear(%#02x) = %d, want %d", tc.ucode, got, tc.uout)
			}
			if got := LinearToAlaw(tc.in); got != tc.acode {
				t.Errorf("LinearToAlaw(%d) = %#02x, want %#02x", tc.in, got, tc.acode)
			}
			if got := AlawToLinear(tc.acode); got != tc.aout {
				t.Errorf("AlawToLinear(%#02x) = %d, want %d", tc.acode, got, tc.aout)
			}
		})
	}
}

// Every code decodes to a value that encodes back to the same code, except
// µ-law's negative zero (0x7F), which decodes to 0 and so comes back as
// positive zero (0xFF). A-law has no zero code and no exception.
func TestG711CodeRoundTrip(t *testing.T) {
	laws := []struct {
		name   string
		enc    func(int16) byte
		dec    func(byte) int16
		except map[byte]byte
	}{
		{"mu-law", LinearToMulaw, MulawToLinear, map[byte]byte{0x7F: 0xFF}},
		{"A-law", LinearToAlaw, AlawToLinear, nil},
	}
	for _, law := range laws {
		t.Run(law.name, func(t *testing.T) {
			for c := 0; c < 256; c++ {
				code := byte(c)
				want := code
				if w, ok := law.except[code]; ok {
					want = w
				}
				if got := law.enc(law.dec(code)); got != want {
					t.Errorf("code %#02x decodes to %d, which encodes to %#02x", code, law.dec(code), got)
				}
			}
		})
	}
}

// Companding is monotonic, and the error stays within half a quantisation
// step of the segment (plus clipping at the ends of the range).
func TestG711MonotonicAndBounded(t *testing.T) {
	laws := []struct {
		name string
		enc  func(int16) byte
		dec  func(byte) int16
		clip int // the largest decoded magnitude
	}{
		{"mu-law", LinearToMulaw, MulawToLinear, 32124},
		{"A-law", LinearToAlaw, AlawToLinear, 32256},
	}
	for _, law := range laws {
		t.Run(law.name, func(t *testing.T) {
			prev := -1 << 20
			for v := -32768; v <= 32767; v++ {
				out := int(law.dec(law.enc(int16(v))))
				if out < prev {
					t.Fatalf("not monotonic at %d: %d after %d", v, out, prev)
				}
				prev = out
				mag := max(v, -v)
				if mag > law.clip {
					continue
				}
				// Step 2^(seg+1) in µ-law's 14-bit domain scaled to 16 bits
				// is at most mag/16 + 8 for both laws; half a step plus the
				// one's-complement offset bounds the error.
				if bound := mag/32 + 16; abs(out-v) > bound {
					t.Fatalf("%d codes to %d, error %d above %d", v, out, abs(out-v), bound)
				}
			}
		})
	}
}

func abs(v int) int { return max(v, -v) }

func TestG711Buffers(t *testing.T) {
	pcm := []int16{0, 100, -100, 32767}
	for _, tc := range []struct {
		name string
		enc  func([]byte, []int16) (int, error)
		dec  func([]int16, []byte) (int, error)
	}{
		{"PCMU", EncodePCMU, DecodePCMU},
		{"PCMA", EncodePCMA, DecodePCMA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.enc(make([]byte, 3), pcm); !errors.Is(err, ErrShortBuffer) {
				t.Errorf("encode into short buffer: %v", err)
			}
			buf := make([]byte, 8)
			n, err := tc.enc(buf, pcm)
			if err != nil || n != 4 {
				t.Fatalf("encode = %d, %v", n, err)
			}
			if _, err := tc.dec(make([]int16, 3), buf[:n]); !errors.Is(err, ErrShortBuffer) {
				t.Errorf("decode into short buffer: %v", err)
			}
			out := make([]int16, 8)
			if m, err := tc.dec(out, buf[:n]); err != nil || m != 4 {
				t.Fatalf("decode = %d, %v", m, err)
			}
			if n, err := tc.enc(nil, nil); n != 0 || err != nil {
				t.Errorf("empty encode = %d, %v", n, err)
			}
		})
	}
}

func TestG711ZeroAllocs(t *testing.T) {
	pcm := make([]int16, 160)
	payload := make([]byte, 160)
	for _, c := range []Codec{PCMU, PCMA} {
		enc, _ := c.NewEncoder()
		dec, _ := c.NewDecoder()
		allocs := testing.AllocsPerRun(100, func() {
			n, _ := enc.Encode(payload, pcm)
			_, _ = dec.Decode(pcm, payload[:n])
		})
		if allocs != 0 {
			t.Errorf("%s encode+decode: %v allocs per frame", c.Name, allocs)
		}
	}
}
