package backend

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/deskphone/deskphone/backend/gateway"
	"github.com/deskphone/deskphone/backend/idp"
	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/internal/inflight"
	"github.com/deskphone/deskphone/internal/lockout"
	// Sizes sipgo's per-connection read buffers for fleets of phones.
	_ "github.com/deskphone/deskphone/internal/footprint"
)

// Backend is the mock cloud: registrar, proxy, service users, MWI and an
// admin API. Create it with New, run it with Start, stop it with Close.
// Its methods are safe for concurrent use.
type Backend struct {
	cfg   Config
	specs []listenSpec
	log   *slog.Logger
	clock clock.Clock
	pki   *pki
	auth  *authenticator
	idp   *idp.Server // web sign-in and tokens; see signin.go

	ua     *sipgo.UserAgent
	server *sipgo.Server
	client *sipgo.Client

	// ctx ends when Close starts; everything the backend runs watches it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the backend starts or lends to sipgo handlers
	// sending counts the backend's holds on work in flight (requests it
	// originated, answers it relays); each is counted in cfg.Inflight too.
	sending atomic.Int32
	// finals holds the final responses to the INVITEs we proxy from the
	// transport to the proxy loop (nil without cfg.Inflight).
	finals *inflight.Finals

	mu        sync.Mutex
	state     lifecycle
	users     *directory
	failures  lockout.Window        // wrong passwords, by user and source address
	lockedOut map[string]time.Time  // user and source locked out until, on the cloud's clock
	acctFails lockout.Window        // wrong passwords, by user, from anywhere
	familiar  lockout.Familiar      // the sources each user registered from
	bindings  map[string][]*binding // location service, by lower-case user name
	byFlow    map[flow][]*binding   // the same bindings by the flow they came over
	byContact map[contactKey][]*binding
	listeners []*listener
	admin     *http.Server
	adminAddr string
	calls     map[string]*serviceCall // calls answered by services, by dialog key
	// serviceLoad counts each user's calls to services (answered or
	// ringing), by lower-case user name, for MaxServiceCalls.
	serviceLoad map[string]int
	subs        map[string]*subscription // MWI subscriptions, by dialog key
	mailboxes   map[string]*mailbox      // by lower-case user name

	dialogs dialogTable // dialogs the proxy set up; see dialogs.go

	policies policyStore // the in-band policy, tenant and per user; see policy.go

	// gw is the Teams SIP Gateway (nil without Config.Gateway); its SIP
	// side is gateway_sip.go, its wiring gateway_wire.go. gwServer serves
	// its provisioning at gwAddr once started.
	gw       *gateway.Service
	gwServer *http.Server
	gwAddr   string
	// gwHooks, when set, stands in for gw (tests plug a fake in).
	gwHooks gatewayHooks
	// cutoff3PIP is the Skype for Business phones' end of life (zero:
	// none), set by the admin's "gateway cutoff". Guarded by mu.
	cutoff3PIP time.Time
}

type lifecycle int

const (
	lifecycleNew lifecycle = iota
	lifecycleStarted
	lifecycleClosed
)

// listener is one SIP socket.
type listener struct {
	transport string // "TLS", "TCP", "UDP" as sipgo spells them
	host      string
	port      int
	closer    io.Closer
	guard     *guardListener // TCP and TLS: accept loop, caps, deadlines
}

func (l *listener) addr() string { return net.JoinHostPort(l.host, strconv.Itoa(l.port)) }

