package idp

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Grant types the token endpoint accepts.
const (
	GrantDeviceCode   = "urn:ietf:params:oauth:grant-type:device_code"
	GrantRefreshToken = "refresh_token"
	GrantPassword     = "password"
)

// Errors of ValidateAccessToken, for errors.Is; each also reads as the
// error_description of the registrar's invalid_token.
var (
	ErrTokenInvalid = errors.New("access token is malformed, not signed by this issuer or not for this audience")
	ErrTokenExpired = errors.New("access token expired")
	ErrTokenRevoked = errors.New("access token revoked")
	ErrUserDisabled = errors.New("user is disabled")
	ErrTokenNoUser  = errors.New("access token names no known user")
)

// maxFormBytes bounds a form post.
const maxFormBytes = 64 << 10

// Claims are the claims of an access token.
type Claims struct {
	jwt.Claims
	ClientID string `json:"azp,omitempty"`
	Scope    string `json:"scp,omitempty"`
	Name     string `json:"name,omitempty"`
	// Gen is the user's token generation when issued; RevokeUser bumps it.
	Gen int `json:"gen"`
}

type idClaims struct {
	jwt.Claims
	Name              string `json:"name,omitempty"`
	PreferredUsername string `json:"preferred_username,omitempty"`
}

// refreshToken is an opaque refresh token. Guarded by Server.mu.
type refreshToken struct {
	user    string // lower-case name
	client  string
	scope   string
	expires time.Time
	gen     int
	family  string // every rotation of one sign-in shares it
	used    bool   // rotated: presenting it again revokes the family
}

// tokenResponse is the successful token endpoint answer (RFC 6749 §5.1).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
}

// token is the token endpoint (RFC 6749 §3.2).
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	form, clientID, basic, oe := parseClientForm(r)
	if oe != nil {
		writeErr(w, oe, basic)
		return
	}
	grant := form.Get("grant_type")
	if grant == "" {
		writeErr(w, &oauthError{http.StatusBadRequest, "invalid_request", "grant_type is required", 0}, basic)
		return
	}
	if !slices.Contains([]string{GrantDeviceCode, GrantRefreshToken, GrantPassword}, grant) {
		writeErr(w, &oauthError{http.StatusBadRequest, "unsupported_grant_type", fmt.Sprintf("grant_type %q is not supported", grant), 0}, basic)
		return
	}
	client, oe := s.checkClient(clientID)
	if oe != nil {
		writeErr(w, oe, basic)
		return
	}
	if refusal, ok := s.endOfLife(client); !ok {
		s.log.Info("idp token refused", "grant", grant, "client_id", clientID, "error", refusal["error"], "suberror", refusal["suberror"])
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusBadRequest, refusal)
		return
	}
	var res tokenResponse
	switch grant {
	case GrantDeviceCode:
		res, oe = s.deviceCodeGrant(client, form)
	case GrantRefreshToken:
		res, oe = s.refreshGrant(client, form)
	case GrantPassword:
		res, oe = s.passwordGrant(client, form, clientAddr(r))
	}
	if oe != nil {
		s.log.Info("idp token refused", "grant", grant, "client_id", clientID, "error", oe.code, "description", oe.description)
		writeErr(w, oe, basic)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, res)
}

// parseClientForm reads a form post and the client ID, from the form or
// from HTTP Basic authentication (a public client's secret is empty and
// ignored). basic says the client used the Authorization header, which
// makes invalid_client a 401 with a challenge.
func parseClientForm(r *http.Request) (url.Values, string, bool, *oauthError) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/x-www-form-urlencoded" {
		return nil, "", false, &oauthError{http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded", 0}
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return nil, "", false, &oauthError{http.StatusBadRequest, "invalid_request", "bad form: " + err.Error(), 0}
	}
	form := r.PostForm
	for k, v := range form {
		if len(v) > 1 {
			return nil, "", false, &oauthError{http.StatusBadRequest, "invalid_request", fmt.Sprintf("parameter %q repeated", k), 0}
		}
	}
	id := form.Get("client_id")
	user, _, basic := r.BasicAuth()
	if basic {
		if u, err := url.QueryUnescape(user); err == nil {
			user = u
		}
		if id != "" && id != user {
			return nil, "", true, &oauthError{http.StatusBadRequest, "invalid_request", "client_id differs from the Authorization header's", 0}
		}
		id = user
	}
	return form, id, basic, nil
}

