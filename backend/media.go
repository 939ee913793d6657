package backend

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/deskphone/deskphone/media"
	"github.com/deskphone/deskphone/media/sdp"
)

// Service audio: the tone user's steady tone, and the voicemail greeting.
const (
	ToneHz      = 1000
	toneLevel   = -12 // dBFS
	greetingHz  = 440
	greetingDBF = -18
)

// EngineMedia carries service calls on a media engine: echo loops the
// caller's audio back, tone plays a steady 1 kHz tone, voicemail plays a
// greeting tone and records what the caller says into dir as WAV.
func EngineMedia(e *media.Engine, dir string) ServiceMedia {
	return &engineMedia{e: e, dir: dir}
}

type engineMedia struct {
	e   *media.Engine
	dir string
}

func (m *engineMedia) Start(ctx context.Context, call ServiceCall) (ServiceStream, error) {
	s, err := m.e.NewSession()
	if err != nil {
		return nil, fmt.Errorf("service media: %w", err)
	}
	var src media.Source
	switch call.Service {
	case ServiceEcho:
		src = media.Echo()
	case ServiceTone:
		src, err = media.ToneSource(ToneHz, toneLevel)
	case ServiceVoicemail:
		src, err = media.ToneSource(greetingHz, greetingDBF)
		if err == nil && m.dir != "" {
			if err = os.MkdirAll(m.dir, 0o700); err == nil {
				err = s.Record(filepath.Join(m.dir, fmt.Sprintf("%s-%s.wav", call.Caller, sanitize(call.CallID))))
			}
		}
	default:
		src = media.Silence()
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("service media: %w", err)
	}
	s.SetSource(src)
	context.AfterFunc(ctx, func() {
		s.StopRecording()
		s.Close()
	})
	return &engineStream{s: s}, nil
}

// engineStream answers offers on one media session and starts it with the
// first answer.
type engineStream struct {
	s    *media.Session
	once sync.Once
}

func (st *engineStream) Answer(offer *sdp.Session) (*sdp.Session, error) {
	ans, err := st.s.Answer(offer, sdp.SendRecv)
	if err != nil {
		return nil, err
	}
	st.once.Do(func() { err = st.s.Start() })
	return ans, err
}

// PacketsReceived counts the caller's valid RTP packets.
func (st *engineStream) PacketsReceived() uint64 { return st.s.Stats().PacketsReceived }

// sanitize keeps a Call-ID usable as part of a file name.
func sanitize(s string) string {
	out := []rune(s)
	for i, r := range out {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			out[i] = '_'
		}
	}
	if len(out) > 64 {
		out = out[:64]
	}
	return string(out)
}
