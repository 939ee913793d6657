package scenarios

import (
	"sort"
	"sync"
	"time"
)

// timeline maps wall-clock instants to the scenario's clock, so what was
// stamped on the wall clock (SIP messages, traced by the SIP library) is
// reported on the scenario clock like screens and syslog. The runner
// records every move of its clock; between moves a virtual clock stands
// still and a wall clock (realtime) runs with the wall.
type timeline struct {
	mu sync.Mutex
	// running: the scenario clock runs with the wall between moves.
	running bool
	points  []timePoint
}

type timePoint struct{ wall, at time.Time }

// moved records that from wall on, the scenario clock reads at.
func (tl *timeline) moved(wall, at time.Time) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.points = append(tl.points, timePoint{wall: wall, at: at})
}

// at is the scenario time at wall instant w.
func (tl *timeline) at(w time.Time) time.Time {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	i := sort.Search(len(tl.points), func(i int) bool { return tl.points[i].wall.After(w) })
	if i == 0 {
		if len(tl.points) == 0 {
			return w
		}
		i = 1 // before the first point: the clock's start
	}
	p := tl.points[i-1]
	if tl.running {
		return p.at.Add(w.Sub(p.wall))
	}
	return p.at
}
