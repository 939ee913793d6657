package phone

import (
	"strconv"
	"strings"

	"github.com/deskphone/deskphone/media"
)

// toneLevel is the level of the tones a phone plays on request.
const toneLevel = -12 // dBFS

// WithMedia carries the phone's calls on a media engine (SRTP, codecs).
// Without one, calls are signalled but carry no audio.
func WithMedia(e *media.Engine) Option {
	return func(p *Phone) error { p.media = e; return nil }
}

// WithMediaNotes logs lines about the media configuration at every boot,
// such as the policy codecs the engine had to skip.
func WithMediaNotes(lines ...string) Option {
	return func(p *Phone) error { p.mediaNotes = append(p.mediaNotes, lines...); return nil }
}

// WithAudioSource sets what the phone sends in every call:
// "tone:HZ", "wav:FILE", "silence" or "echo".
func WithAudioSource(spec string) Option {
	return func(p *Phone) error {
		if _, err := ParseSource(spec); err != nil {
			return err
		}
		p.source = spec
		return nil
	}
}

// ParseSource reads an audio source: tone:HZ, wav:FILE, silence, echo.
func ParseSource(spec string) (media.Source, error) {
	kind, arg, _ := strings.Cut(strings.TrimSpace(spec), ":")
	switch strings.ToLower(kind) {
	case "tone":
		hz, err := strconv.ParseFloat(arg, 64)
		if err != nil || hz <= 0 {
			return nil, errorf(ErrBadSource, "audio source %q: tone needs a frequency, e.g. tone:1000", spec)
		}
		return badSource(media.ToneSource(hz, toneLevel))
	case "wav":
		if arg == "" {
			return nil, errorf(ErrBadSource, "audio source %q: wav needs a file, e.g. wav:hello.wav", spec)
		}
		return badSource(media.WAVSource(arg))
	case "silence":
		return media.Silence(), nil
	case "echo":
		return media.Echo(), nil
	}
	return nil, errorf(ErrBadSource, "audio source %q: want tone:HZ, wav:FILE, silence or echo", spec)
}

// badSource tags a source's construction error with ErrBadSource.
func badSource(src media.Source, err error) (media.Source, error) {
	if err != nil {
		return nil, errorf(ErrBadSource, "%w", err)
	}
	return src, nil
}

// Play changes what the current call sends: tone:HZ, wav:FILE, silence or
// echo.
func (p *Phone) Play(spec string) error {
	src, err := ParseSource(spec)
	if err != nil {
		return err
	}
	return p.doErr(func() error {
		ms, err := p.s.calls.media()
		if err != nil {
			return err
		}
		if mix := p.s.calls.confMix(); mix != nil {
			// In a conference the user's audio goes into the mix.
			if err := mix.SetSource(src); err != nil {
				return errorf(ErrBadSource, "%w", err)
			}
		} else {
			ms.SetSource(src)
		}
		p.logf("media", "info", "media", "playing %s", spec)
		return nil
	})
}

// Record writes the audio the current call receives to a WAV file until
// the call ends.
func (p *Phone) Record(path string) error {
	return p.doErr(func() error {
		ms, err := p.s.calls.media()
		if err != nil {
			return err
		}
		if err := ms.Record(path); err != nil {
			return err
		}
		p.logf("media", "info", "media", "recording to %s", path)
		return nil
	})
}

// SendDTMF sends digits in the current call (RFC 4733 events).
func (p *Phone) SendDTMF(digits string) error {
	return p.doErr(func() error {
		ms, err := p.s.calls.media()
		if err != nil {
			return err
		}
		return ms.SendDTMF(digits)
	})
}
