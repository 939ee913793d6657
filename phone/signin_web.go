// Web sign-in: the device authorization grant (RFC 8628) with its code on the screen, polled on the phone's clock.

package phone

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// discover reads the provider's OpenID configuration.
func discover(ctx context.Context, issuer string) (oauth2.Endpoint, error) {
	var ep oauth2.Endpoint
	u := strings.TrimRight(issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return ep, fmt.Errorf("discovery: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	c, _ := ctx.Value(oauth2.HTTPClient).(*http.Client)
	res, err := c.Do(req)
	if err != nil {
		return ep, fmt.Errorf("discovery: %w", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxIdPResponse))
	if err != nil {
		return ep, fmt.Errorf("discovery: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return ep, fmt.Errorf("discovery: %s answered %s", u, res.Status)
	}
	if mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); mt != "application/json" {
		return ep, fmt.Errorf("discovery: %s answered %q, not JSON", u, mt)
	}
	var doc struct {
		Issuer       string `json:"issuer"`
		Device       string `json:"device_authorization_endpoint"`
		Token        string `json:"token_endpoint"`
		Authorizaton string `json:"authorization_endpoint"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return ep, fmt.Errorf("discovery: %w", err)
	}
	if strings.TrimRight(doc.Issuer, "/") != strings.TrimRight(issuer, "/") {
		return ep, fmt.Errorf("discovery: the provider names issuer %q, not %q", doc.Issuer, issuer)
	}
	if doc.Token == "" {
		return ep, errors.New("discovery: no token_endpoint")
	}
	return oauth2.Endpoint{AuthURL: doc.Authorizaton, DeviceAuthURL: doc.Device, TokenURL: doc.Token}, nil
}

// signInWeb starts web sign-in (and sign-in via PC, whose pairing code is
// the same device code, entered in the PC app): discovery, then the device
// authorization request.
func (p *Phone) signInWeb(method signInMethod) error {
	if err := p.signInStart(method); err != nil {
		return err
	}
	issuer, vendor, model := p.signin.Issuer, p.model.Vendor.Name, p.model.Name
	cfg := p.oauthConfig(oauth2.Endpoint{})
	p.logf("signin", "info", "signin", "%s sign-in at %s with client ID %s", method, issuer, cfg.ClientID)
	p.idpDo(func(ctx context.Context) (any, error) {
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
		return deviceAuthResult{cfg: cfg, da: da, life: life.life}, nil
	}, func(v any, err error) {
		p.s.session.busy = false
		if err != nil {
			p.signInFailed(err)
			return
		}
		p.showCode(v.(deviceAuthResult))
	})
	return nil
}

type deviceAuthResult struct {
	cfg  *oauth2.Config
	da   *oauth2.DeviceAuthResponse
	life time.Duration
}

// showCode puts the code on the screen and starts polling and the expiry,
// both on the phone's clock. oauth2 computed the expiry on the host's
// clock; the phone takes only its length.
func (p *Phone) showCode(r deviceAuthResult) {
	if r.da.DeviceCode == "" || r.da.UserCode == "" || r.da.VerificationURI == "" {
		p.signInFailed(errors.New("the provider's device authorization lacks a code or an address"))
		return
	}
	life := r.life
	if r.da.Expiry.IsZero() || life <= 0 {
		life = 15 * time.Minute
	}
	interval := time.Duration(r.da.Interval) * time.Second
	if interval <= 0 {
		interval = pollDefault
	}
	dc := &deviceCode{deviceCode: r.da.DeviceCode, userCode: r.da.UserCode, url: r.da.VerificationURI, expiry: p.clock.Now().Add(life), interval: interval}
	p.s.session.web = dc
	p.logf("signin", "notice", "signin", "sign-in code %s at %s, expires in %v", dc.userCode, dc.url, life)
	p.tm.start(&p.s.session.expiry, life, func() {
		if p.s.session.web == dc {
			p.s.session.poll.stop()
			dc.expired = true
			p.logf("signin", "warn", "signin", "sign-in code %s expired", dc.userCode)
		}
	})
	p.schedulePoll(r.cfg, dc, dc.interval)
}

func (p *Phone) schedulePoll(cfg *oauth2.Config, dc *deviceCode, wait time.Duration) {
	p.tm.start(&p.s.session.poll, wait, func() {
		if p.s.session.web != dc || dc.expired {
			return
		}
		p.poll(cfg, dc)
	})
}

// poll asks the token endpoint once whether the code was approved. oauth2's
// DeviceAccessToken runs its own loop on the host's clock; the phone polls
// on its own clock instead, each poll one token request made with Exchange
// carrying RFC 8628's grant type, so oauth2 still does the client
// authentication, the error parsing and the token.
func (p *Phone) poll(cfg *oauth2.Config, dc *deviceCode) {
	code := dc.deviceCode
	p.idpDo(func(ctx context.Context) (any, error) {
		return cfg.Exchange(ctx, "",
			oauth2.SetAuthURLParam("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
			oauth2.SetAuthURLParam("device_code", code),
			oauth2.SetAuthURLParam("client_id", cfg.ClientID))
	}, func(v any, err error) {
		if p.s.session.web != dc || dc.expired {
			return
		}
		var re *oauth2.RetrieveError
		switch {
		case err == nil:
			p.s.session.web = nil
			p.s.session.expiry.stop()
			p.tokenSignedIn(cfg, v.(*oauth2.Token))
		case errors.As(err, &re) && re.ErrorCode == "authorization_pending":
			p.schedulePoll(cfg, dc, dc.interval)
		case errors.As(err, &re) && re.ErrorCode == "slow_down":
			dc.interval += slowDownStep
			p.logf("signin", "info", "signin", "the provider asks to slow down: polling every %v", dc.interval)
			p.schedulePoll(cfg, dc, dc.interval)
		case errors.As(err, &re) && re.ErrorCode == "expired_token":
			p.s.session.expiry.stop()
			dc.expired = true
			p.logf("signin", "warn", "signin", "sign-in code %s expired", dc.userCode)
		case errors.As(err, &re) && re.ErrorCode != "":
			p.s.session.web = nil
			p.s.session.expiry.stop()
			p.signInFailed(err)
		default:
			// Down, or not OAuth: say so and try again later, never at once.
			p.s.session.err, p.s.session.why = idpReason(err), idpProblem(err)
			p.logf("signin", "warn", "signin", "polling the provider failed: %s; next try in %v", p.s.session.err, idpRetry)
			p.schedulePoll(cfg, dc, max(idpRetry, dc.interval))
		}
	})
}

// lifeReader reads expires_in off the device authorization response at url.
// oauth2 turns it into an instant on the host's clock; the phone needs the
// length, to count it down on its own clock.
type lifeReader struct {
	url  string
	next http.RoundTripper
	life time.Duration
}

func (l *lifeReader) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := l.next.RoundTrip(r)
	if err != nil || r.URL.String() != l.url || res.StatusCode != http.StatusOK {
		return res, err
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxIdPResponse))
	res.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("device authorization response: %w", err)
	}
	var v struct {
		ExpiresIn int64 `json:"expires_in"`
	}
	if json.Unmarshal(body, &v) == nil && v.ExpiresIn > 0 {
		l.life = time.Duration(v.ExpiresIn) * time.Second
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	return res, nil
}

// basicAuth adds a confidential client's credentials (RFC 6749 §2.3.1:
// form-encoded, then Basic) to the requests it sends to url.
type basicAuth struct{ url, id, secret string }

func (b basicAuth) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.String() == b.url {
		r = r.Clone(r.Context())
		r.SetBasicAuth(url.QueryEscape(b.id), url.QueryEscape(b.secret))
	}
	return http.DefaultTransport.RoundTrip(r)
}
