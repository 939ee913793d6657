package backend

import (
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/deskphone/deskphone/certs"
	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/internal/inflight"
	"github.com/deskphone/deskphone/internal/labdir"
)

// Defaults and limits.
const (
	// DefaultDomain is the SIP domain and digest realm when Config.Domain
	// is empty.
	DefaultDomain = "deskphone.test"
	// DefaultListen is the listen address when Config.Listen is empty.
	DefaultListen = "tls:127.0.0.1:5061"
	// DefaultServerRoot is the factory root the server chain is issued
	// from when neither Config.ServerRoot nor an earlier rotation says
	// otherwise.
	DefaultServerRoot = certs.FactoryRoot2019
	// DefaultServerName is the DNS name in the server certificate, which
	// also names 127.0.0.1 (as an IP and, for peers that ignore IP SANs,
	// as a DNS name) and the domain.
	DefaultServerName = "localhost"

	// DefaultExpires is the registration and subscription lifetime when
	// the request does not ask for one.
	DefaultExpires = 3600 * time.Second
	// MinExpires is the shortest registration accepted; shorter ones get
	// 423 Interval Too Brief.
	MinExpires = 60 * time.Second
	// MaxExpires caps what a registration or subscription may ask for,
	// as commercial registrars do (an hour), so that credentials someone
	// captured cannot bind a contact for a day; the 200 OK says the
	// granted time in each Contact's expires (RFC 3261 §10.3 step 7).
	MaxExpires = time.Hour

	// NonceLifetime is how long a digest nonce is good for. A correct
	// answer to an older nonce gets a new challenge with stale=true.
	NonceLifetime = 5 * time.Minute
	// MaxAuthFailures is how many wrong passwords (within AuthLockout,
	// and since the last success) one source address gets 401 for as a
	// user; the last of them locks that source out of that user: its
	// every authentication as the user gets 403 LockedOutReason for
	// AuthLockout (on the cloud's clock), then the count starts over. The
	// source is locked out, not the account: a stranger's guesses do not
	// lock the user out of their own phones (smart lockout).
	MaxAuthFailures = 3
	// AuthLockout is how long a source stays locked out.
	AuthLockout = 5 * time.Minute
	// MaxAccountAuthFailures wrong passwords for one user from anywhere
	// within AccountAuthWindow turn away (403 LockedOutReason, unchecked)
	// the user's authentication from every source it has not registered
	// from within FamiliarSourceFor, until the window has room; the
	// user's familiar sources go on. A guesser spread over many addresses
	// gets this many tries per window, not MaxAuthFailures per address.
	MaxAccountAuthFailures = 20
	AccountAuthWindow      = 15 * time.Minute
	FamiliarSourceFor      = 30 * 24 * time.Hour
	// LockedOutReason is the reason phrase of the lockout's 403, which
	// phones show as its own reason.
	LockedOutReason = "Too Many Failed Attempts"

	// DefaultMaxConnections caps the connections open at once on each
	// TCP or TLS listener; more are closed as soon as they are accepted.
	DefaultMaxConnections = 10000
	// DefaultMaxConnectionsPerSource caps them per remote IP address.
	// Phones of a fleet on loopback all come from 127.0.0.1: raise it
	// for more than this many phones on one address.
	DefaultMaxConnectionsPerSource = 1000
	// DefaultHandshakeTimeout bounds a TLS handshake, from the accept.
	DefaultHandshakeTimeout = 10 * time.Second
	// DefaultUnregisteredIdleTimeout closes a TCP or TLS connection this
	// long after it was accepted unless a REGISTER succeeded on it
	// (registered phones keep their connection up with CRLF keep-alives at
	// their own pace) or it is party to a dialog then (which earns it
	// another period). Other traffic, OPTIONS pings included, does not
	// keep it up. Long enough for a client that authenticates per request
	// (407) to place a call.
	DefaultUnregisteredIdleTimeout = 30 * time.Second

	// DefaultAckTimeout is how long a service call's 200 OK waits for its
	// ACK before the call is ended with a BYE (RFC 3261 §13.3.1.4: 64*T1,
	// Timer H's 32 s).
	DefaultAckTimeout = 64 * 500 * time.Millisecond
	// DefaultMediaTimeout ends a service call whose caller has sent no RTP
	// for this long, as SBCs do (AudioCodes' "Broken Connection Timeout",
	// Cisco's media inactivity timer); a call on hold the cloud does not
	// expect media in is exempt.
	DefaultMediaTimeout = 60 * time.Second
	// DefaultSessionExpires is the RFC 4028 session interval the cloud
	// grants a service call whose caller supports session timers (at
	// most: a shorter Session-Expires asked for is kept), the RFC's
	// recommended 30 minutes. A call not refreshed (re-INVITE or UPDATE)
	// in time is ended with a BYE.
	DefaultSessionExpires = 30 * time.Minute
	// MinSessionExpires is the shortest session interval accepted
	// (RFC 4028 Min-SE); a shorter one gets 422.
	MinSessionExpires = 90 * time.Second
	// DefaultMaxServiceCalls caps the calls one user has with the cloud's
	// services (echo, tone, voicemail, noanswer) at once; more get 486.
	DefaultMaxServiceCalls = 4
	// ServiceCapReason is the reason phrase of that 486.
	ServiceCapReason = "Busy Here: Too Many Service Calls"
)