// New checks cfg, loads the users and the PKI (creating the PKI on first
// use) and prepares the SIP stack. Nothing listens until Start.
func New(cfg Config) (*Backend, error) {
	c, specs, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	users := DefaultUsers()
	if c.UsersFile != "" {
		if users, err = LoadUsers(c.UsersFile); err != nil {
			return nil, err
		}
	}
	users = append(users, c.LoadUsers...)
	dir := newDirectory()
	for _, u := range users {
		if err := u.Validate(); err != nil {
			return nil, err
		}
		if err := dir.add(u); err != nil {
			return nil, err
		}
	}
	p, err := newPKI(c.StateDir, c.Domain, c.ServerRoot, c.Lab, c.Clock)
	if err != nil {
		return nil, err
	}
	auth, err := newAuthenticator(c.Domain, c.DigestAlgorithms, c.Clock)
	if err != nil {
		return nil, err
	}
	b := &Backend{
		cfg:         c,
		specs:       specs,
		log:         c.Logger,
		clock:       c.Clock,
		pki:         p,
		auth:        auth,
		users:       dir,
		failures:    lockout.Window{Max: MaxAuthFailures, Per: AuthLockout},
		lockedOut:   map[string]time.Time{},
		acctFails:   lockout.Window{Max: MaxAccountAuthFailures, Per: AccountAuthWindow},
		familiar:    lockout.Familiar{Max: 16, Per: FamiliarSourceFor},
		bindings:    map[string][]*binding{},
		byFlow:      map[flow][]*binding{},
		byContact:   map[contactKey][]*binding{},
		calls:       map[string]*serviceCall{},
		serviceLoad: map[string]int{},
		subs:        map[string]*subscription{},
		mailboxes:   map[string]*mailbox{},
	}
	if err := b.newIdP(); err != nil {
		return nil, err
	}
	if c.Gateway != "" {
		if err := b.newGateway(); err != nil {
			return nil, err
		}
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	if err := b.newStack(); err != nil {
		b.cancel()
		return nil, err
	}
	return b, nil
}

// newStack builds the sipgo user agent, server and client.
func (b *Backend) newStack() error {
	// The SIP library's own housekeeping warnings (a peer that closed
	// before our close-notify, a pool cleanup) are noise to an operator;
	// its errors are not, and at debug level everything shows.
	sipLog := slog.New(atLeast{h: b.log.Handler(), min: slog.LevelError})
	if b.log.Enabled(context.Background(), slog.LevelDebug) {
		sipLog = b.log
	}
	tpOpts := []sip.TransportLayerOption{sip.WithTransportLayerLogger(sipLog)}
	if t := b.cfg.Inflight; t != nil {
		// What the transport reads is counted (and, in the delay test
		// mode, made late) before the SIP stack acts on it.
		b.finals = inflight.NewFinals(t)
		tpOpts = append(tpOpts, sip.WithTransportLayerReadFilter(func(_ sip.TransportReadProps, data []byte) ([]byte, error) {
			b.finals.Read(data)
			return data, nil
		}))
	}
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent("deskphone-backend"),
		sipgo.WithUserAgentHostname(b.cfg.Domain),
		sipgo.WithUserAgentTransportLayerOptions(tpOpts...),
		sipgo.WithUserAgentTransactionLayerOptions(
			sip.WithTransactionLayerLogger(sipLog),
			// A phone that drops its connection cannot answer; fail its
			// transactions now instead of after Timer B.
			sip.WithTransactionLayerTerminateOnConnClose(),
			sip.WithTransactionLayerUnhandledResponseHandler(b.strayResponse),
		),
	)
	if err != nil {
		return fmt.Errorf("sip stack: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(sipLog))
	if err != nil {
		ua.Close()
		return fmt.Errorf("sip server: %w", err)
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientLogger(sipLog))
	if err != nil {
		ua.Close()
		return fmt.Errorf("sip client: %w", err)
	}
	for _, m := range []sip.RequestMethod{
		sip.REGISTER, sip.INVITE, sip.ACK, sip.CANCEL, sip.BYE, sip.OPTIONS, sip.SUBSCRIBE,
		sip.NOTIFY, sip.REFER, sip.INFO, sip.MESSAGE, sip.UPDATE, sip.PRACK,
	} {
		srv.OnRequest(m, b.handle)
	}
	srv.OnNoRoute(b.handle)
	b.ua, b.server, b.client = ua, srv, client
	return nil
}

// Start opens the SIP listeners and the admin API. ctx bounds start-up
// only; stop the backend with Close.
func (b *Backend) Start(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case lifecycleStarted:
		return ErrStarted
	case lifecycleClosed:
		return ErrClosed
	}
	tlsConf := &tls.Config{
		MinVersion:     tls.VersionTLS12, // Lync Phone Edition (TLS 1.0) fails, as in the cloud since 2018
		MaxVersion:     tls.VersionTLS13,
		GetCertificate: b.pki.current,
	}
	lc := net.ListenConfig{}
	var serve []func()
	var gwLn net.Listener
	fail := func(err error) error {
		for _, l := range b.listeners {
			l.closer.Close()
		}
		b.listeners = nil
		if gwLn != nil {
			gwLn.Close()
			b.gwAddr, b.gwServer = "", nil
		}
		return err
	}
	for _, s := range b.specs {
		var l *listener
		switch s.transport {
		case "udp":
			pc, err := lc.ListenPacket(ctx, "udp", s.addr)
			if err != nil {
				return fail(fmt.Errorf("listen %s:%s: %w", s.transport, s.addr, err))
			}
			l = &listener{transport: "UDP", closer: pc}
			l.host, l.port = splitAddr(pc.LocalAddr())
			serve = append(serve, func() { _ = b.server.ServeUDP(pc) })
		case "tcp", "tls":
			ln, err := lc.Listen(ctx, "tcp", s.addr)
			if err != nil {
				return fail(fmt.Errorf("listen %s:%s: %w", s.transport, s.addr, err))
			}
			var conf *tls.Config
			if s.transport == "tls" {
				conf = tlsConf
			}
			g := newGuardListener(ln, strings.ToUpper(s.transport), conf, &b.cfg, b.log)
			g.inDialog = func(raddr string) bool { return b.flowInDialog(flow{transport: g.transport, addr: raddr}) }
			l = &listener{transport: g.transport, closer: g, guard: g}
			l.host, l.port = splitAddr(ln.Addr())
			serve = append(serve, b.serveStream(g))
		}
		b.listeners = append(b.listeners, l)
	}
	if b.gw != nil {
		ln, run, err := b.listenGateway(ctx, lc)
		if err != nil {
			return fail(err)
		}
		gwLn = ln
		b.gw.SetRegistrar(b.gatewayRegistrar())
		serve = append(serve, run)
	}
	if b.cfg.AdminListen != "" {
		ln, err := lc.Listen(ctx, "tcp", b.cfg.AdminListen)
		if err != nil {
			return fail(fmt.Errorf("admin listen %s: %w", b.cfg.AdminListen, err))
		}
		b.adminAddr = ln.Addr().String()
		if b.admin, err = b.newAdminServer(b.adminAddr); err != nil {
			ln.Close()
			return fail(err)
		}
		b.idp.SetBaseURL("http://" + b.adminAddr)
		admin := b.admin
		serve = append(serve, func() { _ = admin.Serve(ln) })
	}
	for _, f := range serve {
		b.wg.Go(f)
	}
	b.state = lifecycleStarted
	for _, l := range b.listeners {
		b.log.Info("backend listening", "transport", l.transport, "addr", l.addr())
	}
	if b.adminAddr != "" {
		b.log.Info("admin API listening", "addr", "http://"+b.adminAddr+"/admin/")
	}
	if b.gwAddr != "" {
		b.log.Info("gateway listening", "addr", "http://"+b.gwAddr)
	}
	return nil
}

func splitAddr(a net.Addr) (string, int) {
	host, port, _ := net.SplitHostPort(a.String())
	p, _ := strconv.Atoi(port)
	return host, p
}

// Close stops the listeners, ends every call, subscription and timer and
// waits for every goroutine the backend started. It is idempotent.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.state == lifecycleClosed {
		b.mu.Unlock()
		return nil
	}
	b.state = lifecycleClosed
	b.cancel()
	var errs []error
	for _, l := range b.listeners {
		if err := l.closer.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	admin, gw := b.admin, b.gwServer
	for _, list := range b.bindings {
		for _, bd := range list {
			bd.stop()
		}
	}
	for _, s := range b.subs {
		s.stop()
	}
	for _, c := range b.calls {
		if c.sessionTimer != nil {
			c.sessionTimer.Stop()
		}
		if c.endTimer != nil {
			c.endTimer.Stop()
		}
		c.letGoAck()
	}
	b.mu.Unlock()
	if b.gw != nil {
		b.gw.Close() // its batch timers; never under b.mu
	}

	if admin != nil {
		if err := admin.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if gw != nil {
		if err := gw.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	// Terminates every transaction and closes every connection, which
	// releases handlers waiting on them. Errors closing connections the
	// phones have already dropped are no news.
	if err := b.ua.Close(); err != nil {
		b.log.Debug("closing connections", "error", err)
	}
	b.wg.Wait()
	return errors.Join(errs...)
}

// enter registers a unit of work (a request handler, a sender); it fails
// once Close has begun, so nothing is added to the wait group after Close
// waits on it.
func (b *Backend) enter() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == lifecycleClosed {
		return false
	}
	b.wg.Add(1)
	return true
}

// goRequest runs a request the backend sends on its own (a NOTIFY, a
// CANCEL, a BYE) on a tracked goroutine, held until it completes so a
// runner on virtual time knows the wire is not quiet.
func (b *Backend) goRequest(f func()) {
	release := b.hold()
	if !b.enter() {
		release()
		return
	}
	go func() {
		defer b.wg.Done()
		defer release()
		defer b.recoverPanic("goroutine", nil, nil)
		f()
	}()
}

// hold counts work in flight until the returned func is called (once).
func (b *Backend) hold() func() {
	b.sending.Add(1)
	rel := b.cfg.Inflight.Hold()
	var once sync.Once
	return func() {
		once.Do(func() {
			rel()
			b.sending.Add(-1)
		})
	}
}

// Settled reports whether nothing the backend holds is in flight: no
// request it sent on its own waits for its answer, no answer it relays
// waits for its receiver to take over.
func (b *Backend) Settled() bool { return b.sending.Load() == 0 }

// goTracked runs f on a goroutine Close waits for; it does nothing once
// Close has begun.
func (b *Backend) goTracked(f func()) {
	if !b.enter() {
		return
	}
	go func() {
		defer b.wg.Done()
		defer b.recoverPanic("goroutine", nil, nil)
		f()
	}()
}

// handle is the sipgo handler for every request.
func (b *Backend) handle(req *sip.Request, tx sip.ServerTransaction) {
	if !b.enter() {
		return
	}
	defer b.wg.Done()
	defer b.recoverPanic("request", req, tx)
	b.cfg.Inflight.Delay()
	b.dispatch(req, tx)
}

// recoverPanic keeps a bug triggered by one hostile message from taking
// the backend down: it logs the panic and answers 500 when it can.
func (b *Backend) recoverPanic(what string, req *sip.Request, tx sip.ServerTransaction) {
	r := recover()
	if r == nil {
		return
	}
	b.log.Error("backend: panic handling "+what, "panic", r, "stack", string(debug.Stack()))
	if req != nil && tx != nil && !req.IsAck() {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusInternalServerError, "Server Internal Error", nil))
	}
}

