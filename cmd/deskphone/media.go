package main

import (
	"errors"
	"fmt"

	"github.com/deskphone/deskphone/codecs"
	"github.com/deskphone/deskphone/media"
)

// defaultCodecs is the in-band policy's PrioritizedCodecsList.
const defaultCodecs = "G722_8000;PCMU;PCMA;G729"

// newMediaEngine builds the process's media engine from the --srtp and
// --codecs flags; notes name the codecs it had to skip.
func newMediaEngine(srtp, list string) (*media.Engine, []string, error) {
	mode, err := media.ParseMode(srtp)
	if err != nil {
		return nil, nil, fmt.Errorf("--srtp: %w", err)
	}
	cs, skipped := codecs.ParseOrder(list)
	if len(cs) == 0 {
		return nil, nil, errors.New("--codecs: none of the codecs is supported (PCMU, PCMA, G722)")
	}
	var notes []string
	for _, name := range skipped {
		notes = append(notes, fmt.Sprintf("codec %s from the codec list is not supported; skipped", name))
	}
	e, err := media.NewEngine(media.Config{SRTP: mode, Codecs: cs})
	if err != nil {
		return nil, nil, err
	}
	return e, notes, nil
}
