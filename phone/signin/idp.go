// The identity-provider client: discovery, the requests' owner, and what
// oauth2 needs beside.

package signin

import (
	"bytes"
	"context"
	"encoding/base64"
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

// clientIDFor is the OAuth client ID this boot signs in with: the
// configured one, else the catalog's for the firmware's client ID kind.
func (s *Session) clientIDFor() string {
	if s.cfg.ClientID != "" {
		return s.cfg.ClientID
	}
	return s.fw.ClientID
}

// oauthConfig is what discovery found, as golang.org/x/oauth2 takes it.
func (s *Session) oauthConfig(ep oauth2.Endpoint) *oauth2.Config {
	ep.AuthStyle = oauth2.AuthStyleInParams // public client: client_id only
	if s.cfg.ClientSecret != "" {
		ep.AuthStyle = oauth2.AuthStyleInHeader
	}
	return &oauth2.Config{ClientID: s.clientIDFor(), ClientSecret: s.cfg.ClientSecret, Endpoint: ep, Scopes: s.cfg.Scopes}
}

// do runs f (a request to the identity provider) off the loop, under the
// phone's lifetime, and hands its result to done on the loop, unless a
// newer attempt started since (the generation). The exchange is held in
// the in-flight tracker until done has run, so virtual time never jumps
// over it.
func (s *Session) do(f func(ctx context.Context) (any, error), done func(any, error)) {
	gen := s.gen
	release := s.env.Hold()
	s.env.Go(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, idpTimeout)
		ctx = context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Timeout: idpTimeout})
		v, err := f(ctx)
		cancel()
		if !s.env.Post(func() {
			defer release()
			if s.gen == gen {
				done(v, err)
			}
		}) {
			release()
		}
	})
}

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

// tokenUser reads the user a JWT access token is for (preferred_username,
// upn or sub) and checks its issuer; an opaque token gives "". The
// signature is the resource server's to check (the registrar's).
func tokenUser(token, issuer string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", nil
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", nil
	}
	var c struct {
		Iss  string `json:"iss"`
		Sub  string `json:"sub"`
		UPN  string `json:"upn"`
		Name string `json:"preferred_username"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return "", nil
	}
	if c.Iss != "" && strings.TrimRight(c.Iss, "/") != strings.TrimRight(issuer, "/") {
		return "", fmt.Errorf("the access token is from issuer %q, not %q", c.Iss, issuer)
	}
	for _, u := range []string{c.UPN, c.Name, c.Sub} {
		if u != "" {
			if name, _, ok := strings.Cut(u, "@"); ok && name != "" {
				return name, nil
			}
			return u, nil
		}
	}
	return "", nil
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
