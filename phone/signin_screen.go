// What the sign-in part shows: its screens, the code and the wording of its failures.

package phone

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/deskphone/deskphone/phone/catalog"
	"golang.org/x/oauth2"
)

// idpReason words a provider error for the screen: its error and
// description, or what went wrong on the way. It never includes the
// request (codes, passwords, tokens).
func idpReason(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		switch {
		case re.ErrorCode == "access_denied" || re.ErrorCode == "authorization_declined":
			return "Sign-in denied"
		case re.ErrorCode != "" && re.ErrorDescription != "":
			return re.ErrorCode + ": " + re.ErrorDescription
		case re.ErrorCode != "":
			return re.ErrorCode
		case re.Response != nil:
			return fmt.Sprintf("the provider answered %s without an OAuth error", re.Response.Status)
		}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return "identity provider unreachable: " + ue.Err.Error()
	}
	return err.Error()
}

// idpProblem is the reason (a key of catalog.SignInReasons) a provider
// error stands for, which the screen words in the vendor's way: from the
// OAuth error code, and for a refused password grant whether the provider
// says legacy authentication is blocked.
func idpProblem(err error) string {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		var ue *url.Error
		if errors.As(err, &ue) {
			return "unreachable"
		}
		return "refused"
	}
	desc := strings.ToLower(re.ErrorDescription)
	switch {
	case re.ErrorCode == "access_denied" || re.ErrorCode == "authorization_declined":
		return "denied"
	case re.ErrorCode == "invalid_client" || re.ErrorCode == "unauthorized_client":
		return "client_refused"
	case re.ErrorCode == "invalid_grant" && (strings.Contains(desc, "legacy") || strings.Contains(desc, "resource owner password")):
		return "legacy_auth"
	case re.ErrorCode == "":
		return "unreachable" // an answer that is not OAuth
	}
	return "refused"
}

// sessionProblem is the reason a refused refresh ends a session for: the
// client ID refused (the cutoff) says so; anything else ended the
// sign-in (revoked, expired, a disabled user).
func sessionProblem(err error) string {
	if why := idpProblem(err); why == "client_refused" {
		return why
	}
	return whyEnded
}

// signInScreen is the sign-in screen to show, "" when none: the code, its
// expiry, or the methods while signed out. A vendor without sign-in
// screens in its catalog shows its idle screen.
func (p *Phone) signInScreen() string {
	if p.signin == nil || p.s.calls.state() != CallIdle {
		return ""
	}
	name := ""
	switch s := &p.s.session; {
	case s.web != nil && s.web.expired:
		name = "signin_expired"
	case s.web != nil:
		name = "signin_code"
	case s.tok == nil && !s.busy:
		name = "signin"
	}
	if _, ok := p.model.Vendor.Softkeys[name]; !ok {
		return ""
	}
	return name
}

// signInOffered reports whether a sign-in softkey's method is offered by
// the firmware (other softkeys always are).
func (p *Phone) signInOffered(k string) bool {
	m, ok := map[string]string{"signin_web": "web", "signin_user": "user", "signin_pin": "pin", "signin_pc": "pc"}[k]
	return !ok || p.s.session.offers(m)
}

// renderSignIn fills the sign-in screen.
func (p *Phone) renderSignIn(s *Screen) {
	ui := p.model.Vendor.SignIn
	s.Title = ui.Title
	lines := []string{}
	switch ss := &p.s.session; p.signInScreen() {
	case "signin_code":
		lines = ui.Code
	case "signin_expired":
		lines = ui.Expired
	default:
		// The vendor's wording of the reason: the provider's raw text
		// stays in the syslog and signin_error.
		if words := ui.Reasons[ss.why]; words != "" {
			lines = []string{words}
			if catalog.SignInReasons[ss.why].Failure {
				lines = []string{ui.Failed + ":", words}
			}
		}
	}
	for _, l := range lines {
		for _, w := range wrapText(p.expand(l), s.Columns-2) {
			s.Lines = append(s.Lines, Line{Text: w})
		}
	}
}

// signInCode is the code on the screen, its address and time left.
func (p *Phone) signInCode() (code, u string, left time.Duration) {
	dc := p.s.session.web
	if dc == nil || dc.expired {
		return "", "", 0
	}
	return dc.userCode, dc.url, max(dc.expiry.Sub(p.clock.Now()), 0)
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
