// Package idp is the mock cloud's identity provider: OpenID Connect
// discovery, the OAuth 2.0 device authorization grant (RFC 8628) that web
// sign-in on a desk phone uses, the token endpoint (device code, refresh
// token with rotation, resource-owner password), JWKS and signed JWT access
// tokens that the registrar accepts as RFC 8898 bearer credentials, the
// verification page a person opens in a browser, and the tenant's sign-in
// policies (legacy authentication, per-vendor client IDs, consent,
// disabled users, revocation).
//
// Every expiry, interval and rate limit runs on the injected clock, so a
// scenario on virtual time skips a 15-minute code expiry at once. The
// package knows nothing of SIP; the backend mounts its handler and asks it
// to validate access tokens.
package idp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/deskphone/deskphone/clock"
)

// Defaults.
const (
	// DefaultDeviceCodeLifetime is how long a device code and its user code
	// are good for (the 15 minutes phones show).
	DefaultDeviceCodeLifetime = 900 * time.Second
	// DefaultInterval is the polling interval a device is told to keep.
	DefaultInterval = 5 * time.Second
	// SlowDownStep is what slow_down adds to a device's interval (RFC 8628 §3.5).
	SlowDownStep = 5 * time.Second
	// DefaultAccessTokenLifetime is the lifetime of an access token.
	DefaultAccessTokenLifetime = 3599 * time.Second
	// DefaultRefreshTokenLifetime is the lifetime of a refresh token.
	DefaultRefreshTokenLifetime = 90 * 24 * time.Hour
	// DefaultCodeGuesses is how many wrong user codes or passwords one
	// client address may enter on the verification page per
	// DefaultCodeGuessWindow before it is turned away.
	DefaultCodeGuesses     = 5
	DefaultCodeGuessWindow = time.Minute
	// DefaultScope is the scope tokens carry when the request names none;
	// the registrar's Bearer challenge names it too.
	DefaultScope = "sip"
)

// Client IDs. Until the tenant's cutoff (seed 000) every certified phone
// signs in with the one shared ID; from then on each vendor's firmware
// carries its own app's ID, which the tenant must consent to.
const (
	SharedClientID     = "deskphone-sfb-phone"
	AudioCodesClientID = "deskphone-audiocodes-phone"
	CrestronClientID   = "deskphone-crestron-phone"
	PolyClientID       = "deskphone-poly-phone"
	YealinkClientID    = "deskphone-yealink-phone"
)

// Client is an application registered with the IdP: a public client (no
// secret), as firmware cannot keep one.
type Client struct {
	ID string `json:"client_id"`
	// Manufacturer is the vendor whose firmware carries this ID; empty for
	// the shared ID, which names no vendor.
	Manufacturer string `json:"manufacturer,omitempty"`
	// Shared marks the ID every vendor used before the cutoff.
	Shared bool `json:"shared,omitempty"`
}

// DefaultClients are the shared ID and one app per certified vendor.
func DefaultClients() []Client {
	return []Client{
		{ID: SharedClientID, Shared: true},
		{ID: AudioCodesClientID, Manufacturer: "AudioCodes"},
		{ID: CrestronClientID, Manufacturer: "Crestron"},
		{ID: PolyClientID, Manufacturer: "Poly"},
		{ID: YealinkClientID, Manufacturer: "Yealink"},
	}
}

// User is what the IdP needs of a subscriber.
type User struct {
	Name        string
	Password    string
	DisplayName string
}

// Directory finds users by name (case-insensitively); the backend's users
// store, shared with SIP digest authentication.
type Directory func(name string) (User, bool)

// Config configures a Server.
type Config struct {
	// Tenant names the tenant in the endpoint paths (/{tenant}/oauth2/v2.0/...).
	// Required; the backend uses its SIP domain.
	Tenant string
	// Audience is the aud of access tokens: the resource they are for.
	// Default "sip:" + Tenant.
	Audience string
	// Users looks users up. Required.
	Users Directory
	// Clients are the registered clients. Default: DefaultClients.
	Clients []Client
	// Clock runs every expiry and rate limit. Default: clock.Real{}.
	Clock clock.Clock
	// DeviceCodeLifetime, Interval, AccessTokenLifetime,
	// RefreshTokenLifetime: 0 means the default.
	DeviceCodeLifetime   time.Duration
	Interval             time.Duration
	AccessTokenLifetime  time.Duration
	RefreshTokenLifetime time.Duration
	// CodeGuesses wrong codes or passwords per CodeGuessWindow from one
	// client address; 0 means the default.
	CodeGuesses     int
	CodeGuessWindow time.Duration
	// AccountFailures wrong passwords per AccountWindow for one account
	// from anywhere, and GlobalGuesses wrong passwords (and as many wrong
	// codes) per minute in all, slow sign-ins from unfamiliar addresses
	// (see lockout.go); 0 means the default.
	AccountFailures int
	AccountWindow   time.Duration
	GlobalGuesses   int
	// CodesPerAddress bounds the live device codes of one client
	// address; 0 means DefaultCodesPerAddress. MaxDeviceCodes bounds the
	// table; 0 means the package's MaxDeviceCodes.
	CodesPerAddress int
	MaxDeviceCodes  int
	// Logger receives sign-in events. Default: discard.
	Logger *slog.Logger
	// EndOfLife, when set, gives the Skype for Business (3PIP) phones'
	// end of life and whether one is set: from that instant on the
	// IdP's clock every grant of a client but those in EndOfLifeExempt
	// (the gateway's own) is refused, unauthorized_client with the
	// suberror 3pip_end_of_life.
	EndOfLife       func() (time.Time, bool)
	EndOfLifeExempt []string
}