// Config configures a Backend. The zero value plus a StateDir is usable.
type Config struct {
	// Listen lists "<transport>:<host>:<port>" addresses with transport
	// tls, tcp or udp, e.g. "tls:127.0.0.1:5061". Port 0 picks a free port;
	// Addr reports the real one. Default: DefaultListen.
	Listen []string
	// Domain is the SIP domain and digest realm. Default: DefaultDomain.
	Domain string
	// StateDir holds the PKI (StateDir/pki). Required.
	StateDir string
	// UsersFile is a YAML users file (see ParseUsers). Empty: DefaultUsers.
	UsersFile string
	// LoadUsers are added to the users (see ParseLoadUsers).
	LoadUsers []User
	// AdminListen is the loopback address of the admin HTTP API, e.g.
	// "127.0.0.1:0". Empty: no admin API.
	AdminListen string
	// Clock runs registration and subscription expiry and nonce ageing.
	// Default: clock.Real{}.
	Clock clock.Clock
	// ServerRoot is the factory root the TLS server chain is issued from.
	// Empty: the root chosen by the last RotateCertificate, recorded in
	// StateDir, else DefaultServerRoot.
	ServerRoot string
	// Lab is the lab directory whose factory roots issue the server chain
	// (internal/labdir); nil: the installation's default. Phones trust a
	// backend of their own installation only.
	Lab *labdir.Dir
	// Logger receives the backend's logs, sipgo's included. Default: discard.
	Logger *slog.Logger
	// Media plugs RTP into the calls the backend answers itself (echo,
	// voicemail). Nil: those calls are answered without media.
	Media ServiceMedia
	// DigestAlgorithms are the digest challenges offered, in order:
	// "SHA-256" (RFC 8760) and "MD5" (RFC 2617). Default: SHA-256, MD5.
	// Clients that read only the first challenge and know only MD5
	// (SIPp 3.6, old firmware) need MD5 first.
	DigestAlgorithms []string

	// MaxConnections caps the connections open at once on each TCP or
	// TLS listener, MaxConnectionsPerSource those from one IP address;
	// the excess is closed at accept and counted (GET /admin/health).
	// 0: DefaultMaxConnections, DefaultMaxConnectionsPerSource;
	// negative: no cap.
	MaxConnections          int
	MaxConnectionsPerSource int
	// HandshakeTimeout bounds a TLS handshake; UnregisteredIdleTimeout
	// closes a connection that long after its accept unless it has
	// carried a successful REGISTER or is party to a dialog (see
	// DefaultUnregisteredIdleTimeout). Wall-clock socket deadlines, whatever
	// Clock is. 0: DefaultHandshakeTimeout, DefaultUnregisteredIdleTimeout;
	// negative: none.
	HandshakeTimeout        time.Duration
	UnregisteredIdleTimeout time.Duration
	// AckTimeout ends a service call whose 200 OK gets no ACK for that
	// long, MediaTimeout one whose caller sends no RTP for that long
	// (calls with Media only); both on the wall clock, as transaction and
	// media timers. SessionExpires is the longest RFC 4028 session
	// interval granted to a caller that supports session timers, on
	// Clock. MaxServiceCalls caps a user's calls to services at once.
	// 0: the Default of each; negative: none.
	AckTimeout      time.Duration
	MediaTimeout    time.Duration
	SessionExpires  time.Duration
	MaxServiceCalls int
	// FlowTimer, when positive, is sent in every successful REGISTER's
	// Flow-Timer header (RFC 5626): the keep-alive interval the registrar
	// asks of its phones, in whole seconds. 0: no header, and phones keep
	// their default.
	FlowTimer time.Duration

	// Inflight, when set, counts the requests the backend sends on its own
	// and the answers it relays until their receivers have taken over,
	// shared with the phones of a scenario on virtual time.
	Inflight *inflight.Tracker
	// SignIn configures the identity provider served on the admin
	// listener (signin.go).
	SignIn SignInConfig
	// Gateway is the listen address of the Teams SIP Gateway's
	// provisioning (plain HTTP), e.g. "127.0.0.1:8064" or
	// "127.0.0.1:0"; "" runs no gateway. See DefaultGateway.
	// GatewayFallback, when Gateway's address is busy, serves it on a
	// free loopback port instead (a second cloud on one machine).
	Gateway         string
	GatewayFallback bool
	// GatewayBatchDelay is how long after its submission the gateway
	// processes a bulk sign-in batch (0: gateway.BatchProcessing, the
	// real service's minutes; a wall-clock demo may want a second).
	GatewayBatchDelay time.Duration
	// UpdateService, when set, is the base URL of the device update
	// service the in-band provisioning names, as the real service tells
	// its phones where firmware comes from.
	UpdateService string
}

