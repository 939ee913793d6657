package codecs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// wavFile builds a WAV file with the given fmt fields and extra chunks,
// so each refusal can be tested with exactly one thing wrong.
type wavFile struct {
	riff       string
	form       string
	tag        uint16
	channels   uint16
	rate       uint32
	byteRate   uint32
	blockAlign uint16
	bits       uint16
	fmtExtra   []byte // appended to the 16-byte fmt body
	before     []byte // raw chunks before fmt
	between    []byte // raw chunks between fmt and data
	data       []byte
	dataSize   int // -1: len(data)
	noData     bool
	noFmt      bool
}

func goodWAV(data []byte) wavFile {
	return wavFile{riff: "RIFF", form: "WAVE", tag: 1, channels: 1, rate: 8000, byteRate: 16000,
		blockAlign: 2, bits: 16, data: data, dataSize: -1}
}

func chunk(id string, body []byte) []byte {
	b := []byte(id)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(body)))
	b = append(b, body...)
	if len(body)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

func (w wavFile) bytes() []byte {
	var body []byte
	body = append(body, w.form...)
	body = append(body, w.before...)
	if !w.noFmt {
		f := binary.LittleEndian.AppendUint16(nil, w.tag)
		f = binary.LittleEndian.AppendUint16(f, w.channels)
		f = binary.LittleEndian.AppendUint32(f, w.rate)
		f = binary.LittleEndian.AppendUint32(f, w.byteRate)
		f = binary.LittleEndian.AppendUint16(f, w.blockAlign)
		f = binary.LittleEndian.AppendUint16(f, w.bits)
		body = append(body, chunk("fmt ", append(f, w.fmtExtra...))...)
	}
	body = append(body, w.between...)
	if !w.noData {
		size := w.dataSize
		if size < 0 {
			size = len(w.data)
		}
		body = append(body, "data"...)
		body = binary.LittleEndian.AppendUint32(body, uint32(size))
		body = append(body, w.data...)
	}
	out := []byte(w.riff)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(body)))
	return append(out, body...)
}

func TestWAVRoundTrip(t *testing.T) {
	for _, rate := range []int{8000, 16000} {
		pcm := mustTone(t, 440, -6, 100*time.Millisecond, rate)
		pcm = append(pcm, -32768, 32767, 0, -1)
		var buf bytes.Buffer
		if err := WriteWAV(&buf, pcm, rate); err != nil {
			t.Fatal(err)
		}
		if buf.Len() != 44+2*len(pcm) {
			t.Errorf("file of %d bytes, want %d", buf.Len(), 44+2*len(pcm))
		}
		got, gotRate, err := ReadWAV(&buf)
		if err != nil || gotRate != rate || !slices.Equal(got, pcm) {
			t.Errorf("%d Hz: read back %d samples at %d Hz, %v", rate, len(got), gotRate, err)
		}
	}
	// An empty file is valid.
	var buf bytes.Buffer
	if err := WriteWAV(&buf, nil, 8000); err != nil {
		t.Fatal(err)
	}
	if pcm, rate, err := ReadWAV(&buf); err != nil || len(pcm) != 0 || rate != 8000 {
		t.Errorf("empty WAV: %d samples, %d Hz, %v", len(pcm), rate, err)
	}
}

func TestWAVAccepts(t *testing.T) {
	data := []byte{1, 0, 2, 0, 0xFF, 0xFF}
	want := []int16{1, 2, -1}
	ext := goodWAV(data)
	ext.tag = 0xFFFE
	ext.fmtExtra = append([]byte{22, 0, 16, 0, 4, 0, 0, 0, 1, 0}, wavSubformatTail...)
	withChunks := goodWAV(data)
	withChunks.before = chunk("JUNK", []byte{1, 2, 3})
	withChunks.between = append(chunk("LIST", []byte("INFOISFT\x05\x00\x00\x00test\x00")), chunk("fact", []byte{3, 0, 0, 0})...)
	wide := goodWAV(data)
	wide.rate, wide.byteRate = 16000, 32000
	trailing := goodWAV(data)
	tests := map[string][]byte{
		"plain":              goodWAV(data).bytes(),
		"16 kHz":             wide.bytes(),
		"extensible PCM":     ext.bytes(),
		"extra chunks":       withChunks.bytes(),
		"trailing chunk":     append(trailing.bytes(), chunk("LIST", []byte("x"))...),
		"fmt with cbSize 0":  func() []byte { w := goodWAV(data); w.fmtExtra = []byte{0, 0}; return w.bytes() }(),
		"wrong RIFF size ok": func() []byte { b := goodWAV(data).bytes(); binary.LittleEndian.PutUint32(b[4:], 7); return b }(),
	}
	for name, file := range tests {
		t.Run(name, func(t *testing.T) {
			pcm, _, err := ReadWAV(bytes.NewReader(file))
			if err != nil || !slices.Equal(pcm, want) {
				t.Errorf("ReadWAV = %v, %v; want %v", pcm, err, want)
			}
		})
	}
}

