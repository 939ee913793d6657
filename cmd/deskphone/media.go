package main

import (
	"errors"
	"fmt"

	"github.com/deskphone/deskphone/driver"
	"github.com/deskphone/deskphone/media"
)

// newMedia builds the process's media from the --srtp, --codecs and
// --media-ports flags, naming the flag in its errors; tap (nil: none) sees
// its RTP in the clear.
func newMedia(srtp, list, ports string, tap media.Tap) (*driver.Media, error) {
	p, err := mediaPorts(ports)
	if err != nil {
		return nil, err
	}
	md, err := driver.NewMediaOn(srtp, list, tap, p)
	switch {
	case errors.Is(err, driver.ErrSRTP):
		return nil, fmt.Errorf("--%w", err)
	case errors.Is(err, driver.ErrNoCodecs):
		return nil, fmt.Errorf("--codecs: %w", driver.ErrNoCodecs)
	}
	return md, err
}

// mediaPorts reads --media-ports.
func mediaPorts(flag string) (media.Ports, error) {
	p, err := media.ParsePorts(flag)
	if err != nil {
		return 0, badFlag("--media-ports %q: want shared or per-call", flag)
	}
	return p, nil
}

// mediaPortsUsage is the --media-ports line of the help texts.
const mediaPortsUsage = `  --media-ports shared|per-call
                      the calls share a few local RTP ports, found by the far
                      end's SSRC (default), or each binds a pair of its own,
                      for far ends that tell calls apart by port alone`
