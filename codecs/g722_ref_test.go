package codecs

// This file keeps the G.722 codec as it was before it was tuned for speed
// (issue 23), renamed, as the reference that the tuned one must match
// bit for bit (TestG722MatchesReference) and the baseline its benchmark
// compares against. Do not change it.

import "fmt"

// G.722 (ITU-T G.722, 11/88) at 64 kbit/s: sub-band ADPCM. A quadrature
// mirror filter pair splits 16 kHz audio into a 0–4 kHz and a 4–8 kHz
// band, each decimated to 8 kHz; the lower band gets 6-bit ADPCM, the
// upper band 2-bit ADPCM, and each octet carries one sample pair as
// IH (2 bits, most significant) and IL (6 bits). The block names in the
// comments (QUANTL, LOGSCL, UPPOL2, ...) are those of the Recommendation's
// computational description, and the integer arithmetic follows it so that
// our octets interoperate with other implementations.

// QMF coefficients h0..h23 scaled by 2^13; the filter is symmetric
// (h[i] = h[23-i]), so even and odd halves are each other's reverse.
var (
	refQmfEven = [12]int{3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11} // h0, h2, ..., h22
	refQmfOdd  = [12]int{-11, 53, -156, 362, -805, 3876, 951, -210, 32, 12, -11, 3} // h1, h3, ..., h23
)

// Lower sub-band quantiser tables.
var (
	// refQ6 are the 6-bit quantiser decision levels in units of DETL/4096
	// for magnitude intervals 1..29; interval 30 is everything above.
	// Two unreachable levels pad the table to 32 for the binary search.
	refQ6 = [32]int{0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714,
		786, 858, 940, 1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919,
		1 << 20, 1 << 20}
	// refIlPos and refIlNeg map a magnitude interval (1..30) to the
	// transmitted 6-bit code for a positive and a negative difference.
	refIlPos = [31]int{0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47,
		46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32}
	refIlNeg = [31]int{0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19,
		18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4}
	// refQm6 are the 6-bit inverse quantiser outputs (DETL/32768 units),
	// used only for the decoder's output signal.
	refQm6 = [64]int{
		-136, -136, -136, -136, -24808, -21904, -19008, -16704,
		-14984, -13512, -12280, -11192, -10232, -9360, -8576, -7856,
		-7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576,
		-3168, -2776, -2400, -2032, -1688, -1360, -1040, -728,
		24808, 21904, 19008, 16704, 14984, 13512, 12280, 11192,
		10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456,
		4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032,
		1688, 1360, 1040, 728, 432, 136, -432, -136,
	}
	// refQm4 is the 4-bit inverse quantiser (the code's top four bits). The
	// predictor adapts on this coarser value so that the 56 and 48 kbit/s
	// modes, which drop low bits, stay in step with the encoder.
	refQm4 = [16]int{0, -20456, -12896, -8968, -6288, -4240, -2584, -1200,
		20456, 12896, 8968, 6288, 4240, 2584, 1200, 0}
	// refWl is the log scale factor step per 4-bit code magnitude, via refRl42.
	refWl   = [8]int{-60, -30, 58, 172, 334, 538, 1198, 3042}
	refRl42 = [16]int{0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0}
)

// Higher sub-band quantiser tables.
var (
	refIhPos = [3]int{0, 3, 2}
	refIhNeg = [3]int{0, 1, 0}
	refQm2   = [4]int{-7408, -1616, 7408, 1616}
	refWh    = [3]int{0, -214, 798}
	refRh2   = [4]int{2, 1, 2, 1}
)

// refIlb is 2^(i/32) scaled by 2048: the mantissa of the refAntilog that turns
// the log scale factor NB into the linear DET.
var refIlb = [32]int{2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599,
	2656, 2714, 2774, 2834, 2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520,
	3597, 3676, 3756, 3838, 3922, 4008}

const (
	refNbLowMax  = 18432 // LOGSCL upper limit
	refNbHighMax = 22528 // LOGSCH upper limit
	refDetLow0   = 32    // DETL after reset
	refDetHigh0  = 8     // DETH after reset
)

