package fleet

import "github.com/deskphone/deskphone/fleet/api"

// Source is the fleet as the control API sees it.
func (f *Fleet) Source() api.Source { return source{f} }

type source struct{ f *Fleet }

func (s source) Phones() []api.Phone {
	phones := s.f.Phones()
	out := make([]api.Phone, len(phones))
	for i, p := range phones {
		out[i] = api.Phone{ID: p.ID, Group: p.Group, Phone: p.Phone}
	}
	return out
}

func (s source) Lookup(id string) (api.Phone, bool) {
	p, ok := s.f.Lookup(id)
	if !ok {
		return api.Phone{}, false
	}
	return api.Phone{ID: p.ID, Group: p.Group, Phone: p.Phone}, true
}
