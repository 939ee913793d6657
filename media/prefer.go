package media

import (
	"slices"

	"github.com/deskphone/deskphone/codecs"
	"github.com/deskphone/deskphone/media/sdp"
)

// PreferCodecs puts the engine's codecs named in order (a policy list
// such as "PCMU;G722_8000") first in this session's next offer, in that
// order; the others follow as the engine lists them. Names the engine
// does not carry are left out.
func (s *Session) PreferCodecs(order string) {
	var out []sdp.Format
	for _, c := range codecs.Prefer(s.e.cfg.Codecs, order) {
		out = append(out, formatOf(c))
	}
	out = append(out, sdp.TelephoneEvent)
	s.mu.Lock()
	s.formats = out
	s.mu.Unlock()
}

// Codecs are the engine's codecs in its own order: what a session offers
// before PreferCodecs.
func (e *Engine) Codecs() []codecs.Codec { return slices.Clone(e.cfg.Codecs) }

// offerFormats are the formats this session offers.
func (s *Session) offerFormats() []sdp.Format {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.formats != nil {
		return s.formats
	}
	return s.e.formats
}
