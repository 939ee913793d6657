package codecs

import (
	"fmt"
	"math"
)

// DTMF detection thresholds. ITU-T Q.24 records different values per
// administration; these follow common practice for digital (loss-free)
// paths.
const (
	// dtmfBlockSeconds is the analysis block: 102 samples at 8 kHz.
	// Short enough that two blocks (25.5 ms) make a press, long enough
	// (78 Hz resolution) to tell 697 Hz from 770 Hz.
	dtmfBlockSeconds = 0.01275
	// dtmfMinDBFS is the weakest accepted component: receivers usually
	// accept about -25 dBm0 per tone (-28 dBFS), and we keep margin.
	dtmfMinDBFS = -36
	// dtmfTwistDB is the accepted level difference between the two
	// groups, either way. Administrations use 4 to 8 dB; digital paths
	// have no line slope, so the wide setting costs nothing.
	dtmfTwistDB = 8
	// dtmfPeakDB is how far the strongest row (column) must stand above
	// the others, which rejects chords and speech harmonics.
	dtmfPeakDB = 8
	// dtmfShare is the share of the block's power that the two tones
	// must carry. It rejects speech and noise, and also blocks the tone
	// covers only in part (a block 70% covered has a share of 0.7).
	dtmfShare = 0.8
	// dtmfHitBlocks consecutive blocks with the same key make a press.
	// With dtmfShare, two adjacent blocks both qualify only if the tone
	// lasts 1.6 blocks (20.4 ms), and any tone of 38.1 ms covers two
	// whole blocks: presses up to 20 ms are ignored and presses of 40 ms
	// are reported, at any alignment, the usual requirement.
	dtmfHitBlocks = 2
	// dtmfReleaseBlocks blocks without the key end a press, so a short
	// dropout inside a long press does not report the key twice.
	dtmfReleaseBlocks = 2
)

// DTMFDetector finds DTMF key presses in a stream of linear PCM fed frame
// by frame, reporting each press once however long the key is held. It
// runs eight Goertzel filters over 12.75 ms blocks; a block holds a key
// when one row and one column tone are each above -36 dBFS, within 8 dB of
// each other (twist), 8 dB above the other rows and columns, and carry
// 80% of the block's power. Two such blocks in a row make a press, so
// bursts of 20 ms or less are ignored and 40 ms or more are reported; two
// blocks without the key end it. It allocates nothing after
// construction; one detector serves one stream.
type DTMFDetector struct {
	block  int
	rows   [4]Goertzel
	cols   [4]Goertzel
	energy float64 // sum of squares in the current block

	minPower float64 // per-component mean-square floor
	twist    float64 // power ratio
	peak     float64 // power ratio

	cand   rune // key seen in the latest blocks
	run    int  // consecutive blocks with cand
	down   rune // key reported and not yet released
	misses int  // consecutive blocks without down
}

// NewDTMFDetector returns a detector for PCM sampled at sampleRate Hz
// (8000 to 48000).
func NewDTMFDetector(sampleRate int) (*DTMFDetector, error) {
	if sampleRate < 8000 || sampleRate > 48000 {
		return nil, fmt.Errorf("DTMF detector sample rate %d, want 8000 to 48000: %w", sampleRate, ErrInvalidArgument)
	}
	d := &DTMFDetector{
		block:    int(math.Round(float64(sampleRate) * dtmfBlockSeconds)),
		minPower: math.Pow(10, dtmfMinDBFS/10.0) * fullScale * fullScale / 2,
		twist:    math.Pow(10, dtmfTwistDB/10.0),
		peak:     math.Pow(10, dtmfPeakDB/10.0),
	}
	for i := range 4 {
		var err error
		if d.rows[i], err = NewGoertzel(dtmfRows[i], sampleRate, d.block); err != nil {
			return nil, err
		}
		if d.cols[i], err = NewGoertzel(dtmfCols[i], sampleRate, d.block); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// Detect feeds pcm to the detector and appends the keys whose press was
// recognised in it to dst, returning the extended slice. Pass dst[:0] of
// a reused slice to avoid allocating.
func (d *DTMFDetector) Detect(dst []rune, pcm []int16) []rune {
	for len(pcm) > 0 {
		k := min(len(pcm), d.block-d.rows[0].Count())
		chunk := pcm[:k]
		add4(&d.rows, chunk, chunk, chunk, chunk) // the eight filters four at a time
		add4(&d.cols, chunk, chunk, chunk, chunk)
		for _, s := range chunk {
			d.energy += float64(s) * float64(s)
		}
		pcm = pcm[k:]
		if d.rows[0].Full() {
			if key := d.track(d.classify()); key != 0 {
				dst = append(dst, key)
			}
			for i := range 4 {
				d.rows[i].Reset()
				d.cols[i].Reset()
			}
			d.energy = 0
		}
	}
	return dst
}

// classify decides which key, if any, one block holds.
func (d *DTMFDetector) classify() rune {
	var rp, cp [4]float64
	r, c := 0, 0
	for i := range 4 {
		rp[i], cp[i] = d.rows[i].Power(), d.cols[i].Power()
		if rp[i] > rp[r] {
			r = i
		}
		if cp[i] > cp[c] {
			c = i
		}
	}
	row, col := rp[r], cp[c]
	switch {
	case row < d.minPower || col < d.minPower:
		return 0
	case row > col*d.twist || col > row*d.twist:
		return 0
	case row+col < dtmfShare*d.energy/float64(d.block):
		return 0
	}
	for i := range 4 {
		if i != r && rp[i]*d.peak > row {
			return 0
		}
		if i != c && cp[i]*d.peak > col {
			return 0
		}
	}
	return dtmfKeys[r][c]
}

// track debounces block decisions into presses and returns the key of a
// press that has just been recognised.
func (d *DTMFDetector) track(key rune) rune {
	if d.down != 0 {
		if key == d.down {
			d.misses = 0
		} else if d.misses++; d.misses >= dtmfReleaseBlocks {
			d.down = 0
		}
	}
	if key == d.cand {
		d.run++
	} else {
		d.cand, d.run = key, 1
	}
	if d.cand != 0 && d.cand != d.down && d.run >= dtmfHitBlocks {
		d.down, d.misses = d.cand, 0
		return d.cand
	}
	return 0
}

// Reset forgets any partial block and press, for a new stream.
func (d *DTMFDetector) Reset() {
	for i := range 4 {
		d.rows[i].Reset()
		d.cols[i].Reset()
	}
	d.energy = 0
	d.cand, d.run, d.down, d.misses = 0, 0, 0, 0
}
