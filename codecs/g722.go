package codecs

import "fmt"

// G.722 (ITU-T G.722, 11/88) at 64 kbit/s: sub-band ADPCM. A quadrature
// mirror filter pair splits 16 kHz audio into a 0–4 kHz and a 4–8 kHz
// band, each decimated to 8 kHz; the lower band gets 6-bit ADPCM, the
// upper band 2-bit ADPCM, and each octet carries one sample pair as
// IH (2 bits, most significant) and IL (6 bits). The block names in the
// comments (QUANTL, LOGSCL, UPPOL2, ...) are those of the Recommendation's
// computational description, and the integer arithmetic follows it so that
// our octets interoperate with other implementations.

// The QMF coefficients h0..h23, scaled by 2^13, are written out in
// qmfEvenSum (h0, h2, ..., h22: 3, -11, 12, 32, -210, 951, 3876, -805,
// 362, -156, 53, -11) and qmfOddSum (h1, h3, ..., h23, the same in
// reverse: the filter is symmetric, h[i] = h[23-i]).

// Lower sub-band quantiser tables.
var (
	// q6 are the 6-bit quantiser decision levels in units of DETL/4096
	// for magnitude intervals 1..29; interval 30 is everything above.
	// Two unreachable levels pad the table to 32 for the binary search.
	q6 = [32]int{0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714,
		786, 858, 940, 1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919,
		1 << 20, 1 << 20}
	// ilPos and ilNeg map a magnitude interval (1..30) to the
	// transmitted 6-bit code for a positive and a negative difference.
	ilPos = [31]int{0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47,
		46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32}
	ilNeg = [31]int{0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19,
		18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4}
	// qm6 are the 6-bit inverse quantiser outputs (DETL/32768 units),
	// used only for the decoder's output signal.
	qm6 = [64]int{
		-136, -136, -136, -136, -24808, -21904, -19008, -16704,
		-14984, -13512, -12280, -11192, -10232, -9360, -8576, -7856,
		-7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576,
		-3168, -2776, -2400, -2032, -1688, -1360, -1040, -728,
		24808, 21904, 19008, 16704, 14984, 13512, 12280, 11192,
		10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456,
		4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032,
		1688, 1360, 1040, 728, 432, 136, -432, -136,
	}
	// qm4 is the 4-bit inverse quantiser (the code's top four bits). The
	// predictor adapts on this coarser value so that the 56 and 48 kbit/s
	// modes, which drop low bits, stay in step with the encoder.
	qm4 = [16]int{0, -20456, -12896, -8968, -6288, -4240, -2584, -1200,
		20456, 12896, 8968, 6288, 4240, 2584, 1200, 0}
	// wl4 is the log scale factor step per 4-bit code: the
	// Recommendation's WL table indexed through RL42 (the code's
	// magnitude), folded into one lookup.
	wl4 = [16]int{-60, 3042, 1198, 538, 334, 172, 58, -30, 3042, 1198, 538, 334, 172, 58, -30, -60}
)

// Higher sub-band quantiser tables.
var (
	ihPos = [3]int{0, 3, 2}
	ihNeg = [3]int{0, 1, 0}
	qm2   = [4]int{-7408, -1616, 7408, 1616}
	// wh2 is the upper band's log scale factor step per 2-bit code (WH
	// through RH2).
	wh2 = [4]int{798, -214, 798, -214}
)

// ilb is 2^(i/32) scaled by 2048: the mantissa of the antilog that turns
// the log scale factor NB into the linear DET.
var ilb = [32]int{2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599,
	2656, 2714, 2774, 2834, 2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520,
	3597, 3676, 3756, 3838, 3922, 4008}

const (
	nbLowMax  = 18432 // LOGSCL upper limit
	nbHighMax = 22528 // LOGSCH upper limit
	detLow0   = 32    // DETL after reset
	detHigh0  = 8     // DETH after reset
)