// passwordGrant is the resource-owner password grant. Wrong passwords
// count against the client address as on the verification page.
func (s *Server) passwordGrant(client Client, form url.Values, addr string) (tokenResponse, *oauthError) {
	name, password := form.Get("username"), form.Get("password")
	if name == "" || password == "" {
		return tokenResponse{}, &oauthError{http.StatusBadRequest, "invalid_request", "username and password are required", 0}
	}
	s.mu.Lock()
	blocked := s.policy.blockLegacy
	s.mu.Unlock()
	if blocked {
		// The federated IdP refuses the active (WS-Trust) endpoint this
		// flow reaches, and the cloud passes the refusal on as a bad grant.
		return tokenResponse{}, &oauthError{http.StatusBadRequest, "invalid_grant",
			"legacy authentication (resource owner password credentials) is blocked by the tenant's sign-on policy: use web sign-in", 0}
	}
	now := s.clock.Now()
	if no, ok := s.passwordWait(name, addr, now); ok {
		return tokenResponse{}, &oauthError{http.StatusTooManyRequests, "invalid_grant", no.Error(), no.seconds()}
	}
	if u, ok := s.cfg.Users(name); ok && s.isDisabled(u.Name) {
		// The password is not checked: right and wrong get this answer.
		return tokenResponse{}, &oauthError{http.StatusBadRequest, "invalid_grant", fmt.Sprintf("user %q is disabled", u.Name), 0}
	}
	u, ok := s.checkPassword(name, password)
	if !ok {
		s.wrongPassword(name, addr, now)
		return tokenResponse{}, &oauthError{http.StatusBadRequest, "invalid_grant", "wrong user name or password", 0}
	}
	s.signedIn(u.Name, addr, now)
	return s.issue(client, u, scopeOf(form), "")
}

// isDisabled reports whether the user is disabled.
func (s *Server) isDisabled(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.userDisabled(name)
}

func (s *Server) refreshGrant(client Client, form url.Values) (tokenResponse, *oauthError) {
	id := form.Get("refresh_token")
	if id == "" {
		return tokenResponse{}, &oauthError{http.StatusBadRequest, "invalid_request", "refresh_token is required", 0}
	}
	now := s.clock.Now()
	s.mu.Lock()
	rt, ok := s.refresh[id]
	switch {
	case !ok:
		s.mu.Unlock()
		return tokenResponse{}, &oauthError{http.StatusBadRequest, "invalid_grant", "unknown or revoked refresh token", 0}
	case rt.client != client.ID:
		s.mu.Unlock()
		return tokenResponse{}, &oauthError{http.StatusBadRequest, "invalid_grant", "refresh token was issued to another client", 0}
	case rt.used:
		// A rotated token presented again: someone kept a copy. Revoke
		// the whole family (OAuth 2.0 security BCP, refresh token rotation).
		for k, o := range s.refresh {
			if o.family == rt.family {
				delete(s.refresh, k)
			}
		}
		s.mu.Unlock()
		return tokenResponse{}, &oauthError{http.StatusBadRequest, "invalid_grant", "refresh token already used: every token of this sign-in is revoked", 0}
	case !now.Before(rt.expires):
		delete(s.refresh, id)
		s.mu.Unlock()
		return tokenResponse{}, &oauthError{http.StatusBadRequest, "invalid_grant", "refresh token expired", 0}
	case rt.gen != s.gen[rt.user]:
		delete(s.refresh, id)
		s.mu.Unlock()
		return tokenResponse{}, &oauthError{http.StatusBadRequest, "invalid_grant", "refresh token revoked", 0}
	case s.userDisabled(rt.user):
		s.mu.Unlock()
		return tokenResponse{}, &oauthError{http.StatusBadRequest, "invalid_grant", fmt.Sprintf("user %q is disabled", rt.user), 0}
	}
	scope := rt.scope
	if want := strings.Join(strings.Fields(form.Get("scope")), " "); want != "" {
		// A refresh may narrow the scope, never widen it (RFC 6749 §6).
		have := strings.Fields(scope)
		for _, sc := range strings.Fields(want) {
			if !slices.Contains(have, sc) {
				s.mu.Unlock()
				return tokenResponse{}, &oauthError{http.StatusBadRequest, "invalid_scope", fmt.Sprintf("scope %q was not granted", sc), 0}
			}
		}
		scope = want
	}
	rt.used = true
	family := rt.family
	s.mu.Unlock()
	u, ok := s.cfg.Users(rt.user)
	if !ok {
		return tokenResponse{}, &oauthError{http.StatusBadRequest, "invalid_grant", "the user no longer exists", 0}
	}
	return s.issue(client, u, scope, family)
}

// checkPassword compares in constant time.
func (s *Server) checkPassword(name, password string) (User, bool) {
	u, ok := s.cfg.Users(name)
	if !ok {
		return User{}, false
	}
	return u, subtle.ConstantTimeCompare([]byte(u.Password), []byte(password)) == 1
}

func scopeOf(form url.Values) string {
	if sc := strings.Join(strings.Fields(form.Get("scope")), " "); sc != "" {
		return sc
	}
	return DefaultScope
}

