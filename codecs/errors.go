package codecs

import (
	"errors"
	"strconv"
)

// Sentinel errors. Functions wrap them with context; test with errors.Is.
var (
	// ErrUnsupported means a codec name is known (from SDP or a codec
	// policy) but this package cannot encode or decode it, or the name is
	// not a codec at all; see [NameError].
	ErrUnsupported = errors.New("codecs: codec not supported")

	// ErrUnknownCodec means a codec name is not one this package has
	// heard of. Errors that wrap it also wrap [ErrUnsupported].
	ErrUnknownCodec = errors.New("codecs: unknown codec name")

	// ErrShortBuffer means the destination slice cannot hold the result;
	// nothing was written.
	ErrShortBuffer = errors.New("codecs: destination buffer too short")

	// ErrFrameSize means an input length does not fit the codec, such as
	// an odd number of samples for G.722, which codes samples in pairs.
	ErrFrameSize = errors.New("codecs: invalid frame size")

	// ErrInvalidArgument means a parameter is out of range: a frequency
	// above Nyquist, a sample rate that is not supported, a negative
	// duration.
	ErrInvalidArgument = errors.New("codecs: invalid argument")

	// ErrInvalidEvent means a telephone-event payload or value is not
	// valid RFC 4733: too short, a volume above 63, an unknown key.
	ErrInvalidEvent = errors.New("codecs: invalid telephone-event")

	// ErrBusy means the telephone-event sender is still sending an event;
	// RFC 4733 events of one stream do not overlap.
	ErrBusy = errors.New("codecs: telephone-event sender busy")

	// ErrNotWAV means the input is not a RIFF/WAVE file at all.
	ErrNotWAV = errors.New("codecs: not a RIFF WAVE file")

	// ErrWAVUnsupported means the WAV file is well formed but not 16-bit
	// PCM mono at 8000 or 16000 Hz, the only formats phones play.
	ErrWAVUnsupported = errors.New("codecs: unsupported WAV format")

	// ErrWAVCorrupt means the WAV file is truncated or its chunks
	// contradict each other.
	ErrWAVCorrupt = errors.New("codecs: corrupt WAV file")
)

// NameError reports a codec name that [Lookup] cannot serve. It unwraps to
// [ErrUnsupported], and also to [ErrUnknownCodec] when the name is not a
// codec this package knows of.
type NameError struct {
	Name  string // the name as given
	Known bool   // a real codec (G729, SILK, ...) that is not implemented
}

func (e *NameError) Error() string {
	if e.Known {
		return "codecs: codec " + strconv.Quote(e.Name) + " is not supported"
	}
	return "codecs: unknown codec " + strconv.Quote(e.Name)
}

// Unwrap lets errors.Is match both sentinels without string matching.
func (e *NameError) Unwrap() []error {
	if e.Known {
		return []error{ErrUnsupported}
	}
	return []error{ErrUnsupported, ErrUnknownCodec}
}