// ConfigError is an invalid Config field. Field is the field's name in
// Config, so a front end can name its own flag for it; Msg says what is
// wrong in the user's words. It matches ErrConfig (and Err, when set) with
// errors.Is.
type ConfigError struct {
	Field string
	Value string
	Msg   string
	Err   error
}

func (e *ConfigError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("invalid configuration: %s: %s", e.Field, e.Msg)
	}
	return fmt.Sprintf("invalid configuration: %s %q: %s", e.Field, e.Value, e.Msg)
}

// Unwrap gives ErrConfig and the more precise sentinel, if any.
func (e *ConfigError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrConfig, e.Err}
	}
	return []error{ErrConfig}
}

// listenSpec is one parsed Config.Listen entry.
type listenSpec struct {
	transport string // "tls", "tcp", "udp"
	addr      string // host:port
}

func (c *Config) withDefaults() (Config, []listenSpec, error) {
	cfg := *c
	if cfg.StateDir == "" {
		return cfg, nil, &ConfigError{Field: "StateDir", Msg: "required"}
	}
	if len(cfg.Listen) == 0 {
		cfg.Listen = []string{DefaultListen}
	}
	if cfg.Domain == "" {
		cfg.Domain = DefaultDomain
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.MaxConnections = orDefault(cfg.MaxConnections, DefaultMaxConnections)
	cfg.MaxConnectionsPerSource = orDefault(cfg.MaxConnectionsPerSource, DefaultMaxConnectionsPerSource)
	cfg.HandshakeTimeout = orDefault(cfg.HandshakeTimeout, DefaultHandshakeTimeout)
	cfg.UnregisteredIdleTimeout = orDefault(cfg.UnregisteredIdleTimeout, DefaultUnregisteredIdleTimeout)
	cfg.AckTimeout = orDefault(cfg.AckTimeout, DefaultAckTimeout)
	cfg.MediaTimeout = orDefault(cfg.MediaTimeout, DefaultMediaTimeout)
	cfg.SessionExpires = orDefault(cfg.SessionExpires, DefaultSessionExpires)
	cfg.MaxServiceCalls = orDefault(cfg.MaxServiceCalls, DefaultMaxServiceCalls)
	if cfg.SessionExpires > 0 && (cfg.SessionExpires < MinSessionExpires || cfg.SessionExpires%time.Second != 0) {
		return cfg, nil, &ConfigError{Field: "SessionExpires", Value: cfg.SessionExpires.String(), Msg: "want whole seconds, at least 90s"}
	}
	if cfg.FlowTimer < 0 || cfg.FlowTimer > 0 && (cfg.FlowTimer < time.Second || cfg.FlowTimer%time.Second != 0) {
		return cfg, nil, &ConfigError{Field: "FlowTimer", Value: cfg.FlowTimer.String(), Msg: "want whole seconds, e.g. 2m or 90s"}
	}
	cfg.DigestAlgorithms = slices.Clone(cfg.DigestAlgorithms)
	if len(cfg.DigestAlgorithms) == 0 {
		cfg.DigestAlgorithms = []string{"SHA-256", "MD5"}
	}
	for i, alg := range cfg.DigestAlgorithms {
		switch strings.ToUpper(alg) {
		case "SHA-256", "MD5":
			cfg.DigestAlgorithms[i] = strings.ToUpper(alg)
		default:
			return cfg, nil, &ConfigError{Field: "DigestAlgorithms", Value: alg, Msg: "want SHA-256 or MD5"}
		}
	}
	if cfg.ServerRoot != "" {
		if !slices.Contains(certs.FactoryRootIDs(), cfg.ServerRoot) {
			return cfg, nil, &ConfigError{Field: "ServerRoot", Value: cfg.ServerRoot,
				Msg: fmt.Sprintf("unknown root (%s)", strings.Join(certs.FactoryRootIDs(), ", ")), Err: ErrUnknownRoot}
		}
	}
	if cfg.AdminListen != "" {
		host, _, err := net.SplitHostPort(cfg.AdminListen)
		if err != nil {
			return cfg, nil, &ConfigError{Field: "AdminListen", Value: cfg.AdminListen, Msg: "want HOST:PORT on loopback, e.g. 127.0.0.1:8061"}
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return cfg, nil, &ConfigError{Field: "AdminListen", Value: cfg.AdminListen, Msg: "the admin API has no authentication and listens on loopback only (127.0.0.1, ::1 or localhost)"}
		}
	}
	if cfg.Gateway != "" {
		if _, port, err := net.SplitHostPort(cfg.Gateway); err != nil || port == "" {
			return cfg, nil, &ConfigError{Field: "Gateway", Value: cfg.Gateway, Msg: "want HOST:PORT, e.g. 127.0.0.1:8064"}
		}
	}
	specs := make([]listenSpec, 0, len(cfg.Listen))
	for _, l := range cfg.Listen {
		s, err := parseListen(l)
		if err != nil {
			return cfg, nil, err
		}
		specs = append(specs, s)
	}
	return cfg, specs, nil
}

func parseListen(s string) (listenSpec, error) {
	tp, addr, ok := strings.Cut(s, ":")
	tp = strings.ToLower(tp)
	if !ok || (tp != "tls" && tp != "tcp" && tp != "udp") {
		return listenSpec{}, &ConfigError{Field: "Listen", Value: s, Msg: "want tls:, tcp: or udp:HOST:PORT"}
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return listenSpec{}, &ConfigError{Field: "Listen", Value: s, Msg: "want tls:, tcp: or udp:HOST:PORT"}
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return listenSpec{}, &ConfigError{Field: "Listen", Value: s, Msg: "the port must be a number 0-65535"}
	}
	// The address goes into Record-Route and service Contacts, so it must
	// be one a phone can reach.
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		return listenSpec{}, &ConfigError{Field: "Listen", Value: s, Msg: "needs an address phones can reach, not 0.0.0.0 or an empty host (it goes into Record-Route)"}
	}
	return listenSpec{transport: tp, addr: addr}, nil
}

// orDefault is v, def when v is zero, and zero (off) when v is negative.
func orDefault[T int | time.Duration](v, def T) T {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}
