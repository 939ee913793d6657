package main

import (
	"errors"
	"fmt"

	"github.com/deskphone/deskphone/driver"
)

// newMedia builds the process's media from the --srtp and --codecs flags,
// naming the flag in its errors.
func newMedia(srtp, list string) (*driver.Media, error) {
	md, err := driver.NewMedia(srtp, list)
	switch {
	case errors.Is(err, driver.ErrSRTP):
		return nil, fmt.Errorf("--%w", err)
	case errors.Is(err, driver.ErrNoCodecs):
		return nil, fmt.Errorf("--codecs: %w", driver.ErrNoCodecs)
	}
	return md, err
}
