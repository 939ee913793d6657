// What the sign-in part shows: its screens and the code.

package phone

import (
	"strings"

	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/signin"
)

// signInScreen is the sign-in screen to show, "" when none: the code, its
// expiry, or the methods while signed out, unless hidden (a call is up, or
// the phone signs in through the gateway). A
// vendor without sign-in screens in its catalog shows its idle screen.
func signInScreen(s *signin.Session, hidden bool, v *catalog.Vendor) string {
	if !s.Configured() || hidden {
		return ""
	}
	name := ""
	switch code, _, _ := s.Code(); {
	case s.Expired():
		name = "signin_expired"
	case code != "":
		name = "signin_code"
	case s.Tokens() == nil && !s.Busy():
		name = "signin"
	}
	if _, ok := v.Softkeys[name]; !ok {
		return ""
	}
	return name
}

// signInOffered reports whether a sign-in softkey's method is offered by
// the firmware (other softkeys always are).
func signInOffered(s *signin.Session, k string) bool {
	m, ok := map[string]string{"signin_web": "web", "signin_user": "user", "signin_pin": "pin", "signin_pc": "pc"}[k]
	return !ok || s.Offers(m)
}

// renderSignIn fills the sign-in screen name of the session, in the
// vendor's words with the phone's {placeholders} (expand).
func renderSignIn(s *Screen, name string, sess *signin.Session, v *catalog.Vendor, expand func(string) string) {
	ui := v.SignIn
	s.Title = ui.Title
	lines := []string{}
	switch why := sess.Why(); name {
	case "signin_code":
		lines = ui.Code
	case "signin_expired":
		lines = ui.Expired
	default:
		// The vendor's wording of the reason: the provider's raw text
		// stays in the syslog and signin_error.
		if words := ui.Reasons[why]; words != "" {
			lines = []string{words}
			if catalog.SignInReasons[why].Failure {
				lines = []string{ui.Failed + ":", words}
			}
		}
	}
	for _, l := range lines {
		for _, w := range wrapText(expand(l), s.Columns-2) {
			s.Lines = append(s.Lines, Line{Text: w})
		}
	}
}

// wrapText breaks text into lines of at most width runes, at spaces where
// it can.
func wrapText(text string, width int) []string {
	if width < 8 {
		width = 8
	}
	var out []string
	for len([]rune(text)) > width {
		r := []rune(text)
		cut := strings.LastIndex(string(r[:width]), " ")
		if cut <= 0 {
			cut = len(string(r[:width]))
		}
		out = append(out, strings.TrimSpace(text[:cut]))
		text = strings.TrimSpace(text[cut:])
	}
	return append(out, text)
}
