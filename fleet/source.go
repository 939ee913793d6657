package fleet

import (
	"fmt"
	"time"

	"github.com/deskphone/deskphone/fleet/api"
)

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

// LoadControl is the fleet's call load as the control API drives it.
func (f *Fleet) LoadControl() api.LoadControl { return loadControl{f} }

type loadControl struct{ f *Fleet }

func (c loadControl) StartLoad(spec api.LoadSpec) (api.LoadInfo, error) {
	cfg := LoadConfig{Rate: spec.Rate, MaxCalls: spec.MaxCalls, Calls: spec.Calls, To: spec.To}
	for _, d := range []struct {
		name, s string
		to      *time.Duration
	}{{"duration", spec.Duration, &cfg.Duration}, {"for", spec.For, &cfg.For}, {"timeout", spec.Timeout, &cfg.Timeout}} {
		if d.s == "" {
			continue
		}
		v, err := time.ParseDuration(d.s)
		if err != nil {
			return api.LoadInfo{}, fmt.Errorf("%s %q: want a duration like 10s: %w", d.name, d.s, err)
		}
		*d.to = v
	}
	if l := c.f.CurrentLoad(); l != nil && l.Running() {
		return api.LoadInfo{}, api.ErrLoadRunning
	}
	l, err := c.f.StartLoad(cfg)
	if err != nil {
		return api.LoadInfo{}, err
	}
	return loadInfo(l), nil
}

func (c loadControl) ChangeLoad(ch api.LoadChange) (api.LoadInfo, error) {
	l := c.f.CurrentLoad()
	if l == nil || !l.Running() {
		return api.LoadInfo{}, api.ErrNoLoad
	}
	if err := l.Change(ch.Rate, ch.MaxCalls); err != nil {
		return api.LoadInfo{}, err
	}
	return loadInfo(l), nil
}

func (c loadControl) StopLoad() (api.LoadInfo, error) {
	l := c.f.CurrentLoad()
	if l == nil {
		return api.LoadInfo{}, api.ErrNoLoad
	}
	l.Stop()
	return loadInfo(l), nil
}

func (c loadControl) Load() (api.LoadInfo, bool) {
	l := c.f.CurrentLoad()
	if l == nil {
		return api.LoadInfo{}, false
	}
	return loadInfo(l), true
}

// loadInfo is l as the API shows it.
func loadInfo(l *CallLoad) api.LoadInfo {
	cfg, s := l.Config(), l.Summary()
	dur := func(d time.Duration) string {
		if d == 0 {
			return ""
		}
		return d.String()
	}
	fig := func(x float64) *float64 {
		if x < 0 {
			return nil
		}
		return &x
	}
	return api.LoadInfo{Running: l.Running(), Placing: l.Placing(),
		Config: api.LoadSpec{Rate: cfg.Rate, Duration: dur(cfg.Duration), MaxCalls: cfg.MaxCalls, Calls: cfg.Calls,
			For: dur(cfg.For), Timeout: dur(cfg.Timeout), To: cfg.To},
		Summary: api.LoadSummary{Attempted: s.Attempted, Answered: s.Answered, Failed: s.Failed, Cancelled: s.Cancelled,
			InFlight: s.InFlight, Up: s.Up, Failures: s.Failures, SetupP50: fig(s.SetupP50), SetupP95: fig(s.SetupP95),
			SetupP99: fig(s.SetupP99), MOSP5: fig(s.MOSP5), MOSP50: fig(s.MOSP50), JitterP99: fig(s.JitterP99), Loss: fig(s.Loss)}}
}