// g722Band is the adaptive state of one sub-band: scale factor and the
// pole-zero predictor of block 4. Encoder and decoder run identical copies,
// which is why they must be fed the same codes from the same reset.
//
// The code is tuned for speed (issue 23: at a thousand calls the decoder
// was the dearest part of a packet): the delay lines are named fields, not
// arrays, so no index is checked and nothing is copied; they hold the
// doubled values that the predictor filters multiply (the sign, all the
// adaptation needs of them, is the same), so each is computed once rather
// than six times; signs select steps by arithmetic, not branches; and
// saturations that provably never bite are left out (each says why).
// g722_ref_test.go keeps the plain version, which the output must match
// bit for bit.
type g722Band struct {
	s   int // signal estimate SL/SH = pole + zero section
	sz  int // zero-section output SZL/SZH
	nb  int // log scale factor NBL/NBH
	det int // linear scale factor DETL/DETH
	a1  int // second-order pole coefficients
	a2  int //
	// Sixth-order zero coefficients b1..b6.
	b1, b2, b3, b4, b5, b6 int
	// Quantised differences d(n-1)..d(n-6), each as 2·d.
	d1, d2, d3, d4, d5, d6 int
	p1                     int // partially reconstructed signal p(n-1)
	p2                     int // p(n-2)
	r1                     int // reconstructed signal r(n-1), as sat16(2·r)
	r2                     int // r(n-2), as sat16(2·r)
}

func (b *g722Band) reset(det int) {
	*b = g722Band{det: det}
}

// sat16 limits to the 16-bit two's-complement range, as the
// Recommendation's arithmetic does after additions. min and max compile
// to conditional moves: no branch to mispredict.
func sat16(v int) int {
	return min(max(v, -32768), 32767)
}

func clampInt(v, lo, hi int) int {
	return min(max(v, lo), hi)
}

// qmfHistory holds the last 24 QMF inputs, newest last. Each sample is
// stored twice, 24 apart, so the window is always one contiguous slice
// and a new pair costs two stores instead of shifting 22 values.
type qmfHistory struct {
	buf [48]int
	pos int // even, 0..22: where the next pair goes
}

// push adds a pair (a older, b newer) and returns the window, oldest
// first: w[23] is b, w[22] is a.
func (q *qmfHistory) push(a, b int) *[24]int {
	p := q.pos
	if p > 22 { // never: keeps the compiler's bounds checks out
		p = 0
	}
	q.buf[p], q.buf[p+24] = a, a
	q.buf[p+1], q.buf[p+25] = b, b
	p += 2
	if p == 24 {
		p = 0
	}
	q.pos = p
	return (*[24]int)(q.buf[p : p+24])
}

// qmfEvenSum and qmfOddSum are the QMF's two 12-tap halves over a window,
// written out so the coefficients are immediates: sum h(2i)·x[23-2i] and
// sum h(2i+1)·x[22-2i] (the coefficients of qmfEven and qmfOdd).
func qmfEvenSum(x *[24]int) int {
	return 3*x[23] - 11*x[21] + 12*x[19] + 32*x[17] - 210*x[15] + 951*x[13] +
		3876*x[11] - 805*x[9] + 362*x[7] - 156*x[5] + 53*x[3] - 11*x[1]
}

func qmfOddSum(x *[24]int) int {
	return -11*x[22] + 53*x[20] - 156*x[18] + 362*x[16] - 805*x[14] + 3876*x[12] +
		951*x[10] - 210*x[8] + 32*x[6] + 12*x[4] - 11*x[2] + 3*x[0]
}

// antilog converts a log scale factor to the linear one (SCALEL/SCALEH);
// shift is 8 for the lower band and 10 for the upper. The limits on nb
// (nbLowMax, nbHighMax) keep shift - nb>>11 at -1 or more, so one right
// shift of m<<1 does both directions.
func antilog(nb, shift int) int {
	m := ilb[(nb>>6)&31]
	return (m << 1) >> (uint(shift-nb>>11+1) & 63) << 2 // & 63: no check for shifts past 63
}