// Server is the identity provider. Its methods are safe for concurrent use.
type Server struct {
	cfg     Config
	clock   clock.Clock
	log     *slog.Logger
	key     *ecdsa.PrivateKey
	keyID   string
	signer  jose.Signer
	csrfKey [32]byte
	handler http.Handler

	mu        sync.Mutex
	base      string // scheme://host:port the endpoints are reached at
	clients   map[string]Client
	devices   map[string]*deviceAuth // by device code
	byCode    map[string]*deviceAuth // by normalised user code
	refresh   map[string]*refreshToken
	gen       map[string]int // per lower-case user: bumped by RevokeUser
	policy    policyState
	guards    guards
	lastSweep time.Time // of expired device codes and refresh tokens

	codesByAddr   map[string]int // device codes held, by client address
	codesByClient map[string]int // and by client ID
	order         []*deviceAuth  // device codes, oldest first (removed ones until compacted)
}

// New checks cfg and creates the signing key. Set the base URL with
// SetBaseURL once the HTTP listener is up.
func New(cfg Config) (*Server, error) {
	if cfg.Tenant == "" || strings.ContainsAny(cfg.Tenant, "/?#") {
		return nil, fmt.Errorf("idp: tenant %q: want a non-empty name without '/', '?' or '#'", cfg.Tenant)
	}
	if cfg.Users == nil {
		return nil, errors.New("idp: a users directory is required")
	}
	if cfg.Audience == "" {
		cfg.Audience = "sip:" + cfg.Tenant
	}
	if cfg.Clients == nil {
		cfg.Clients = DefaultClients()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.DeviceCodeLifetime = orDefault(cfg.DeviceCodeLifetime, DefaultDeviceCodeLifetime)
	cfg.Interval = orDefault(cfg.Interval, DefaultInterval)
	cfg.AccessTokenLifetime = orDefault(cfg.AccessTokenLifetime, DefaultAccessTokenLifetime)
	cfg.RefreshTokenLifetime = orDefault(cfg.RefreshTokenLifetime, DefaultRefreshTokenLifetime)
	cfg.CodeGuesses = orDefault(cfg.CodeGuesses, DefaultCodeGuesses)
	cfg.CodeGuessWindow = orDefault(cfg.CodeGuessWindow, DefaultCodeGuessWindow)
	cfg.CodesPerAddress = orDefault(cfg.CodesPerAddress, DefaultCodesPerAddress)
	cfg.AccountFailures = orDefault(cfg.AccountFailures, DefaultAccountFailures)
	cfg.AccountWindow = orDefault(cfg.AccountWindow, DefaultAccountWindow)
	cfg.GlobalGuesses = orDefault(cfg.GlobalGuesses, DefaultGlobalGuesses)
	cfg.MaxDeviceCodes = orDefault(cfg.MaxDeviceCodes, MaxDeviceCodes)

	s := &Server{
		cfg:     cfg,
		clock:   cfg.Clock,
		log:     cfg.Logger,
		clients: map[string]Client{},
		devices: map[string]*deviceAuth{},
		byCode:  map[string]*deviceAuth{},
		refresh: map[string]*refreshToken{},
		gen:     map[string]int{},

		codesByAddr:   map[string]int{},
		codesByClient: map[string]int{},
		policy:        newPolicyState(),
	}
	s.guards = newGuards(cfg)
	for _, c := range cfg.Clients {
		if c.ID == "" {
			return nil, errors.New("idp: a client without an ID")
		}
		if _, dup := s.clients[c.ID]; dup {
			return nil, fmt.Errorf("idp: client %q registered twice", c.ID)
		}
		s.clients[c.ID] = c
	}
	var err error
	if s.key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, fmt.Errorf("idp: signing key: %w", err)
	}
	if s.keyID, err = randomString(9); err != nil {
		return nil, err
	}
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), s.keyID)
	if s.signer, err = jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: s.key}, opts); err != nil {
		return nil, fmt.Errorf("idp: signer: %w", err)
	}
	if _, err := rand.Read(s.csrfKey[:]); err != nil {
		return nil, fmt.Errorf("idp: csrf key: %w", err)
	}
	s.handler = s.routes()
	return s, nil
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// SetBaseURL sets where the endpoints are reached, e.g.
// "http://127.0.0.1:8061": the issuer and every URL in discovery derive
// from it. Tokens issued before a change no longer validate.
func (s *Server) SetBaseURL(base string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.base = strings.TrimRight(base, "/")
}

