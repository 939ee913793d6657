package driver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/deskphone/deskphone/phone"
)

// The sign-in verbs, registered in the one verb table.
func init() {
	Verbs = append(Verbs,
		&Verb{Name: "signin", Usage: "web|pc|retry|password USER PASSWORD|pin EXTENSION PIN",
			Help:  "sign in: web (a code to enter at the provider's page), pc (a\npairing code for the PC app), retry (a new code after expiry),\npassword (user credentials), pin (on-premises accounts)\non a Teams SIP Gateway phone, signin alone starts pairing (retry is\nBack: a new pairing code)",
			Parse: parseSignIn, Run: signIn, Step: StepText},
		&Verb{Name: "signout", Help: "sign out: tokens cleared, registration removed\n(a gateway phone signs out at the gateway, registers as the device)",
			Parse: noArgs, Run: simple((*phone.Phone).SignOut), Step: StepPhone},
		&Verb{Name: "browser_signin", Usage: "USER PASSWORD [allow|deny]",
			Help:  "be the person at the browser: open the phone's signin_url,\nenter its signin_code, sign in as USER, Continue (or Deny)\n(on a gateway phone: its pairing_url and pairing_code)",
			Parse: parseBrowser, Run: browserSignIn, Step: StepFields, Fields: []string{"user", "password", "decision"}},
	)
}

// parseSignIn checks the method and its arguments.
func parseSignIn(text string) (Args, error) {
	f := strings.Fields(text)
	if len(f) == 0 {
		// A gateway phone pairs; another says it needs a method (Run).
		return Args{}, nil
	}
	want := map[string]int{"web": 1, "pc": 1, "retry": 1, "password": 3, "pin": 3}
	n, ok := want[strings.ToLower(f[0])]
	switch {
	case !ok:
		return Args{}, fmt.Errorf("signin %q: the methods are web, pc, retry, password and pin", f[0])
	case len(f) != n && n == 3:
		return Args{}, fmt.Errorf("signin %s needs two values (signin password USER PASSWORD, signin pin EXTENSION PIN)", f[0])
	case len(f) != n:
		return Args{}, fmt.Errorf("signin %s takes nothing more", f[0])
	}
	return Args{Text: strings.Join(f, " ")}, nil
}

// Browser answers a web sign-in code at the page: it opens page, enters
// code, signs in as user and allows or denies. The cloud's idp.Approve is
// one; the driver does not link the cloud, so front ends hand it over.
type Browser func(ctx context.Context, page, code, user, password string, allow bool) error

// parseBrowser checks USER PASSWORD [allow|deny].
func parseBrowser(text string) (Args, error) {
	f := strings.Fields(text)
	const msg = "browser_signin needs USER PASSWORD [allow|deny]"
	if len(f) == 3 && f[2] != "allow" && f[2] != "deny" {
		return Args{}, &ArgError{Msg: msg, Got: f[2], Known: []string{"allow", "deny"}}
	}
	if len(f) < 2 || len(f) > 3 {
		return Args{}, errors.New(msg)
	}
	return Args{Text: strings.Join(f, " ")}, nil
}

// codeWait bounds how long browser_signin waits for a code the phone
// asked for to show.
const codeWait = 10 * time.Second

// browserSignIn answers the phone's web sign-in code at the provider's
// page through its forms, as the person at the browser would.
func browserSignIn(ctx context.Context, t *Target, a Args) (Result, error) {
	a, err := parseBrowser(a.Text)
	if err != nil {
		return Result{}, err
	}
	f := strings.Fields(a.Text)
	st, err := t.Phone.State()
	if err != nil {
		return Result{}, err
	}
	if st.SignInCode == "" && st.PairingCode == "" && (st.Gateway == phone.GatewaySigningIn || st.Session == phone.SigningIn) {
		// Asked for, not shown yet: the person looks at the phone until
		// it shows the code (on virtual time the runner moves the clock).
		opts := WaitOptions{Timeout: codeWait}
		if t.Pace != nil {
			opts = t.Pace(Cond{}, codeWait)
		}
		err := Wait(ctx, t.Phone, func(p *phone.Phone) (bool, string, error) {
			st, err := p.State()
			return err == nil && (st.SignInCode != "" || st.PairingCode != ""), "no code on the screen", err
		}, opts)
		var te *TimeoutError
		if err != nil && !errors.As(err, &te) {
			return Result{}, err
		}
		if st, err = t.Phone.State(); err != nil {
			return Result{}, err
		}
	}
	page, code := st.SignInURL, st.SignInCode
	if code == "" {
		// A gateway phone's pairing code.
		page, code = st.PairingURL, st.PairingCode
	}
	if code == "" {
		if st.Gateway != phone.GatewayNone {
			return Result{}, fmt.Errorf("the phone shows no pairing code (gateway %s, gateway_error %q)", st.Gateway, st.GatewayError)
		}
		return Result{}, fmt.Errorf("the phone shows no sign-in code (session %s, signin_error %q)", st.Session, st.SignInError)
	}
	if t.Browser == nil {
		return Result{}, errors.New("browser_signin: no browser here")
	}
	allow := len(f) == 2 || f[2] == "allow"
	if err := t.Browser(ctx, page, code, f[0], f[1], allow); err != nil {
		return Result{}, fmt.Errorf("browser sign-in: %w", err)
	}
	return screen(t), nil
}

func signIn(_ context.Context, t *Target, a Args) (Result, error) {
	a, err := parseSignIn(a.Text)
	if err != nil {
		return Result{}, err
	}
	f := strings.Fields(a.Text)
	if len(f) == 0 {
		st, err := t.Phone.State()
		if err != nil {
			return Result{}, err
		}
		if st.Gateway == phone.GatewayNone {
			return Result{}, errors.New("signin needs a method: web, pc, retry, password USER PASSWORD or pin EXTENSION PIN")
		}
		f = []string{"web"}
	}
	switch strings.ToLower(f[0]) {
	case "web", "pc":
		err = t.Phone.SignInWeb(strings.ToLower(f[0]))
	case "retry":
		err = t.Phone.SignInRetry()
	case "password":
		err = t.Phone.SignInPassword(f[1], f[2])
	case "pin":
		err = t.Phone.SignInPIN(f[1], f[2])
	}
	if err != nil {
		return Result{}, err
	}
	return screen(t), nil
}