// Addr returns the address of the first listener of transport ("tls",
// "tcp", "udp"), e.g. "127.0.0.1:5061", or "" when there is none or the
// backend has not started.
func (b *Backend) Addr(transport string) string {
	if l := b.listenerFor(transport); l != nil {
		return l.addr()
	}
	return ""
}

func (b *Backend) listenerFor(transport string) *listener {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range b.listeners {
		if strings.EqualFold(l.transport, transport) {
			return l
		}
	}
	return nil
}

// AdminAddr returns the admin API's address, or "" when it is off or the
// backend has not started.
func (b *Backend) AdminAddr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.adminAddr
}

// Domain returns the SIP domain, which is also the digest realm.
func (b *Backend) Domain() string { return b.cfg.Domain }

// ServerName returns the DNS name the server certificate is issued for,
// the name a phone puts in SNI and checks. The certificate also names
// 127.0.0.1 and the domain.
func (b *Backend) ServerName() string { return DefaultServerName }

// ServerRoot returns the id of the factory root the current server chain
// leads to.
func (b *Backend) ServerRoot() string { return b.pki.currentRoot() }

// GetCertificate is the server certificate in use, as a
// tls.Config.GetCertificate hook: the cloud's other HTTPS services (the
// update service) present the same chain and rotate with it.
func (b *Backend) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	return b.pki.current(hello)
}

