package driver

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// forwardModes are the words forward takes first.
var forwardModes = []string{"always", "busy", "noanswer", "off"}

// parseForward reads forward's forms: always|busy TARGET, noanswer TARGET
// [SECONDS], off.
func parseForward(text string) (Args, error) {
	f := strings.Fields(text)
	if len(f) == 0 {
		return Args{}, errors.New("forward needs always|busy|noanswer TARGET [SECONDS], or off")
	}
	mode := f[0]
	switch {
	case mode == "off" && len(f) > 1:
		return Args{}, errors.New("forward off takes nothing more")
	case mode == "off":
	case mode != "always" && mode != "busy" && mode != "noanswer":
		return Args{}, &ArgError{Msg: fmt.Sprintf("forward %q: the modes are always, busy, noanswer, off", mode), Got: mode, Known: forwardModes}
	case len(f) < 2:
		return Args{}, fmt.Errorf("forward %s needs a target", mode)
	case mode != "noanswer" && len(f) > 2:
		return Args{}, fmt.Errorf("forward %s takes a target only (seconds are for noanswer)", mode)
	case len(f) > 3:
		return Args{}, errors.New("forward noanswer takes a target and seconds")
	case len(f) == 3:
		if n, err := strconv.Atoi(f[2]); err != nil || n < 1 {
			return Args{}, fmt.Errorf("forward noanswer: %q is not a number of seconds", f[2])
		}
	}
	return Args{Text: strings.Join(f, " ")}, nil
}

// forward sets or clears the phone's call forwarding.
func forward(_ context.Context, t *Target, a Args) (Result, error) {
	f := strings.Fields(a.Text)
	var err error
	if f[0] == "off" {
		err = t.Phone.Line().ForwardOff()
	} else {
		seconds := 0
		if len(f) == 3 {
			seconds, _ = strconv.Atoi(f[2])
		}
		err = t.Phone.Line().Forward(f[0], f[1], seconds)
	}
	if err != nil {
		return Result{}, err
	}
	return screen(t), nil
}