func TestWAVRefuses(t *testing.T) {
	data := make([]byte, 16)
	mod := func(f func(*wavFile)) []byte {
		w := goodWAV(data)
		f(&w)
		return w.bytes()
	}
	floatExt := goodWAV(data)
	floatExt.tag, floatExt.bits = 0xFFFE, 32
	floatExt.fmtExtra = append([]byte{22, 0, 32, 0, 4, 0, 0, 0, 3, 0}, wavSubformatTail...)
	tests := []struct {
		name string
		file []byte
		want error
		says string // the error names the problem
	}{
		{"empty", nil, ErrNotWAV, "empty"},
		{"short", []byte("RIFF"), ErrNotWAV, "too short"},
		{"not RIFF", []byte("ID3\x03\x00\x00\x00\x00\x00\x00\x00\x00 an mp3"), ErrNotWAV, "not \"RIFF\""},
		{"AVI", mod(func(w *wavFile) { w.form = "AVI " }), ErrNotWAV, "AVI"},
		{"RIFX", mod(func(w *wavFile) { w.riff = "RIFX" }), ErrWAVUnsupported, "big-endian"},
		{"RF64", mod(func(w *wavFile) { w.riff = "RF64" }), ErrWAVUnsupported, "RF64"},
		{"stereo", mod(func(w *wavFile) { w.channels, w.blockAlign, w.byteRate = 2, 4, 32000 }), ErrWAVUnsupported, "2 channels"},
		{"8-bit", mod(func(w *wavFile) { w.bits, w.blockAlign, w.byteRate = 8, 1, 8000 }), ErrWAVUnsupported, "8-bit"},
		{"24-bit", mod(func(w *wavFile) { w.bits, w.blockAlign, w.byteRate = 24, 3, 24000 }), ErrWAVUnsupported, "24-bit"},
		{"44.1 kHz", mod(func(w *wavFile) { w.rate, w.byteRate = 44100, 88200 }), ErrWAVUnsupported, "44100 Hz"},
		{"48 kHz", mod(func(w *wavFile) { w.rate, w.byteRate = 48000, 96000 }), ErrWAVUnsupported, "48000 Hz"},
		{"float", mod(func(w *wavFile) { w.tag, w.bits, w.blockAlign, w.byteRate = 3, 32, 4, 32000 }), ErrWAVUnsupported, "floating-point"},
		{"extensible float", floatExt.bytes(), ErrWAVUnsupported, "floating-point"},
		{"mu-law", mod(func(w *wavFile) { w.tag, w.bits, w.blockAlign, w.byteRate = 7, 8, 1, 8000 }), ErrWAVUnsupported, "G.711"},
		{"ADPCM", mod(func(w *wavFile) { w.tag = 2 }), ErrWAVUnsupported, "0x0002"},
		{"extensible truncated", mod(func(w *wavFile) { w.tag = 0xFFFE }), ErrWAVCorrupt, "EXTENSIBLE"},
		{"bad block align", mod(func(w *wavFile) { w.blockAlign = 4 }), ErrWAVCorrupt, "block align"},
		{"bad byte rate", mod(func(w *wavFile) { w.byteRate = 8000 }), ErrWAVCorrupt, "byte rate"},
		{"truncated data", mod(func(w *wavFile) { w.dataSize = 1000 }), ErrWAVCorrupt, "truncated"},
		{"huge data claim", mod(func(w *wavFile) { w.dataSize = 0x7FFFFFF0 }), ErrWAVCorrupt, "truncated"},
		{"odd data", mod(func(w *wavFile) { w.data = data[:5] }), ErrWAVCorrupt, "whole number"},
		{"no data", mod(func(w *wavFile) { w.noData = true }), ErrWAVCorrupt, "no \"data\""},
		{"no fmt", mod(func(w *wavFile) { w.noFmt, w.noData = true, true }), ErrWAVCorrupt, "no \"fmt \""},
		{"data before fmt", mod(func(w *wavFile) { w.noFmt = true }), ErrWAVCorrupt, "before"},
		{"two fmt", mod(func(w *wavFile) { w.between = goodWAV(nil).bytes()[12:36] }), ErrWAVCorrupt, "second"},
		{"tiny fmt", mod(func(w *wavFile) { w.noFmt = true; w.before = chunk("fmt ", []byte{1, 0, 1, 0}) }), ErrWAVCorrupt, "fmt"},
		{"truncated fmt", goodWAV(nil).bytes()[:30], ErrWAVCorrupt, "truncated"},
		{"truncated chunk header", goodWAV(nil).bytes()[:40], ErrWAVCorrupt, "truncated"},
		{"truncated other chunk", mod(func(w *wavFile) { w.noData = true; w.between = []byte("LIST\xff\x00\x00\x00ab") }), ErrWAVCorrupt, "LIST"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ReadWAV(bytes.NewReader(tc.file))
			if !errors.Is(err, tc.want) {
				t.Fatalf("ReadWAV: %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
		})
	}
}

type failWriter struct{ after int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errors.New("disk full")
	}
	f.after--
	return len(p), nil
}

func TestWAVWriteErrors(t *testing.T) {
	for _, rate := range []int{0, 11025, 44100} {
		if err := WriteWAV(&bytes.Buffer{}, nil, rate); !errors.Is(err, ErrWAVUnsupported) {
			t.Errorf("rate %d: %v", rate, err)
		}
	}
	pcm := make([]int16, 5000)
	for _, after := range []int{0, 1} {
		if err := WriteWAV(&failWriter{after: after}, pcm, 8000); err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("failing writer after %d writes: %v", after, err)
		}
	}
}
