package driver

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/deskphone/deskphone/phone"
)

// The verbs of the phone lock, the in-band policy, Better Together and a
// firmware change.
func init() {
	Verbs = append(Verbs,
		&Verb{Name: "lock", Help: "lock the phone (it needs a PIN)",
			Parse: noArgs, Run: simple((*phone.Phone).Lock), Step: StepPhone},
		&Verb{Name: "unlock", Usage: "PIN", Help: "unlock the phone with its PIN (or the administrator's code\nwhen the phone asks for it)",
			Parse: needText("unlock needs the PIN"), Run: onPhone((*phone.Phone).Unlock), Step: StepText},
		&Verb{Name: "pin", Usage: "set PIN | change OLD NEW", Help: "create the phone-lock PIN (answers the create-PIN prompt,\nentered and confirmed), or change it",
			Parse: parsePIN, Run: pin, Step: StepText, Check: checkPIN},
		&Verb{Name: "policy", Help: "print the in-band policy in force as key=value lines",
			Parse: noArgs, Run: policyVerb},
		&Verb{Name: "pc", Usage: "pair [CODE] | lock | unlock | call TARGET", Help: "act as the paired PC (Better Together over Ethernet): pair\n(Manual mode needs the code the phone shows), lock and unlock\nwith the PC, click to call",
			Parse: parsePC, Run: pc, Step: StepText},
		&Verb{Name: "firmware", Usage: "VERSION", Help: "install another firmware version and reboot into it on the\nsame state directory (an upgrade or a downgrade)",
			Parse: needText("firmware needs a version"), Run: onPhone((*phone.Phone).ChangeFirmware), Step: StepText},
	)
}

func parsePIN(text string) (Args, error) {
	f := strings.Fields(text)
	switch {
	case len(f) == 2 && f[0] == "set":
		return Args{Text: text}, nil
	case len(f) == 1 && f[0] == "set":
		return Args{Text: "set "}, nil // an empty PIN: the phone says why not
	case len(f) == 3 && f[0] == "change":
		return Args{Text: text}, nil
	}
	return Args{}, errors.New("pin needs: set PIN, or change OLD NEW")
}

// checkPIN finds a PIN that is not digits, which the phone refuses.
func checkPIN(a Args) error {
	for _, pin := range strings.Fields(a.Text)[1:] {
		if strings.Trim(pin, "0123456789") != "" {
			return fmt.Errorf("PIN %q is not digits (a PIN the phone should refuse needs expect_error:)", pin)
		}
	}
	return nil
}

func pin(_ context.Context, t *Target, a Args) (Result, error) {
	f := strings.Fields(a.Text)
	var err error
	switch {
	case len(f) >= 1 && f[0] == "set":
		p := ""
		if len(f) > 1 {
			p = f[1]
		}
		err = t.Phone.SetPIN(p)
	case len(f) == 3 && f[0] == "change":
		err = t.Phone.ChangePIN(f[1], f[2])
	default:
		err = errors.New("pin needs: set PIN, or change OLD NEW")
	}
	if err != nil {
		return Result{}, err
	}
	return screen(t), nil
}

func policyVerb(_ context.Context, t *Target, _ Args) (Result, error) {
	lines, err := t.Phone.PolicyLines()
	if err != nil {
		return Result{}, err
	}
	return Result{Kind: KindStatus, Status: lines}, nil
}

func parsePC(text string) (Args, error) {
	sub, rest, _ := strings.Cut(strings.TrimSpace(text), " ")
	switch sub {
	case "pair", "lock", "unlock":
		return Args{Text: text}, nil
	case "call":
		if strings.TrimSpace(rest) == "" {
			return Args{}, errors.New("pc call needs a target")
		}
		return Args{Text: text}, nil
	}
	return Args{}, errors.New("pc needs: pair [CODE], lock, unlock or call TARGET")
}

func pc(_ context.Context, t *Target, a Args) (Result, error) {
	sub, rest, _ := strings.Cut(strings.TrimSpace(a.Text), " ")
	rest = strings.TrimSpace(rest)
	var err error
	switch sub {
	case "pair":
		err = t.Phone.PC().Pair(rest)
	case "lock":
		err = t.Phone.PC().Lock()
	case "unlock":
		err = t.Phone.PC().Unlock()
	case "call":
		err = t.Phone.PC().Call(rest)
	default:
		err = errors.New("pc needs: pair [CODE], lock, unlock or call TARGET")
	}
	if err != nil {
		return Result{}, err
	}
	return screen(t), nil
}