// refG722Band is the adaptive state of one sub-band: scale factor and the
// pole-zero predictor of block 4. Encoder and decoder run identical copies,
// which is why they must be fed the same codes from the same reset.
type refG722Band struct {
	s   int    // signal estimate SL/SH = pole + zero section
	sz  int    // zero-section output SZL/SZH
	nb  int    // log scale factor NBL/NBH
	det int    // linear scale factor DETL/DETH
	a1  int    // second-order pole coefficients
	a2  int    //
	b   [7]int // sixth-order zero coefficients b1..b6 (b[0] unused)
	d   [7]int // quantised differences d(n-1)..d(n-6) (d[0] unused)
	p1  int    // partially reconstructed signal p(n-1)
	p2  int    // p(n-2)
	r1  int    // reconstructed signal r(n-1)
	r2  int    // r(n-2)
}

func (b *refG722Band) reset(det int) {
	*b = refG722Band{det: det}
}

// refSat16 limits to the 16-bit two's-complement range, as the
// Recommendation's arithmetic does after additions.
func refSat16(v int) int {
	if v > 32767 {
		return 32767
	}
	if v < -32768 {
		return -32768
	}
	return v
}

func refClampInt(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// refQmfHistory holds the last 24 QMF inputs, newest last. Each sample is
// stored twice, 24 apart, so the window is always one contiguous slice
// and a new pair costs two stores instead of shifting 22 values.
type refQmfHistory struct {
	buf [48]int
	pos int // even, 0..22: where the next pair goes
}

// push adds a pair (a older, b newer) and returns the window, oldest
// first: w[23] is b, w[22] is a.
func (q *refQmfHistory) push(a, b int) *[24]int {
	p := q.pos
	q.buf[p], q.buf[p+24] = a, a
	q.buf[p+1], q.buf[p+25] = b, b
	p += 2
	if p == 24 {
		p = 0
	}
	q.pos = p
	return (*[24]int)(q.buf[p : p+24])
}

// refAntilog converts a log scale factor to the linear one (SCALEL/SCALEH);
// shift is 8 for the lower band and 10 for the upper.
func refAntilog(nb, shift int) int {
	m := refIlb[(nb>>6)&31]
	if e := shift - nb>>11; e < 0 {
		m <<= -e
	} else {
		m >>= e
	}
	return m << 2
}

// adaptLow is LOGSCL and SCALEL: the scale factor follows the 4-bit code.
func (b *refG722Band) adaptLow(ril int) {
	nb := b.nb*127>>7 + refWl[refRl42[ril]] // leak by 127/128, then step
	b.nb = refClampInt(nb, 0, refNbLowMax)
	b.det = refAntilog(b.nb, 8)
}

// adaptHigh is LOGSCH and SCALEH for the 2-bit code.
func (b *refG722Band) adaptHigh(ih int) {
	nb := b.nb*127>>7 + refWh[refRh2[ih]]
	b.nb = refClampInt(nb, 0, refNbHighMax)
	b.det = refAntilog(b.nb, 10)
}

// predict is block 4: update the pole and zero predictors with the new
// quantised difference dq by the sign-sign algorithm, then compute the
// next signal estimate.
func (b *refG722Band) predict(dq int) {
	r := refSat16(b.s + dq)  // RECONS: reconstructed signal
	p := refSat16(b.sz + dq) // PARREC: partially reconstructed signal
	pNeg, p1Neg, p2Neg := p < 0, b.p1 < 0, b.p2 < 0

	// UPPOL2: a2 += 2^-7 * (sgn p·p2 - f(a1)·sgn p·p1), leaking by 2^-7,
	// where f(a1) = 4·a1 limited to ±2; |a2| <= 0.75.
	f := refSat16(b.a1 * 4)
	if pNeg == p1Neg {
		f = -f
	}
	f = min(f, 32767) // negating -32768 must still fit 16 bits
	a2 := -128
	if pNeg == p2Neg {
		a2 = 128
	}
	a2 += f >> 7
	a2 += b.a2 * 32512 >> 15
	a2 = refClampInt(a2, -12288, 12288)

	// UPPOL1: a1 += 3·2^-8 · sgn p·p1, leaking by 2^-8, and
	// |a1| <= 1 - 2^-4 - a2 keeps the pole pair stable.
	a1 := -192
	if pNeg == p1Neg {
		a1 = 192
	}
	a1 = refSat16(a1 + b.a1*32640>>15)
	lim := 15360 - a2
	a1 = refClampInt(a1, -lim, lim)

	// UPZERO: b_i += 2^-7 · sgn dq·d(n-i), leaking by 2^-8; no step
	// when dq is zero.
	if dq == 0 {
		for i := 1; i <= 6; i++ {
			b.b[i] = b.b[i] * 32640 >> 15
		}
	} else {
		for i := 1; i <= 6; i++ {
			differ := (dq ^ b.d[i]) >> 63 // -1 when the signs differ, else 0
			step := (128 ^ differ) - differ
			b.b[i] = refSat16(step + b.b[i]*32640>>15)
		}
	}

	// DELAYZ and DELAYL.
	copy(b.d[2:], b.d[1:6])
	b.d[1] = dq
	b.r2, b.r1 = b.r1, r
	b.p2, b.p1 = b.p1, p
	b.a1, b.a2 = a1, a2

	// FILTEP, FILTEZ, PREDIC.
	sp := refSat16(b.a1*refSat16(b.r1+b.r1)>>15 + b.a2*refSat16(b.r2+b.r2)>>15)
	sz := 0
	for i := 1; i <= 6; i++ {
		sz += b.b[i] * refSat16(b.d[i]+b.d[i]) >> 15
	}
	b.sz = refSat16(sz)
	b.s = refSat16(sp + b.sz)
}

// refG722Encoder codes 16 kHz linear PCM as G.722 at 64 kbit/s, one octet
// per two samples. Its state carries from call to call, so a stream needs
// its own encoder and must feed it frames in order.
type refG722Encoder struct {
	x    refQmfHistory // QMF input history
	low  refG722Band
	high refG722Band
}

// newRefG722Encoder returns an encoder in the reset state.
func newRefG722Encoder() *refG722Encoder {
	e := &refG722Encoder{}
	e.Reset()
	return e
}

// Reset returns the encoder to its initial state, as at the start of a
// stream (for example after an SSRC change).
func (e *refG722Encoder) Reset() {
	e.x = refQmfHistory{}
	e.low.reset(refDetLow0)
	e.high.reset(refDetHigh0)
}

// Encode codes pcm, which must hold an even number of samples, into dst
// (len(pcm)/2 bytes) and returns the number of bytes written.
func (e *refG722Encoder) Encode(dst []byte, pcm []int16) (int, error) {
	if len(pcm)%2 != 0 {
		return 0, fmt.Errorf("G.722 encode: %d samples, G.722 needs pairs: %w", len(pcm), ErrFrameSize)
	}
	n := len(pcm) / 2
	if len(dst) < n {
		return 0, shortBuffer("G.722 encode", len(dst), n)
	}
	for i := 0; i < n; i++ {
		dst[i] = e.encodePair(pcm[2*i], pcm[2*i+1])
	}
	return n, nil
}

func (e *refG722Encoder) encodePair(s0, s1 int16) byte {
	// Transmit QMF: xA = sum h(2i)·x(j-2i), xB = sum h(2i+1)·x(j-2i-1),
	// with x(j) = s1 the newest sample.
	x := e.x.push(int(s0), int(s1))
	xa, xb := 0, 0
	for i := 0; i < 12; i++ {
		xa += refQmfEven[i] * x[23-2*i]
		xb += refQmfOdd[i] * x[22-2*i]
	}
	xl := (xa + xb) >> 14
	xh := (xa - xb) >> 14

	il := e.low.quantizeLow(xl)
	ih := e.high.quantizeHigh(xh)
	return byte(ih<<6 | il)
}

// quantizeLow is the lower sub-band encoder: SUBTRA, QUANTL, INVQAL and
// the adaptation. It returns the 6-bit code IL.
func (b *refG722Band) quantizeLow(xl int) int {
	el := refSat16(xl - b.s)
	mag := el
	if el < 0 {
		mag = -(el + 1)
	}
	// Find the interval: the largest i with mag >= refQ6[i]·DETL, plus one.
	// The levels grow with i, so a five-step binary search does it; the
	// step is taken by masking rather than branching because which way
	// each step goes is unpredictable, and mispredictions dominated.
	i := 0
	for step := 16; step > 0; step >>= 1 {
		j := i + step
		take := (refQ6[j&31]*b.det>>12 - mag - 1) >> 63 // all ones when mag >= level
		i += step & take
	}
	lo := i + 1
	il := refIlPos[lo]
	if el < 0 {
		il = refIlNeg[lo]
	}
	ril := il >> 2
	dq := b.det * refQm4[ril] >> 15
	b.adaptLow(ril)
	b.predict(dq)
	return il
}

// quantizeHigh is the upper sub-band encoder: SUBTRA, QUANTH, INVQAH and
// the adaptation. It returns the 2-bit code IH.
func (b *refG722Band) quantizeHigh(xh int) int {
	eh := refSat16(xh - b.s)
	mag := eh
	if eh < 0 {
		mag = -(eh + 1)
	}
	mih := 1
	if mag >= 564*b.det>>12 {
		mih = 2
	}
	ih := refIhPos[mih]
	if eh < 0 {
		ih = refIhNeg[mih]
	}
	dq := b.det * refQm2[ih] >> 15
	b.adaptHigh(ih)
	b.predict(dq)
	return ih
}

// refG722Decoder turns 64 kbit/s G.722 octets back into 16 kHz linear PCM.
// Every octet value is valid, so any payload decodes without error; a
// stream needs its own decoder.
type refG722Decoder struct {
	x    refQmfHistory // QMF history: xs = rl+rh at even, xd = rl-rh at odd positions
	low  refG722Band
	high refG722Band
}

// newRefG722Decoder returns a decoder in the reset state.
func newRefG722Decoder() *refG722Decoder {
	d := &refG722Decoder{}
	d.Reset()
	return d
}

// Reset returns the decoder to its initial state.
func (d *refG722Decoder) Reset() {
	d.x = refQmfHistory{}
	d.low.reset(refDetLow0)
	d.high.reset(refDetHigh0)
}

// Decode expands payload into dst (two samples per octet) and returns the
// number of samples written.
func (d *refG722Decoder) Decode(dst []int16, payload []byte) (int, error) {
	n := 2 * len(payload)
	if len(dst) < n {
		return 0, shortBuffer("G.722 decode", len(dst), n)
	}
	for i, c := range payload {
		dst[2*i], dst[2*i+1] = d.decodeOctet(c)
	}
	return n, nil
}

func (d *refG722Decoder) decodeOctet(c byte) (int16, int16) {
	il, ih := int(c&0x3F), int(c>>6)

	// Lower band: INVQBL with the full 6 bits for the output (RECONS,
	// LIMIT), but the predictor adapts on the 4-bit value like the encoder.
	lo := &d.low
	rl := refClampInt(lo.s+lo.det*refQm6[il]>>15, -16384, 16383)
	ril := il >> 2
	dql := lo.det * refQm4[ril] >> 15
	lo.adaptLow(ril)
	lo.predict(dql)

	// Upper band: INVQAH, RECONS, LIMIT.
	hi := &d.high
	dqh := hi.det * refQm2[ih] >> 15
	rh := refClampInt(hi.s+dqh, -16384, 16383)
	hi.adaptHigh(ih)
	hi.predict(dqh)

	// Receive QMF: out(j) = 2·sum h(2i)·xd(n-i), out(j+1) = 2·sum
	// h(2i+1)·xs(n-i), scaled back to 16 bits.
	x := d.x.push(rl+rh, rl-rh)
	o0, o1 := 0, 0
	for i := 0; i < 12; i++ {
		o0 += refQmfEven[i] * x[23-2*i]
		o1 += refQmfOdd[i] * x[22-2*i]
	}
	return int16(refSat16(o0 >> 11)), int16(refSat16(o1 >> 11))
}
