package main

import (
	"errors"
	"fmt"

	"github.com/deskphone/deskphone/driver"
	"github.com/deskphone/deskphone/media"
)

// newMedia builds the process's media from the --srtp and --codecs flags,
// naming the flag in its errors; tap (nil: none) sees its RTP in the clear.
func newMedia(srtp, list string, tap media.Tap) (*driver.Media, error) {
	md, err := driver.NewTappedMedia(srtp, list, tap)
	switch {
	case errors.Is(err, driver.ErrSRTP):
		return nil, fmt.Errorf("--%w", err)
	case errors.Is(err, driver.ErrNoCodecs):
		return nil, fmt.Errorf("--codecs: %w", driver.ErrNoCodecs)
	}
	return md, err
}
