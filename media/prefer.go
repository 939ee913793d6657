package media

import (
	"github.com/deskphone/deskphone/codecs"
	"github.com/deskphone/deskphone/media/sdp"
)

// PreferCodecs puts the engine's codecs named in order (a policy list
// such as "PCMU;G722_8000") first in this session's next offer, in that
// order; the others follow as the engine lists them. Names the engine
// does not carry are left out.
func (s *Session) PreferCodecs(order string) {
	list, _ := codecs.ParseOrder(order)
	var out []sdp.Format
	used := make([]bool, len(s.e.formats))
	for _, c := range list {
		f := formatOf(c)
		for i, have := range s.e.formats {
			if !used[i] && !have.IsTelephoneEvent() && have.Matches(f) {
				out, used[i] = append(out, have), true
			}
		}
	}
	for i, have := range s.e.formats {
		if !used[i] {
			out = append(out, have)
		}
	}
	s.mu.Lock()
	s.formats = out
	s.mu.Unlock()
}

// offerFormats are the formats this session offers.
func (s *Session) offerFormats() []sdp.Format {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.formats != nil {
		return s.formats
	}
	return s.e.formats
}
