package media

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"github.com/deskphone/deskphone/codecs"
)

// wavHeaderLen is the size of the canonical header codecs.WriteWAV
// writes; its two size fields sit at offsets 4 and 40.
const wavHeaderLen = 44

// maxRecordSamples keeps a recording within the 32-bit RIFF size fields.
const maxRecordSamples = (1<<32 - 1 - wavHeaderLen) / 2

// recorder streams received audio into a WAV file: a placeholder header,
// then samples as they come, then the real header on finish. (The codecs
// package writes whole WAV files only; a call may last hours, so we do
// not keep its audio in memory.)
type recorder struct {
	f       *os.File
	w       *bufio.Writer
	rate    int // the file's rate, set by the first frame
	from    int // rate the resampler converts from
	res     *codecs.Resampler
	samples int64
	err     error
	conv    [maxPayload * 4]int16 // a resampled frame
	bytes   [maxPayload * 8]byte
}

// Record starts writing the audio the session receives to a WAV file at
// path (16-bit mono at the codec's rate; lost packets become silence),
// replacing any recording in progress. StopRecording or Close finishes
// the file.
func (s *Session) Record(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("media: record: %w", err)
	}
	r := &recorder{f: f, w: bufio.NewWriterSize(f, 64<<10)}
	var zero [wavHeaderLen]byte
	if _, err := r.w.Write(zero[:]); err != nil {
		_ = f.Close()
		return fmt.Errorf("media: record: %w", err)
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		_ = f.Close()
		_ = os.Remove(path)
		return ErrClosed
	}
	s.recMu.Lock()
	old := s.rec
	s.rec = r
	s.recording.Store(true)
	s.recMu.Unlock()
	if old != nil {
		return old.finish()
	}
	return nil
}

// StopRecording finishes the recording in progress, if any, and reports
// any error writing it.
func (s *Session) StopRecording() error {
	s.recMu.Lock()
	r := s.rec
	s.rec = nil
	s.recording.Store(false)
	s.recMu.Unlock()
	if r == nil {
		return nil
	}
	return r.finish()
}

// recordFrame appends decoded audio to the recording (reader goroutine).
func (s *Session) recordFrame(pcm []int16, rate int) {
	if !s.recording.Load() {
		return
	}
	s.recMu.Lock()
	if s.rec != nil {
		s.rec.write(pcm, rate)
	}
	s.recMu.Unlock()
}

func (r *recorder) write(pcm []int16, rate int) {
	if r.err != nil {
		return
	}
	if r.rate == 0 {
		r.rate = rate
	}
	if rate != r.rate {
		// The codec changed mid-call: keep the file's rate.
		if r.res == nil || r.from != rate {
			res, err := codecs.NewResampler(rate, r.rate)
			if err != nil {
				r.err = err
				return
			}
			r.res, r.from = res, rate
		}
		n, err := r.res.Process(r.conv[:], pcm)
		if err != nil {
			r.err = err
			return
		}
		pcm = r.conv[:n]
	}
	if r.samples+int64(len(pcm)) > maxRecordSamples {
		return
	}
	for i, v := range pcm {
		binary.LittleEndian.PutUint16(r.bytes[2*i:], uint16(v))
	}
	if _, err := r.w.Write(r.bytes[:2*len(pcm)]); err != nil {
		r.err = err
		return
	}
	r.samples += int64(len(pcm))
}

// finish writes the real header and closes the file.
func (r *recorder) finish() error {
	err := r.err
	if ferr := r.w.Flush(); err == nil {
		err = ferr
	}
	if err == nil {
		err = r.writeHeader()
	}
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("media: recording %s: %w", r.f.Name(), err)
	}
	return nil
}

func (r *recorder) writeHeader() error {
	rate := r.rate
	if rate == 0 {
		rate = 8000 // nothing heard: an empty narrowband file
	}
	var h bytes.Buffer
	if err := codecs.WriteWAV(&h, nil, rate); err != nil {
		return err
	}
	hdr := h.Bytes()
	if len(hdr) != wavHeaderLen {
		return errors.New("unexpected WAV header layout")
	}
	data := uint32(2 * r.samples)
	binary.LittleEndian.PutUint32(hdr[4:], wavHeaderLen-8+data)
	binary.LittleEndian.PutUint32(hdr[40:], data)
	_, err := r.f.WriteAt(hdr, 0)
	return err
}
