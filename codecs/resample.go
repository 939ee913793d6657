package codecs

import "fmt"

// Resampler converts a stream between 8000 and 16000 Hz, so a narrowband
// prompt can play into a G.722 call and a wideband capture into a G.711
// one. It is deliberately simple: linear interpolation up, and a 3-tap
// [1 2 1]/4 low-pass before decimating down, which is the transpose of
// linear interpolation (a null at 8 kHz, -6 dB at 4 kHz). That is ample
// for prompts and test tones; it is not a hi-fi converter. State carries
// across calls, so frames join seamlessly; use one Resampler per stream.
type Resampler struct {
	up      bool
	down    bool
	prev    int   // last input sample (up) or last odd-phase sample (down)
	pending int16 // an odd sample left over when downsampling
	hasPend bool
}

// NewResampler returns a converter from one rate to the other; both must
// be 8000 or 16000 (equal rates copy).
func NewResampler(from, to int) (*Resampler, error) {
	if !wavRateSupported(from) || !wavRateSupported(to) {
		return nil, fmt.Errorf("resample %d Hz to %d Hz, only 8000 and 16000: %w", from, to, ErrInvalidArgument)
	}
	return &Resampler{up: to > from, down: to < from}, nil
}

// OutLen is how many samples Process will write for n input samples.
func (r *Resampler) OutLen(n int) int {
	switch {
	case r.up:
		return 2 * n
	case r.down:
		if r.hasPend {
			n++
		}
		return n / 2
	}
	return n
}

// Process converts src into dst and returns the number of samples
// written, which is OutLen(len(src)); dst must have room for them.
func (r *Resampler) Process(dst, src []int16) (int, error) {
	need := r.OutLen(len(src))
	if len(dst) < need {
		return 0, shortBuffer("resample", len(dst), need)
	}
	switch {
	case r.up:
		// Each input sample yields the midpoint from its predecessor,
		// then itself: linear interpolation, half an input sample late.
		for i, s := range src {
			v := int(s)
			dst[2*i] = int16((r.prev + v) >> 1)
			dst[2*i+1] = s
			r.prev = v
		}
	case r.down:
		n := 0
		for _, s := range src {
			if !r.hasPend {
				r.pending, r.hasPend = s, true
				continue
			}
			// Output centred on the even sample: (x[2i-1] + 2x[2i] + x[2i+1]) / 4.
			even, odd := int(r.pending), int(s)
			dst[n] = int16((r.prev + 2*even + odd + 2) >> 2)
			r.prev, r.hasPend = odd, false
			n++
		}
	default:
		copy(dst, src)
	}
	return need, nil
}

// Reset clears the carried state, for a new stream.
func (r *Resampler) Reset() {
	r.prev, r.pending, r.hasPend = 0, 0, false
}
