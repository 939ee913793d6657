package codecs

import (
	"fmt"
	"math/bits"
)

// G.711 (ITU-T G.711, 1988) companding. Both laws code a 14-bit (µ-law)
// or 13-bit (A-law) magnitude into a 3-bit segment and a 4-bit mantissa.
// Negative samples are coded from their one's complement, as ITU-T G.191
// does, so -1 codes like 0 and every code decodes and re-encodes to itself.

const (
	mulawBias = 33     // added to the 14-bit magnitude so segments start at powers of two
	mulawClip = 0x1FFF // largest biased 14-bit magnitude
)

// LinearToMulaw codes one 16-bit sample as G.711 µ-law.
func LinearToMulaw(s int16) byte {
	v := int(s)
	sign := byte(0x80) // set on positive samples once the code is inverted
	if v < 0 {
		v = ^v
		sign = 0
	}
	v = v>>2 + mulawBias
	if v > mulawClip {
		v = mulawClip
	}
	seg := bits.Len(uint(v >> 6)) // 0..7
	mant := (v >> (seg + 1)) & 0x0F
	return sign | ^byte(seg<<4|mant)&0x7F
}

// MulawToLinear expands a G.711 µ-law code to a 16-bit sample (the
// centre of its quantisation interval, as G.711 specifies).
func MulawToLinear(c byte) int16 {
	c = ^c
	seg := uint(c>>4) & 7
	mant := int(c & 0x0F)
	mag := (mant<<3+0x84)<<seg - 0x84
	if c&0x80 != 0 {
		return int16(-mag)
	}
	return int16(mag)
}

// LinearToAlaw codes one 16-bit sample as G.711 A-law (with the
// even-bit inversion, 0x55, already applied).
func LinearToAlaw(s int16) byte {
	v := int(s)
	sign := byte(0x80)
	if v < 0 {
		v = ^v
		sign = 0
	}
	v >>= 4 // 12-bit magnitude, 0..2047
	seg := bits.Len(uint(v >> 4))
	mant := v
	if seg > 0 {
		mant = v >> (seg - 1)
	}
	return (sign | byte(seg<<4) | byte(mant&0x0F)) ^ 0x55
}

// AlawToLinear expands a G.711 A-law code to a 16-bit sample.
func AlawToLinear(c byte) int16 {
	c ^= 0x55
	seg := uint(c>>4) & 7
	mant := int(c & 0x0F)
	var mag int
	if seg == 0 {
		mag = mant<<4 + 8
	} else {
		mag = (mant<<4 + 0x108) << (seg - 1)
	}
	if c&0x80 == 0 {
		return int16(-mag)
	}
	return int16(mag)
}

// EncodePCMU codes pcm (8 kHz) as µ-law into dst, one byte per sample.
func EncodePCMU(dst []byte, pcm []int16) (int, error) {
	if len(dst) < len(pcm) {
		return 0, shortBuffer("PCMU encode", len(dst), len(pcm))
	}
	dst = dst[:len(pcm)]
	for i, s := range pcm {
		dst[i] = LinearToMulaw(s)
	}
	return len(pcm), nil
}

// DecodePCMU expands a µ-law payload into dst, one sample per byte.
func DecodePCMU(dst []int16, payload []byte) (int, error) {
	if len(dst) < len(payload) {
		return 0, shortBuffer("PCMU decode", len(dst), len(payload))
	}
	dst = dst[:len(payload)]
	for i, c := range payload {
		dst[i] = MulawToLinear(c)
	}
	return len(payload), nil
}

// EncodePCMA codes pcm (8 kHz) as A-law into dst, one byte per sample.
func EncodePCMA(dst []byte, pcm []int16) (int, error) {
	if len(dst) < len(pcm) {
		return 0, shortBuffer("PCMA encode", len(dst), len(pcm))
	}
	dst = dst[:len(pcm)]
	for i, s := range pcm {
		dst[i] = LinearToAlaw(s)
	}
	return len(pcm), nil
}

// DecodePCMA expands an A-law payload into dst, one sample per byte.
func DecodePCMA(dst []int16, payload []byte) (int, error) {
	if len(dst) < len(payload) {
		return 0, shortBuffer("PCMA decode", len(dst), len(payload))
	}
	dst = dst[:len(payload)]
	for i, c := range payload {
		dst[i] = AlawToLinear(c)
	}
	return len(payload), nil
}

// mulaw and alaw adapt the stateless functions to Encoder and Decoder;
// being empty structs, boxing them in an interface costs nothing.
type mulaw struct{}

func (mulaw) Encode(dst []byte, pcm []int16) (int, error)     { return EncodePCMU(dst, pcm) }
func (mulaw) Decode(dst []int16, payload []byte) (int, error) { return DecodePCMU(dst, payload) }

type alaw struct{}

func (alaw) Encode(dst []byte, pcm []int16) (int, error)     { return EncodePCMA(dst, pcm) }
func (alaw) Decode(dst []int16, payload []byte) (int, error) { return DecodePCMA(dst, payload) }

func shortBuffer(op string, have, need int) error {
	return fmt.Errorf("%s: need %d, have %d: %w", op, need, have, ErrShortBuffer)
}