// issue signs an access token (and an ID token for openid) and stores a
// new refresh token, in family when rotating one.
func (s *Server) issue(client Client, u User, scope, family string) (tokenResponse, *oauthError) {
	now := s.clock.Now()
	key := strings.ToLower(u.Name)
	s.mu.Lock()
	gen := s.gen[key]
	s.mu.Unlock()
	jti, err := randomString(12)
	if err != nil {
		return tokenResponse{}, serverError(err)
	}
	issuer := s.Issuer()
	claims := Claims{
		Claims: jwt.Claims{
			Issuer:    issuer,
			Subject:   u.Name,
			Audience:  jwt.Audience{s.cfg.Audience},
			Expiry:    jwt.NewNumericDate(now.Add(s.cfg.AccessTokenLifetime)),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        jti,
		},
		ClientID: client.ID,
		Scope:    scope,
		Name:     u.DisplayName,
		Gen:      gen,
	}
	access, err := jwt.Signed(s.signer).Claims(claims).Serialize()
	if err != nil {
		return tokenResponse{}, serverError(err)
	}
	res := tokenResponse{
		AccessToken: access,
		TokenType:   "Bearer",
		ExpiresIn:   int(s.cfg.AccessTokenLifetime / time.Second),
		Scope:       scope,
	}
	if slices.Contains(strings.Fields(scope), "openid") {
		id := idClaims{
			Claims: jwt.Claims{
				Issuer: issuer, Subject: u.Name, Audience: jwt.Audience{client.ID},
				Expiry: claims.Expiry, IssuedAt: claims.IssuedAt, NotBefore: claims.NotBefore,
			},
			Name: u.DisplayName, PreferredUsername: u.Name,
		}
		if res.IDToken, err = jwt.Signed(s.signer).Claims(id).Serialize(); err != nil {
			return tokenResponse{}, serverError(err)
		}
	}
	if res.RefreshToken, err = randomString(32); err != nil {
		return tokenResponse{}, serverError(err)
	}
	if family == "" {
		family = res.RefreshToken
	}
	s.mu.Lock()
	s.sweepLocked(now)
	s.refresh[res.RefreshToken] = &refreshToken{
		user: key, client: client.ID, scope: scope, expires: now.Add(s.cfg.RefreshTokenLifetime), gen: gen, family: family,
	}
	s.mu.Unlock()
	s.log.Info("idp token issued", "user", u.Name, "client_id", client.ID, "scope", scope)
	return res, nil
}

func serverError(err error) *oauthError {
	return &oauthError{http.StatusInternalServerError, "server_error", err.Error(), 0}
}

// ValidateAccessToken checks an access token as a resource server does:
// signature by this IdP's key, issuer, audience, expiry and not-before on
// the IdP's clock, not revoked, user known and enabled. The errors wrap
// ErrTokenInvalid, ErrTokenExpired, ErrTokenRevoked, ErrTokenNoUser or
// ErrUserDisabled.
func (s *Server) ValidateAccessToken(raw string) (Claims, error) {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %w", ErrTokenInvalid, err)
	}
	var c Claims
	if err := tok.Claims(&s.key.PublicKey, &c); err != nil {
		return Claims{}, fmt.Errorf("%w: %w", ErrTokenInvalid, err)
	}
	now := s.clock.Now()
	err = c.ValidateWithLeeway(jwt.Expected{
		Issuer:      s.Issuer(),
		AnyAudience: jwt.Audience{s.cfg.Audience},
		Time:        now,
	}, 0)
	switch {
	case c.Expiry == nil:
		return c, fmt.Errorf("%w: no expiry", ErrTokenInvalid)
	case errors.Is(err, jwt.ErrExpired) || (err == nil && !now.Before(c.Expiry.Time())):
		// exp is the instant from which the token is refused (RFC 7519 §4.1.4).
		return c, fmt.Errorf("%w at %s", ErrTokenExpired, c.Expiry.Time().UTC().Format(time.RFC3339))
	case err != nil:
		return c, fmt.Errorf("%w: %w", ErrTokenInvalid, err)
	}
	u, ok := s.cfg.Users(c.Subject)
	if !ok {
		return c, fmt.Errorf("%w: %q", ErrTokenNoUser, c.Subject)
	}
	key := strings.ToLower(u.Name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.policy.disabled[key] {
		return c, fmt.Errorf("%w: %q", ErrUserDisabled, u.Name)
	}
	if c.Gen != s.gen[key] {
		return c, ErrTokenRevoked
	}
	return c, nil
}

func writeErr(w http.ResponseWriter, e *oauthError, basic bool) {
	if e.status == http.StatusUnauthorized && basic {
		w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
	}
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	w.Header().Set("Cache-Control", "no-store")
	writeOAuthError(w, e.status, e.code, e.description)
}

// writeOAuthError writes an RFC 6749 §5.2 error body.
func writeOAuthError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