// adaptLow is LOGSCL and SCALEL: the scale factor follows the 4-bit code.
func (b *g722Band) adaptLow(ril int) {
	nb := b.nb*127>>7 + wl4[ril&15] // leak by 127/128, then step
	b.nb = min(max(nb, 0), nbLowMax)
	b.det = antilog(b.nb, 8)
}

// adaptHigh is LOGSCH and SCALEH for the 2-bit code.
func (b *g722Band) adaptHigh(ih int) {
	nb := b.nb*127>>7 + wh2[ih&3]
	b.nb = min(max(nb, 0), nbHighMax)
	b.det = antilog(b.nb, 10)
}

// signStep is step when x and y have the same sign (zero counting as
// positive), else -step, without a branch: which it is depends on the
// signal, so a branch would be mispredicted half the time.
func signStep(x, y, step int) int {
	differ := (x ^ y) >> 63 // -1 when the signs differ, else 0
	return (step ^ differ) - differ
}

// predict is block 4: update the pole and zero predictors with the new
// quantised difference dq by the sign-sign algorithm, then compute the
// next signal estimate.
func (b *g722Band) predict(dq int) {
	// RECONS: the reconstructed signal r = sat16(s + dq), kept as
	// sat16(2·r) for FILTEP, which is sat16(2·(s + dq)) in one step.
	rr := sat16(2 * (b.s + dq))
	p := sat16(b.sz + dq) // PARREC: partially reconstructed signal

	// UPPOL2: a2 += 2^-7 * (sgn p·p2 - f(a1)·sgn p·p1), leaking by 2^-7,
	// where f(a1) = 4·a1 limited to ±2; |a2| <= 0.75.
	f := min(signStep(p, b.p1, -sat16(b.a1*4)), 32767) // negating -32768 must still fit 16 bits
	a2 := signStep(p, b.p2, 128) + f>>7 + b.a2*32512>>15
	a2 = min(max(a2, -12288), 12288)

	// UPPOL1: a1 += 3·2^-8 · sgn p·p1, leaking by 2^-8, and
	// |a1| <= 1 - 2^-4 - a2 keeps the pole pair stable. That limit is
	// within 16 bits, so the Recommendation's saturation before it
	// changes nothing and is left out.
	a1 := signStep(p, b.p1, 192) + b.a1*32640>>15
	lim := 15360 - a2
	a1 = min(max(a1, -lim), lim)

	// UPZERO: b_i += 2^-7 · sgn dq·d(n-i), leaking by 2^-8; no step
	// when dq is zero. The Recommendation saturates the sum, but from
	// within 16 bits it cannot leave them: b·(1-2^-8) ± 2^-8 stays in
	// [-32768, 32767] at both ends (32767·32640>>15 + 128 = 32767,
	// -32768·32640>>15 - 128 = -32768).
	nz := (dq | -dq) >> 63 // -1 when dq != 0, else 0
	step := 128 & nz
	b.b1 = signStep(dq, b.d1, step) + b.b1*32640>>15
	b.b2 = signStep(dq, b.d2, step) + b.b2*32640>>15
	b.b3 = signStep(dq, b.d3, step) + b.b3*32640>>15
	b.b4 = signStep(dq, b.d4, step) + b.b4*32640>>15
	b.b5 = signStep(dq, b.d5, step) + b.b5*32640>>15
	b.b6 = signStep(dq, b.d6, step) + b.b6*32640>>15

	// DELAYZ and DELAYL. |dq| is at most 16384·20456>>15 (the largest
	// DET times the largest 4-bit level), so 2·dq needs no saturation.
	b.d6, b.d5, b.d4, b.d3, b.d2, b.d1 = b.d5, b.d4, b.d3, b.d2, b.d1, dq+dq
	b.r2, b.r1 = b.r1, rr
	b.p2, b.p1 = b.p1, p
	b.a1, b.a2 = a1, a2

	// FILTEP, FILTEZ, PREDIC.
	sp := sat16(a1*b.r1>>15 + a2*b.r2>>15)
	sz := b.b1*b.d1>>15 + b.b2*b.d2>>15 + b.b3*b.d3>>15 +
		b.b4*b.d4>>15 + b.b5*b.d5>>15 + b.b6*b.d6>>15
	b.sz = sat16(sz)
	b.s = sat16(sp + b.sz)
}