// RotateCertificate issues (or reuses) a server chain under the factory
// root and serves it on every new TLS handshake; connections already up
// keep theirs. The choice is persisted in StateDir and survives restarts.
// Seed 002: after RotateCertificate(certs.FactoryRoot2022), a phone whose
// firmware only has lab-2019 fails with "unable to get local issuer
// certificate".
func (b *Backend) RotateCertificate(root string) error {
	if err := b.pki.use(root); err != nil {
		return err
	}
	b.log.Info("server certificate rotated", "root", root)
	return nil
}

// Users returns the users, in the order they were added. Services are not
// users; see Services.
func (b *Backend) Users() []User {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.users.users)
}

// AddUser adds a user to the running backend. The change lives in memory
// only: to keep a user across restarts put it in the users file.
func (b *Backend) AddUser(u User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.users.add(u); err != nil {
		return err
	}
	b.log.Info("user added", "user", u.User, "extension", u.Extension)
	return nil
}

func (b *Backend) lookupUser(nameOrExt string) (User, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.users.lookup(nameOrExt)
}

// atLeast passes on the records of h at min or above.
type atLeast struct {
	h   slog.Handler
	min slog.Level
}

func (a atLeast) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= a.min && a.h.Enabled(ctx, l)
}
func (a atLeast) Handle(ctx context.Context, r slog.Record) error { return a.h.Handle(ctx, r) }
func (a atLeast) WithAttrs(attrs []slog.Attr) slog.Handler {
	return atLeast{h: a.h.WithAttrs(attrs), min: a.min}
}
func (a atLeast) WithGroup(name string) slog.Handler {
	return atLeast{h: a.h.WithGroup(name), min: a.min}
}
