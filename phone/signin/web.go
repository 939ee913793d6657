// Web sign-in: the device authorization grant (RFC 8628) with its code on
// the screen, polled on the phone's clock.

package signin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/oauth2"
)

// deviceCode is a web sign-in code on the screen (RFC 8628).
type deviceCode struct {
	deviceCode string // secret: never logged
	userCode   string
	url        string
	expiry     time.Time // phone clock
	interval   time.Duration
	expired    bool
}

// Web starts web sign-in ("web") or sign-in via PC ("pc", whose pairing
// code is the same device code, entered in the PC app): discovery, then
// the device authorization request.
func (s *Session) Web(method Method) error {
	if method != "web" && method != "pc" {
		return fmt.Errorf("%w: %q is not a device-code method", ErrMethodOffered, method)
	}
	if err := s.begin(method); err != nil {
		return err
	}
	issuer, vendor, model := s.cfg.Issuer, s.env.Manufacturer, s.env.Model
	cfg := s.oauthConfig(oauth2.Endpoint{})
	s.env.Log("info", "%s sign-in at %s with client ID %s", method, issuer, cfg.ClientID)
	s.do(func(ctx context.Context) (any, error) {
		ep, err := discover(ctx, issuer)
		if err != nil {
			return nil, err
		}
		if ep.DeviceAuthURL == "" {
			return nil, errors.New("the provider offers no device authorization (RFC 8628)")
		}
		cfg.Endpoint.DeviceAuthURL, cfg.Endpoint.TokenURL = ep.DeviceAuthURL, ep.TokenURL
		var next http.RoundTripper = http.DefaultTransport
		if cfg.ClientSecret != "" {
			// oauth2's DeviceAuth sends client_id alone; a confidential
			// client authenticates there too (RFC 8628 §3.1), by HTTP
			// Basic as at the token endpoint.
			next = basicAuth{url: ep.DeviceAuthURL, id: cfg.ClientID, secret: cfg.ClientSecret}
		}
		life := &lifeReader{url: ep.DeviceAuthURL, next: next}
		ctx = context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Timeout: idpTimeout, Transport: life})
		da, err := cfg.DeviceAuth(ctx, oauth2.SetAuthURLParam("manufacturer", vendor), oauth2.SetAuthURLParam("model", model))
		if err != nil {
			return nil, err
		}
		if life.life <= 0 {
			return nil, errors.New("the device authorization response has no expires_in (RFC 8628 §3.2)")
		}
		return deviceAuth{da: da, life: life.life}, nil
	}, func(v any, err error) {
		s.busy = false
		if err != nil {
			s.failed(err)
			return
		}
		s.showCode(cfg, v.(deviceAuth))
	})
	return nil
}

type deviceAuth struct {
	da   *oauth2.DeviceAuthResponse
	life time.Duration
}

// showCode puts the code on the screen and starts polling and the expiry,
// both on the phone's clock. oauth2 computed the expiry on the host's
// clock; the phone takes only its length.
func (s *Session) showCode(cfg *oauth2.Config, r deviceAuth) {
	if r.da.DeviceCode == "" || r.da.UserCode == "" || r.da.VerificationURI == "" {
		s.failed(errors.New("the provider's device authorization lacks a code or an address"))
		return
	}
	life := r.life
	if r.da.Expiry.IsZero() || life <= 0 {
		life = codeLifeDefault
	}
	interval := time.Duration(r.da.Interval) * time.Second
	if interval <= 0 {
		interval = pollDefault
	}
	dc := &deviceCode{deviceCode: r.da.DeviceCode, userCode: r.da.UserCode, url: r.da.VerificationURI, expiry: s.env.Clock().Now().Add(life), interval: interval}
	s.web = dc
	s.env.Log("notice", "sign-in code %s at %s, expires in %v", dc.userCode, dc.url, life)
	s.start(&s.expiry, life, func() {
		if s.web == dc {
			s.poll.Stop()
			dc.expired = true
			s.env.Log("warn", "sign-in code %s expired", dc.userCode)
		}
	})
	s.schedulePoll(cfg, dc, dc.interval)
}

func (s *Session) schedulePoll(cfg *oauth2.Config, dc *deviceCode, wait time.Duration) {
	s.start(&s.poll, wait, func() {
		if s.web != dc || dc.expired {
			return
		}
		s.pollOnce(cfg, dc)
	})
}

// pollOnce asks the token endpoint once whether the code was approved.
// oauth2's DeviceAccessToken runs its own loop on the host's clock; the
// phone polls on its own clock instead, each poll one token request made
// with Exchange carrying RFC 8628's grant type, so oauth2 still does the
// client authentication, the error parsing and the token.
func (s *Session) pollOnce(cfg *oauth2.Config, dc *deviceCode) {
	code := dc.deviceCode
	s.do(func(ctx context.Context) (any, error) {
		return cfg.Exchange(ctx, "",
			oauth2.SetAuthURLParam("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
			oauth2.SetAuthURLParam("device_code", code),
			oauth2.SetAuthURLParam("client_id", cfg.ClientID))
	}, func(v any, err error) {
		if s.web != dc || dc.expired {
			return
		}
		var re *oauth2.RetrieveError
		switch {
		case err == nil:
			s.web = nil
			s.expiry.Stop()
			s.tokensCame(cfg, v.(*oauth2.Token))
		case errors.As(err, &re) && re.ErrorCode == "authorization_pending":
			s.schedulePoll(cfg, dc, dc.interval)
		case errors.As(err, &re) && re.ErrorCode == "slow_down":
			dc.interval += slowDownStep
			s.env.Log("info", "the provider asks to slow down: polling every %v", dc.interval)
			s.schedulePoll(cfg, dc, dc.interval)
		case errors.As(err, &re) && re.ErrorCode == "expired_token":
			s.expiry.Stop()
			dc.expired = true
			s.env.Log("warn", "sign-in code %s expired", dc.userCode)
		case errors.As(err, &re) && re.ErrorCode != "":
			s.web = nil
			s.expiry.Stop()
			s.failed(err)
		default:
			// Down, or not OAuth: say so and try again later, never at once.
			s.err, s.why = idpReason(err), idpProblem(err)
			s.env.Log("warn", "polling the provider failed: %s; next try in %v", s.err, idpRetry)
			s.schedulePoll(cfg, dc, max(idpRetry, dc.interval))
		}
	})
}
