package catalog

import (
	"fmt"
	"slices"
	"strings"
)

// Gateway is how a vendor's SIP firmware shows the Teams SIP Gateway: the
// softkeys and lines of its screens while the phone onboards, is signed
// out, pairs, was refused or offboarded. The signed-out and pairing lines
// are the gateway's own when it pushed them (its `screens`); these are
// what shows until it has. Lines take {url}, {code}, {expires} (minutes
// left), {reason}, and on the signed-in idle screen {name} and {number};
// missing entries take DefaultGateway's.
type Gateway struct {
	// Title heads the gateway's screens.
	Title string `yaml:"title"`
	// Softkeys per screen of GatewayScreens; a screen left out has none.
	Softkeys   Softkeys `yaml:"softkeys"`
	Onboarding []string `yaml:"onboarding"`
	SignedOut  []string `yaml:"signed_out"`
	Pairing    []string `yaml:"pairing"`
	Expired    []string `yaml:"expired"`
	Refused    []string `yaml:"refused"`
	Offboarded []string `yaml:"offboarded"`
	// SignedIn are the idle screen's lines while a user is signed in,
	// after the vendor's idle lines: with {name} and {number}, the user's.
	SignedIn []string `yaml:"signed_in"`
}

// GatewayScreens are the gateway's screens; the status key screen shows
// each as gateway_NAME.
var GatewayScreens = []string{"onboarding", "signed_out", "pairing", "expired", "refused", "offboarded"}

// GatewayPlaceholders are the placeholders of the gateway's lines.
var GatewayPlaceholders = []string{"url", "code", "expires", "reason", "name", "number"}

// DefaultGateway is the gateway's screens worded plainly, with a Sign In
// softkey signed out and Back while pairing.
var DefaultGateway = Gateway{
	Title:      "Microsoft Teams",
	Onboarding: []string{"Connecting to the SIP Gateway..."},
	SignedOut:  []string{"Microsoft Teams", "Press Sign In to sign in."},
	Pairing:    []string{"Go to {url}", "and enter the code", "{code}", "Expires in {expires} min"},
	Expired:    []string{"The code has expired.", "Press Back for a new code."},
	Refused:    []string{"Not onboarded:", "{reason}"},
	Offboarded: []string{"{reason}"},
	SignedIn:   []string{"{number}"},
}

// validate fills in what a vendor left out and checks the softkeys and
// placeholders.
func (g *Gateway) validate() *Error {
	d := DefaultGateway
	if g.Title == "" {
		g.Title = d.Title
	}
	for _, w := range []struct {
		name string
		v    *[]string
		def  []string
	}{
		{"onboarding", &g.Onboarding, d.Onboarding}, {"signed_out", &g.SignedOut, d.SignedOut},
		{"pairing", &g.Pairing, d.Pairing}, {"expired", &g.Expired, d.Expired},
		{"refused", &g.Refused, d.Refused}, {"offboarded", &g.Offboarded, d.Offboarded},
		{"signed_in", &g.SignedIn, d.SignedIn},
	} {
		if len(*w.v) == 0 {
			*w.v = slices.Clone(w.def)
		}
		for i, line := range *w.v {
			for _, m := range placeholderRE.FindAllStringSubmatch(line, -1) {
				if !contains(GatewayPlaceholders, m[1]) {
					return &Error{Field: fmt.Sprintf("gateway.%s[%d]", w.name, i), Msg: fmt.Sprintf("unknown placeholder {%s} (known: %s)", m[1], strings.Join(GatewayPlaceholders, ", "))}
				}
			}
		}
	}
	for name, keys := range g.Softkeys {
		if !contains(GatewayScreens, name) {
			return &Error{Field: "gateway.softkeys." + name, Msg: fmt.Sprintf("unknown screen (screens: %s)", strings.Join(GatewayScreens, ", "))}
		}
		for i := range keys {
			if err := checkSoftkey(fmt.Sprintf("gateway.softkeys.%s[%d]", name, i), &keys[i]); err != nil {
				return err
			}
			if keys[i].Action == ActionOpen {
				return &Error{Field: fmt.Sprintf("gateway.softkeys.%s[%d].action", name, i), Msg: "open is not offered on the gateway's screens"}
			}
		}
	}
	return nil
}

// checkSoftkey checks a softkey's label and abbreviation and parses its
// action.
func checkSoftkey(field string, k *Softkey) *Error {
	if k.Label == "" {
		return &Error{Field: field + ".label", Msg: "missing"}
	}
	if k.Short != "" && strings.TrimSpace(k.Short) == "" {
		return &Error{Field: field + ".short", Msg: "blank"}
	}
	if k.Short != "" && len([]rune(k.Short)) >= len([]rune(k.Label)) {
		return &Error{Field: field + ".short", Msg: fmt.Sprintf("%q must be shorter than the label %q", k.Short, k.Label)}
	}
	a, err := ParseAction(k.ActionName)
	if err != nil {
		return &Error{Field: field + ".action", Msg: err.Error()}
	}
	k.Action = a
	return nil
}
