package driver_test

import (
	"fmt"
	"testing"

	"github.com/deskphone/deskphone/driver"
	"github.com/deskphone/deskphone/media"
)

// The port mode reaches the engine: ten calls share at most a few ports
// by default, and bind ten with a pair per call, whether the engine is
// built alone or through Engines.
func TestMediaPorts(t *testing.T) {
	for _, c := range []struct {
		ports      media.Ports
		min, max   int
		viaEngines bool
	}{
		{media.PortsShared, 1, 8, false},
		{media.PortsPerCall, 10, 10, false},
		{media.PortsShared, 1, 8, true},
		{media.PortsPerCall, 10, 10, true},
	} {
		t.Run(fmt.Sprintf("%v/engines=%v", c.ports, c.viaEngines), func(t *testing.T) {
			var md *driver.Media
			var err error
			if c.viaEngines {
				es := &driver.Engines{Ports: c.ports}
				t.Cleanup(es.Close)
				md, err = es.Get("off", "PCMU")
			} else {
				md, err = driver.NewMediaOn("off", "PCMU", nil, c.ports)
				if md != nil {
					t.Cleanup(md.Close)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			ports := map[int]bool{}
			for range 10 {
				s, err := md.Engine.NewSession()
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = s.Close() })
				ports[s.Port()] = true
			}
			if n := len(ports); n < c.min || n > c.max {
				t.Errorf("ten calls on %d local ports, want %d to %d", n, c.min, c.max)
			}
		})
	}
}