// G722Encoder codes 16 kHz linear PCM as G.722 at 64 kbit/s, one octet
// per two samples. Its state carries from call to call, so a stream needs
// its own encoder and must feed it frames in order.
type G722Encoder struct {
	x    qmfHistory // QMF input history
	low  g722Band
	high g722Band
}

// NewG722Encoder returns an encoder in the reset state.
func NewG722Encoder() *G722Encoder {
	e := &G722Encoder{}
	e.Reset()
	return e
}

// Reset returns the encoder to its initial state, as at the start of a
// stream (for example after an SSRC change).
func (e *G722Encoder) Reset() {
	e.x = qmfHistory{}
	e.low.reset(detLow0)
	e.high.reset(detHigh0)
}

// Encode codes pcm, which must hold an even number of samples, into dst
// (len(pcm)/2 bytes) and returns the number of bytes written.
func (e *G722Encoder) Encode(dst []byte, pcm []int16) (int, error) {
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

func (e *G722Encoder) encodePair(s0, s1 int16) byte {
	// Transmit QMF: xA = sum h(2i)·x(j-2i), xB = sum h(2i+1)·x(j-2i-1),
	// with x(j) = s1 the newest sample.
	x := e.x.push(int(s0), int(s1))
	xa, xb := qmfEvenSum(x), qmfOddSum(x)
	xl := (xa + xb) >> 14
	xh := (xa - xb) >> 14

	il := e.low.quantizeLow(xl)
	ih := e.high.quantizeHigh(xh)
	return byte(ih<<6 | il)
}

// quantizeLow is the lower sub-band encoder: SUBTRA, QUANTL, INVQAL and
// the adaptation. It returns the 6-bit code IL.
func (b *g722Band) quantizeLow(xl int) int {
	el := sat16(xl - b.s)
	mag := el
	if el < 0 {
		mag = -(el + 1)
	}
	// Find the interval: the largest i with mag >= q6[i]·DETL, plus one.
	// The levels grow with i, so a five-step binary search does it; the
	// step is taken by masking rather than branching because which way
	// each step goes is unpredictable, and mispredictions dominated.
	i := 0
	for step := 16; step > 0; step >>= 1 {
		j := i + step
		take := (q6[j&31]*b.det>>12 - mag - 1) >> 63 // all ones when mag >= level
		i += step & take
	}
	lo := i + 1
	il := ilPos[lo]
	if el < 0 {
		il = ilNeg[lo]
	}
	ril := il >> 2
	dq := b.det * qm4[ril] >> 15
	b.adaptLow(ril)
	b.predict(dq)
	return il
}

// quantizeHigh is the upper sub-band encoder: SUBTRA, QUANTH, INVQAH and
// the adaptation. It returns the 2-bit code IH.
func (b *g722Band) quantizeHigh(xh int) int {
	eh := sat16(xh - b.s)
	mag := eh
	if eh < 0 {
		mag = -(eh + 1)
	}
	mih := 1
	if mag >= 564*b.det>>12 {
		mih = 2
	}
	ih := ihPos[mih]
	if eh < 0 {
		ih = ihNeg[mih]
	}
	dq := b.det * qm2[ih] >> 15
	b.adaptHigh(ih)
	b.predict(dq)
	return ih
}

// G722Decoder turns 64 kbit/s G.722 octets back into 16 kHz linear PCM.
// Every octet value is valid, so any payload decodes without error; a
// stream needs its own decoder.
type G722Decoder struct {
	x    qmfHistory // QMF history: xs = rl+rh at even, xd = rl-rh at odd positions
	low  g722Band
	high g722Band
}

// NewG722Decoder returns a decoder in the reset state.
func NewG722Decoder() *G722Decoder {
	d := &G722Decoder{}
	d.Reset()
	return d
}

// Reset returns the decoder to its initial state.
func (d *G722Decoder) Reset() {
	d.x = qmfHistory{}
	d.low.reset(detLow0)
	d.high.reset(detHigh0)
}

// Decode expands payload into dst (two samples per octet) and returns the
// number of samples written.
func (d *G722Decoder) Decode(dst []int16, payload []byte) (int, error) {
	n := 2 * len(payload)
	if len(dst) < n {
		return 0, shortBuffer("G.722 decode", len(dst), n)
	}
	for i, c := range payload {
		dst[2*i], dst[2*i+1] = d.decodeOctet(c)
	}
	return n, nil
}

// DecodeLow decodes only the lower sub-band of payload into dst, one
// sample per octet: the 0–4 kHz audio at 8 kHz, for a listener that needs
// no more (a tone or DTMF detector), at about half the cost of Decode,
// since the upper band's ADPCM and the QMF synthesis are skipped. The
// samples are the lower band's reconstructed signal, bit for bit as Decode
// computes it, doubled to the 16-bit scale of Decode's output (the
// encoder's QMF halves it). It returns the number of samples written.
//
// Decode and DecodeLow may be mixed on one stream: the lower band's state
// is the same either way, and DecodeLow keeps the QMF history filled with
// the lower band (the upper band taken as silent). The upper band's state
// waits while DecodeLow runs, so for the first few milliseconds after a
// return to Decode the 4–8 kHz band differs from that of a decoder that
// never paused, until its scale factor and predictor adapt again.
func (d *G722Decoder) DecodeLow(dst []int16, payload []byte) (int, error) {
	n := len(payload)
	if len(dst) < n {
		return 0, shortBuffer("G.722 decode", len(dst), n)
	}
	lo := &d.low
	keep := n - 11 // Decode's next output reads the last 11 pairs and its own
	for i, c := range payload {
		il := int(c & 0x3F)
		rl := clampInt(lo.s+lo.det*qm6[il]>>15, -16384, 16383)
		ril := il >> 2
		dql := lo.det * qm4[ril&15] >> 15
		lo.adaptLow(ril)
		lo.predict(dql)
		if i >= keep {
			d.x.push(rl, rl)
		}
		dst[i] = int16(2 * rl)
	}
	return n, nil
}

func (d *G722Decoder) decodeOctet(c byte) (int16, int16) {
	il, ih := int(c&0x3F), int(c>>6)

	// Lower band: INVQBL with the full 6 bits for the output (RECONS,
	// LIMIT), but the predictor adapts on the 4-bit value like the encoder.
	lo := &d.low
	rl := clampInt(lo.s+lo.det*qm6[il]>>15, -16384, 16383)
	ril := il >> 2
	dql := lo.det * qm4[ril&15] >> 15
	lo.adaptLow(ril)
	lo.predict(dql)

	// Upper band: INVQAH, RECONS, LIMIT.
	hi := &d.high
	dqh := hi.det * qm2[ih&3] >> 15
	rh := clampInt(hi.s+dqh, -16384, 16383)
	hi.adaptHigh(ih)
	hi.predict(dqh)

	// Receive QMF: out(j) = 2·sum h(2i)·xd(n-i), out(j+1) = 2·sum
	// h(2i+1)·xs(n-i), scaled back to 16 bits.
	x := d.x.push(rl+rh, rl-rh)
	o0, o1 := qmfEvenSum(x), qmfOddSum(x)
	return int16(sat16(o0 >> 11)), int16(sat16(o1 >> 11))
}
