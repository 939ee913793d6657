package codecs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// WAV files are how prompts and recordings enter and leave the emulator.
// Phones and their media servers play 16-bit PCM mono at the codec's rate,
// so that is all we read or write: anything else is refused with an error
// that names the problem, rather than played back as noise.

const (
	wavFormatPCM        = 0x0001
	wavFormatFloat      = 0x0003
	wavFormatALaw       = 0x0006
	wavFormatMuLaw      = 0x0007
	wavFormatExtensible = 0xFFFE
	wavMaxFmtChunk      = 1 << 10 // a real fmt chunk is 16 to 40 bytes
)

// wavSubformatTail is the constant part of the KSDATAFORMAT_SUBTYPE GUID
// that follows the 16-bit format tag in WAVE_FORMAT_EXTENSIBLE.
const wavSubformatTail = "\x00\x00\x00\x00\x10\x00\x80\x00\x00\xAA\x00\x38\x9B\x71"

func wavRateSupported(rate int) bool { return rate == 8000 || rate == 16000 }

// ReadWAV reads a RIFF WAVE file holding 16-bit PCM mono at 8000 or 16000
// Hz and returns its samples and sample rate. Chunks other than "fmt " and
// "data" are skipped. Errors wrap [ErrNotWAV], [ErrWAVUnsupported] or
// [ErrWAVCorrupt].
func ReadWAV(r io.Reader) (pcm []int16, sampleRate int, err error) {
	var hdr [12]byte
	if n, err := io.ReadFull(r, hdr[:]); err != nil {
		if n == 0 && errors.Is(err, io.EOF) {
			return nil, 0, fmt.Errorf("wav: empty input: %w", ErrNotWAV)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, 0, fmt.Errorf("wav: %d bytes, too short for a RIFF header: %w", n, ErrNotWAV)
		}
		return nil, 0, fmt.Errorf("wav: reading header: %w", err)
	}
	switch string(hdr[0:4]) {
	case "RIFF":
	case "RIFX":
		return nil, 0, fmt.Errorf("wav: big-endian RIFX file: %w", ErrWAVUnsupported)
	case "RF64":
		return nil, 0, fmt.Errorf("wav: RF64 (64-bit) file: %w", ErrWAVUnsupported)
	default:
		return nil, 0, fmt.Errorf("wav: starts with %q, not \"RIFF\": %w", hdr[0:4], ErrNotWAV)
	}
	if string(hdr[8:12]) != "WAVE" {
		return nil, 0, fmt.Errorf("wav: RIFF form %q, not \"WAVE\": %w", hdr[8:12], ErrNotWAV)
	}

	haveFmt := false
	for {
		var ch [8]byte
		if n, err := io.ReadFull(r, ch[:]); err != nil {
			if n == 0 && errors.Is(err, io.EOF) {
				if !haveFmt {
					return nil, 0, fmt.Errorf("wav: no \"fmt \" chunk: %w", ErrWAVCorrupt)
				}
				return nil, 0, fmt.Errorf("wav: no \"data\" chunk: %w", ErrWAVCorrupt)
			}
			return nil, 0, fmt.Errorf("wav: truncated chunk header: %w", ErrWAVCorrupt)
		}
		id, size := string(ch[0:4]), int64(binary.LittleEndian.Uint32(ch[4:8]))
		switch id {
		case "fmt ":
			if haveFmt {
				return nil, 0, fmt.Errorf("wav: second \"fmt \" chunk: %w", ErrWAVCorrupt)
			}
			if size < 16 || size > wavMaxFmtChunk {
				return nil, 0, fmt.Errorf("wav: \"fmt \" chunk of %d bytes: %w", size, ErrWAVCorrupt)
			}
			body := make([]byte, size)
			if _, err := io.ReadFull(r, body); err != nil {
				return nil, 0, fmt.Errorf("wav: truncated \"fmt \" chunk: %w", ErrWAVCorrupt)
			}
			skipPad(r, size)
			if sampleRate, err = parseWAVFormat(body); err != nil {
				return nil, 0, err
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, 0, fmt.Errorf("wav: \"data\" chunk before \"fmt \" chunk: %w", ErrWAVCorrupt)
			}
			if size%2 != 0 {
				return nil, 0, fmt.Errorf("wav: data chunk of %d bytes is not a whole number of 16-bit samples: %w", size, ErrWAVCorrupt)
			}
			// Grow with the input rather than trusting the declared size,
			// so a lying header cannot make us allocate gigabytes.
			var buf bytes.Buffer
			got, err := io.Copy(&buf, io.LimitReader(r, size))
			if err != nil {
				return nil, 0, fmt.Errorf("wav: reading data: %w", err)
			}
			if got < size {
				return nil, 0, fmt.Errorf("wav: truncated: data chunk declares %d bytes, file holds %d: %w", size, got, ErrWAVCorrupt)
			}
			data := buf.Bytes()
			pcm = make([]int16, len(data)/2)
			for i := range pcm {
				pcm[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
			}
			return pcm, sampleRate, nil
		default:
			// Skip LIST, fact, cue and the like.
			if n, err := io.CopyN(io.Discard, r, size); err != nil || n < size {
				return nil, 0, fmt.Errorf("wav: truncated %q chunk: %w", id, ErrWAVCorrupt)
			}
			skipPad(r, size)
		}
	}
}

// skipPad consumes the pad byte that follows an odd-sized chunk. A file
// that ends without it is caught by the next chunk read.
func skipPad(r io.Reader, size int64) {
	if size&1 == 1 {
		var pad [1]byte
		_, _ = io.ReadFull(r, pad[:])
	}
}

// parseWAVFormat checks a "fmt " chunk body and returns the sample rate.
func parseWAVFormat(b []byte) (int, error) {
	tag := binary.LittleEndian.Uint16(b[0:2])
	channels := int(binary.LittleEndian.Uint16(b[2:4]))
	rate := int(binary.LittleEndian.Uint32(b[4:8]))
	byteRate := int(binary.LittleEndian.Uint32(b[8:12]))
	blockAlign := int(binary.LittleEndian.Uint16(b[12:14]))
	bits := int(binary.LittleEndian.Uint16(b[14:16]))
	if tag == wavFormatExtensible {
		if len(b) < 40 {
			return 0, fmt.Errorf("wav: WAVE_FORMAT_EXTENSIBLE \"fmt \" chunk of %d bytes, need 40: %w", len(b), ErrWAVCorrupt)
		}
		if string(b[26:40]) != wavSubformatTail {
			return 0, fmt.Errorf("wav: extensible format with a non-standard subformat GUID: %w", ErrWAVUnsupported)
		}
		tag = binary.LittleEndian.Uint16(b[24:26])
	}
	switch tag {
	case wavFormatPCM:
	case wavFormatFloat:
		return 0, fmt.Errorf("wav: %d-bit floating-point samples, only 16-bit integer PCM: %w", bits, ErrWAVUnsupported)
	case wavFormatALaw, wavFormatMuLaw:
		return 0, fmt.Errorf("wav: G.711-compressed samples (format %d), only 16-bit linear PCM: %w", tag, ErrWAVUnsupported)
	default:
		return 0, fmt.Errorf("wav: compressed format tag 0x%04x, only PCM (1): %w", tag, ErrWAVUnsupported)
	}
	if channels != 1 {
		return 0, fmt.Errorf("wav: %d channels, only mono: %w", channels, ErrWAVUnsupported)
	}
	if bits != 16 {
		return 0, fmt.Errorf("wav: %d-bit samples, only 16-bit: %w", bits, ErrWAVUnsupported)
	}
	if !wavRateSupported(rate) {
		return 0, fmt.Errorf("wav: %d Hz, only 8000 and 16000 Hz: %w", rate, ErrWAVUnsupported)
	}
	if blockAlign != 2 {
		return 0, fmt.Errorf("wav: block align %d, 16-bit mono needs 2: %w", blockAlign, ErrWAVCorrupt)
	}
	if byteRate != 2*rate {
		return 0, fmt.Errorf("wav: byte rate %d, %d Hz 16-bit mono needs %d: %w", byteRate, rate, 2*rate, ErrWAVCorrupt)
	}
	return rate, nil
}

// maxWAVSamples keeps the RIFF size fields within 32 bits.
const maxWAVSamples = (1<<32 - 1 - 36) / 2

// WriteWAV writes pcm as a 16-bit PCM mono WAV file at sampleRate, which
// must be 8000 or 16000.
func WriteWAV(w io.Writer, pcm []int16, sampleRate int) error {
	if !wavRateSupported(sampleRate) {
		return fmt.Errorf("wav: %d Hz, only 8000 and 16000 Hz: %w", sampleRate, ErrWAVUnsupported)
	}
	if len(pcm) > maxWAVSamples {
		return fmt.Errorf("wav: %d samples do not fit a RIFF file: %w", len(pcm), ErrInvalidArgument)
	}
	dataSize := uint32(2 * len(pcm))
	var hdr [44]byte
	copy(hdr[0:], "RIFF")
	binary.LittleEndian.PutUint32(hdr[4:], 36+dataSize)
	copy(hdr[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(hdr[16:], 16)
	binary.LittleEndian.PutUint16(hdr[20:], wavFormatPCM)
	binary.LittleEndian.PutUint16(hdr[22:], 1)
	binary.LittleEndian.PutUint32(hdr[24:], uint32(sampleRate))
	binary.LittleEndian.PutUint32(hdr[28:], uint32(2*sampleRate))
	binary.LittleEndian.PutUint16(hdr[32:], 2)
	binary.LittleEndian.PutUint16(hdr[34:], 16)
	copy(hdr[36:], "data")
	binary.LittleEndian.PutUint32(hdr[40:], dataSize)
	if _, err := w.Write(hdr[:]); err != nil {
		return fmt.Errorf("wav: writing header: %w", err)
	}
	var buf [4096]byte
	for len(pcm) > 0 {
		n := min(len(pcm), len(buf)/2)
		for i, s := range pcm[:n] {
			binary.LittleEndian.PutUint16(buf[2*i:], uint16(s))
		}
		if _, err := w.Write(buf[:2*n]); err != nil {
			return fmt.Errorf("wav: writing samples: %w", err)
		}
		pcm = pcm[n:]
	}
	return nil
}