// BaseURL returns what SetBaseURL set.
func (s *Server) BaseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.base
}

// Issuer is the iss of every token and the authz_server of the registrar's
// Bearer challenge: BaseURL + "/" + tenant + "/v2.0".
func (s *Server) Issuer() string { return s.BaseURL() + s.tenantPath() + "/v2.0" }

// VerificationURI is the page a person opens to enter a user code.
func (s *Server) VerificationURI() string { return s.BaseURL() + VerificationPath }

// Scope is the scope the registrar's challenge names.
func (s *Server) Scope() string { return DefaultScope }

func (s *Server) tenantPath() string { return "/" + s.cfg.Tenant }

// Endpoint paths, below the base URL.
const (
	DiscoveryPath    = "/.well-known/openid-configuration"
	VerificationPath = "/devicelogin"
)

// DeviceAuthorizationURL, TokenURL and JWKSURL are the endpoints, as
// discovery lists them.
func (s *Server) DeviceAuthorizationURL() string {
	return s.BaseURL() + s.tenantPath() + "/oauth2/v2.0/devicecode"
}

// TokenURL is the token endpoint.
func (s *Server) TokenURL() string { return s.BaseURL() + s.tenantPath() + "/oauth2/v2.0/token" }

// JWKSURL is the key set.
func (s *Server) JWKSURL() string { return s.BaseURL() + s.tenantPath() + "/discovery/v2.0/keys" }

// Handler serves every endpoint; mount it for the patterns Routes lists.
func (s *Server) Handler() http.Handler { return s.handler }

// Routes are the path prefixes Handler serves, for a mux shared with
// other handlers.
func (s *Server) Routes() []string {
	return []string{"/.well-known/", VerificationPath, s.tenantPath() + "/"}
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	t := s.tenantPath()
	mux.HandleFunc("GET "+DiscoveryPath, s.discovery)
	mux.HandleFunc("GET "+t+"/v2.0"+DiscoveryPath, s.discovery)
	mux.HandleFunc("GET "+t+"/discovery/v2.0/keys", s.jwks)
	mux.HandleFunc("POST "+t+"/oauth2/v2.0/devicecode", s.deviceAuthorization)
	mux.HandleFunc("POST "+t+"/oauth2/v2.0/token", s.token)
	// The page checks a CSRF token of its own; the cross-origin check
	// refuses form posts a browser marks as coming from another site.
	page := http.NewCrossOriginProtection().Handler(http.HandlerFunc(s.page))
	mux.Handle(VerificationPath, page)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeOAuthError(w, http.StatusNotFound, "invalid_request", "no such endpoint "+r.Method+" "+r.URL.Path)
	})
	return mux
}

func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                s.Issuer(),
		"device_authorization_endpoint":         s.DeviceAuthorizationURL(),
		"token_endpoint":                        s.TokenURL(),
		"jwks_uri":                              s.JWKSURL(),
		"verification_uri":                      s.VerificationURI(),
		"grant_types_supported":                 []string{GrantDeviceCode, GrantRefreshToken, GrantPassword},
		"response_types_supported":              []string{"token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{string(jose.ES256)},
		"token_endpoint_auth_methods_supported": []string{"none", "client_secret_basic"},
		"scopes_supported":                      []string{"openid", "profile", "offline_access", DefaultScope},
		"claims_supported":                      []string{"iss", "sub", "aud", "exp", "iat", "nbf", "name", "preferred_username"},
	})
}

func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.PublicKeys())
}

// PublicKeys returns the key set JWKS serves, for resource servers in the
// same process.
func (s *Server) PublicKeys() jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: &s.key.PublicKey, KeyID: s.keyID, Algorithm: string(jose.ES256), Use: "sig",
	}}}
}

// Clients lists the registered clients.
func (s *Server) Clients() []Client {
	out := make([]Client, 0, len(s.cfg.Clients))
	out = append(out, s.cfg.Clients...)
	return out
}

func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("idp: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
