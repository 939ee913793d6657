package gateway

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// Pairing bounds: the poll interval the phone keeps to whatever the
// gateway says, and the longest code it believes.
const (
	intervalMin = time.Second
	intervalMax = time.Minute
	expiresMax  = time.Hour
)

// ErrNotSignedOut: pairing or signing out asked for in a state that has
// none (not onboarded, already signed in or out).
var ErrNotSignedOut = errors.New("gateway: not signed out")

// ErrNotSignedIn: sign-out asked for while no user is signed in.
var ErrNotSignedIn = errors.New("gateway: no user signed in")

// SignIn starts pairing (the Sign In softkey): the gateway gives a code
// the user enters at its address; the phone polls until it is used. From
// the pairing screen it is Back: a new code.
func (a *Agent) SignIn() error {
	if a.state != SignedOut && a.state != SigningIn {
		return ErrNotSignedOut
	}
	a.endPairing()
	a.state, a.err = SigningIn, ""
	a.env.Log("info", "pairing: asking the SIP Gateway for a code")
	var pc pairing
	body := a.req(false)
	a.do(true, func(ctx context.Context) error {
		return post(ctx, a.client, a.url, "/pair", body, &pc)
	}, func(err error) {
		if err == nil {
			err = pc.check()
		}
		if err != nil {
			a.pairFailed(err)
			return
		}
		now := a.env.Clock().Now()
		a.pair = &pairCode{code: pc.Code, url: pc.URL,
			expires:  now.Add(min(time.Duration(pc.ExpiresIn)*time.Second, expiresMax)),
			interval: min(max(time.Duration(pc.Interval)*time.Second, intervalMin), intervalMax)}
		a.env.Log("info", "pairing code %s at %s", pc.Code, pc.URL)
		a.start(&a.expiry, a.pair.expires.Sub(now), a.codeExpired)
		a.start(&a.poll, a.pair.interval, a.pollOnce)
	})
	return nil
}

// Back is the pairing screen's Back: a new code.
func (a *Agent) Back() {
	if a.state == SigningIn {
		_ = a.SignIn()
	}
}

// endPairing forgets the code and drops what is out for it.
func (a *Agent) endPairing() {
	a.pairGen++
	a.pair = nil
	a.poll.Stop()
	a.expiry.Stop()
}

// codeExpired: the code ran out; the screen says so until Back.
func (a *Agent) codeExpired() {
	if a.pair == nil {
		return
	}
	a.pairGen++ // a poll still out is moot
	a.poll.Stop()
	a.pair.expired = true
	a.env.Log("info", "pairing code expired")
}

// pollOnce asks whether the pairing is done.
func (a *Agent) pollOnce() {
	if a.pair == nil || a.pair.expired {
		return
	}
	var ans pollAnswer
	body := a.req(false)
	a.do(true, func(ctx context.Context) error {
		return post(ctx, a.client, a.url, "/pair/poll", body, &ans)
	}, func(err error) {
		if err != nil {
			a.pairFailed(err)
			return
		}
		switch ans.Status {
		case "pending":
			a.start(&a.poll, a.pair.interval, a.pollOnce)
		case "signed-in":
			a.env.Log("notice", "pairing done: fetching the user's account")
			a.poll.Stop()
			a.fetch()
		case "expired":
			a.codeExpired()
		case "denied":
			a.endPairing()
			a.state, a.err = SignedOut, clean(ans.Reason, 200)
			if a.err == "" {
				a.err = "sign-in denied"
			}
			a.env.Log("warn", "pairing denied: %s", a.err)
		default:
			// Unknown: ask again, as for pending.
			a.start(&a.poll, a.pair.interval, a.pollOnce)
		}
	})
}

// pairFailed: a pairing request was refused or failed.
func (a *Agent) pairFailed(err error) {
	a.endPairing()
	var ref *refusal
	switch {
	case errors.As(err, &ref) && ref.Status == http.StatusGone:
		a.provisioned(&provisioning{}, err)
		return
	case errors.As(err, &ref) && ref.Status == http.StatusConflict:
		// Signed in already (elsewhere): the provisioning says as whom.
		a.state = SignedOut
		a.fetch()
		return
	case errors.As(err, &ref) && ref.Reason != "":
		a.err = ref.Reason
	default:
		a.err = err.Error()
	}
	a.state = SignedOut
	a.env.Log("err", "pairing: %s", a.err)
}

// SignOut signs the user out (POST BASE/signout): the phone registers as
// the device again.
func (a *Agent) SignOut() error {
	if a.state != SignedIn {
		return ErrNotSignedIn
	}
	a.env.Log("info", "signing out of the SIP Gateway")
	var prov provisioning
	body := a.req(false)
	a.do(false, func(ctx context.Context) error {
		return post(ctx, a.client, a.url, "/signout", body, &prov)
	}, func(err error) {
		a.provisioned(&prov, err)
	})
	return nil
}
