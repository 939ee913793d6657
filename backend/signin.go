package backend

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/deskphone/deskphone/backend/idp"
)

// SignInConfig configures the identity provider phones sign in with
// (web sign-in and user credentials); see package idp.
type SignInConfig struct {
	// DeviceCodeLifetime is how long a web sign-in code is good for.
	// 0: idp.DefaultDeviceCodeLifetime (15 min).
	DeviceCodeLifetime time.Duration
	// Interval is the polling interval phones are told. 0: 5 s.
	Interval time.Duration
	// AccessTokenLifetime bounds access tokens. 0: idp.DefaultAccessTokenLifetime.
	AccessTokenLifetime time.Duration
	// Guesses is how many wrong codes or passwords one client address
	// may send per minute (page and password grant together). Phones on
	// loopback share 127.0.0.1: raise it for fleets. 0: idp.DefaultCodeGuesses.
	Guesses int
	// CodesPerAddress is how many web sign-ins one client address may
	// have in progress; phones on loopback share 127.0.0.1: raise it for
	// fleets. 0: idp.DefaultCodesPerAddress.
	CodesPerAddress int
}

// newIdP creates the identity provider on the backend's clock and users.
// It serves on the admin HTTP listener; without one there is no IdP to
// reach and the registrar offers digest alone.
func (b *Backend) newIdP() error {
	s, err := idp.New(idp.Config{
		Tenant: b.cfg.Domain,
		Users: func(name string) (idp.User, bool) {
			if _, ok := lookupService(name); ok {
				return idp.User{}, false
			}
			u, ok := b.lookupUser(name)
			if !ok || !strings.EqualFold(u.User, name) {
				// Extensions are SIP aliases, not sign-in names.
				return idp.User{}, false
			}
			return idp.User{Name: u.User, Password: u.Password, DisplayName: u.DisplayName}, true
		},
		Clock:               b.clock,
		DeviceCodeLifetime:  b.cfg.SignIn.DeviceCodeLifetime,
		Interval:            b.cfg.SignIn.Interval,
		AccessTokenLifetime: b.cfg.SignIn.AccessTokenLifetime,
		CodeGuesses:         b.cfg.SignIn.Guesses,
		CodesPerAddress:     b.cfg.SignIn.CodesPerAddress,
		Logger:              b.log,
		// The 3PIP end of life (gateway_sip.go) refuses the phones'
		// grants, not the gateway's: it pairs SIP phones after it.
		EndOfLife:       b.GatewayCutoff,
		EndOfLifeExempt: []string{idp.GatewayClientID},
	})
	if err != nil {
		return fmt.Errorf("identity provider: %w", err)
	}
	b.idp = s
	return nil
}

// IdP returns the identity provider: its endpoints, policies and token
// validation. Its URLs are set once Start has opened the admin listener.
func (b *Backend) IdP() *idp.Server { return b.idp }

// SignInURL returns the IdP's base URL (the admin listener), or "" when
// there is no admin listener.
func (b *Backend) SignInURL() string { return b.idp.BaseURL() }

// bearerChallenge is RFC 8898's challenge: where to get a token and for
// what; nil when the IdP is not reachable.
func (b *Backend) bearerChallenge(header, tokenError string) sip.Header {
	if b.idp.BaseURL() == "" {
		return nil
	}
	v := fmt.Sprintf(`Bearer realm=%q, scope=%q, authz_server=%q`, b.cfg.Domain, b.idp.Scope(), b.idp.Issuer())
	if tokenError != "" {
		v += `, error="invalid_token", error_description=` + strconv.Quote(tokenError)
	}
	return sip.NewHeader(header, v)
}

// bearerToken returns the token of a Bearer credentials header, if any.
func bearerToken(req *sip.Request, header string) (string, bool) {
	for _, h := range req.GetHeaders(header) {
		scheme, rest, _ := strings.Cut(strings.TrimSpace(h.Value()), " ")
		if strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(rest), true
		}
	}
	return "", false
}

// authenticateBearer checks RFC 8898 bearer credentials: a JWT from our
// IdP for the SIP audience and with the SIP scope (a token without it gets
// 403 insufficient_scope), valid on the backend's clock, not revoked, for
// an enabled user who
// is the one the request is for (want, the To user of a REGISTER) and from
// (the From user). An invalid or expired token gets 401 (407) with
// error="invalid_token" beside fresh digest challenges; a token of another
// user gets 403.
func (b *Backend) authenticateBearer(req *sip.Request, tx sip.ServerTransaction, raw string, want *User, proxy bool) (User, bool) {
	challenge, code, reason := "WWW-Authenticate", sip.StatusUnauthorized, "Unauthorized"
	if proxy {
		challenge, code, reason = "Proxy-Authenticate", sip.StatusProxyAuthRequired, "Proxy Authentication Required"
	}
	var claims idp.Claims
	err := errors.New("no identity provider listening")
	if b.idp.BaseURL() != "" {
		claims, err = b.idp.ValidateAccessToken(raw)
	}
	if err != nil {
		b.log.Info("bearer token refused", "error", err, "source", req.Source())
		res := sip.NewResponseFromRequest(req, code, reason, nil)
		for _, h := range b.auth.challenges(challenge, false) {
			res.AppendHeader(h)
		}
		if h := b.bearerChallenge(challenge, tokenErrorText(err)); h != nil {
			res.AppendHeader(h)
		}
		b.respond(tx, res)
		return User{}, false
	}
	if !slices.Contains(strings.Fields(claims.Scope), b.idp.Scope()) {
		// A token for other resources (openid profile) is not one for
		// SIP: RFC 6750 §3.1's insufficient_scope, with the scope needed.
		b.log.Info("bearer token without the SIP scope", "scope", claims.Scope, "source", req.Source())
		res := sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil)
		res.AppendHeader(sip.NewHeader(challenge, fmt.Sprintf(`Bearer realm=%q, scope=%q, authz_server=%q, error="insufficient_scope", error_description="the token lacks the %s scope"`,
			b.cfg.Domain, b.idp.Scope(), b.idp.Issuer(), b.idp.Scope())))
		b.respond(tx, res)
		return User{}, false
	}
	user, ok := b.lookupUser(claims.Subject)
	from := req.From()
	if !ok || (want != nil && !strings.EqualFold(user.User, want.User)) ||
		(from != nil && !strings.EqualFold(from.Address.User, user.User)) {
		b.log.Warn("bearer token of another user", "subject", claims.Subject, "source", req.Source())
		b.reply(req, tx, sip.StatusForbidden, "Forbidden")
		return User{}, false
	}
	return user, true
}

// tokenErrorText is the error_description of invalid_token.
func tokenErrorText(err error) string {
	for _, e := range []error{idp.ErrTokenExpired, idp.ErrTokenRevoked, idp.ErrUserDisabled, idp.ErrTokenNoUser} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return idp.ErrTokenInvalid.Error()
}
