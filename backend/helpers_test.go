package backend

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/deskphone/deskphone/certs"
	"github.com/deskphone/deskphone/media/sdp"
)

// testTimeout bounds every wait in these tests; nothing sleeps to assert.
const testTimeout = 10 * time.Second

// testLogger discards logs unless BACKEND_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("BACKEND_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// startBackend runs a backend on loopback with free ports and closes it
// when the test ends.
func startBackend(t *testing.T, mod func(*Config)) *Backend {
	t.Helper()
	cfg := Config{
		Listen:      []string{"tls:127.0.0.1:0", "tcp:127.0.0.1:0", "udp:127.0.0.1:0"},
		StateDir:    t.TempDir(),
		AdminListen: "127.0.0.1:0",
		Logger:      testLogger(),
	}
	if mod != nil {
		mod(&cfg)
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

// rootPool trusts the given factory roots only.
func rootPool(t testing.TB, ids ...string) *x509.CertPool {
	t.Helper()
	pool := x509.NewCertPool()
	for _, id := range ids {
		c, err := certs.FactoryRoot(id)
		if err != nil {
			t.Fatal(err)
		}
		pool.AddCert(c)
	}
	return pool
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// answerMode is what a test phone does with an incoming INVITE.
type answerMode int

const (
	answerOK   answerMode = iota // 180, then 200 with an SDP answer
	answerRing                   // 180 until cancelled
)

var contactPorts atomic.Int32

// testPhone is a sipgo user agent playing a desk phone: it connects to
// the backend over TLS (or TCP/UDP), registers, places and answers calls
// and records what it receives. It never listens: everything comes back
// over the connection it opened, as with real phones behind TLS.
type testPhone struct {
	t         *testing.T
	user      string
	password  string
	transport string // "TLS", "TCP", "UDP"
	server    string // backend host:port
	domain    string

	ua      *sipgo.UserAgent
	cli     *sipgo.Client
	contact sip.ContactHeader
	dsc     *sipgo.DialogServerCache
	dua     *sipgo.DialogUA

	mode atomic.Int32
	// redirectTo, when set, answers every INVITE 302 to that user, with
	// a Diversion as a forwarding desk phone sends it.
	redirectTo atomic.Pointer[string]
	// answerGate, when set, holds the 200 until it is closed (after the
	// caller has seen the 180).
	answerGate chan struct{}
	invites    chan *sipgo.DialogServerSession // answered or ringing sessions, as they arrive
	notifies   chan *sip.Request
	byes       chan *sip.Request
	// unanswered are the INVITEs whose transaction ended while ringing
	// (answerRing): cancelled.
	unanswered chan *sip.Request

	mu       sync.Mutex
	outgoing []*sipgo.DialogClientSession
}

func newPhone(t *testing.T, b *Backend, user string) *testPhone {
	return newPhoneOn(t, b, user, "secret", "TLS")
}

func newPhoneOn(t *testing.T, b *Backend, user, password, transport string) *testPhone {
	t.Helper()
	p := &testPhone{
		t: t, user: user, password: password, transport: transport,
		server:   b.Addr(transport),
		domain:   b.Domain(),
		invites:  make(chan *sipgo.DialogServerSession, 8),
		notifies: make(chan *sip.Request, 8),
		byes:     make(chan *sip.Request, 8),

		unanswered: make(chan *sip.Request, 8),
	}
	log := testLogger().With("phone", user)
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent(user),
		sipgo.WithUserAgentHostname(b.Domain()),
		sipgo.WithUserAgenTLSConfig(&tls.Config{RootCAs: rootPool(t, certs.FactoryRoot2019), ServerName: b.ServerName(), MinVersion: tls.VersionTLS12}),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(log)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(log)),
	)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	cli, err := sipgo.NewClient(ua, sipgo.WithClientLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	p.ua, p.cli = ua, cli
	p.contact = sip.ContactHeader{Address: sip.Uri{
		Scheme: "sip", User: user, Host: "127.0.0.1", Port: 20000 + int(contactPorts.Add(1)),
		UriParams: sip.HeaderParams{{K: "transport", V: strings.ToLower(transport)}},
	}}
	p.dsc = sipgo.NewDialogServerCache(cli, p.contact)
	p.dua = &sipgo.DialogUA{Client: cli, ContactHDR: p.contact}

	srv.OnInvite(p.onInvite)
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { _ = p.dsc.ReadAck(req, tx) })
	srv.OnBye(p.onBye)
	srv.OnNotify(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
		p.notifies <- req
	})
	t.Cleanup(func() { ua.Close() })
	return p
}

func (p *testPhone) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if to := p.redirectTo.Load(); to != nil {
		res := sip.NewResponseFromRequest(req, sip.StatusMovedTemporarily, "Moved Temporarily", nil)
		res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: *to, Host: p.domain}})
		res.AppendHeader(sip.NewHeader("Diversion", "<sip:"+p.user+"@"+p.domain+">;reason=user-busy;counter=1"))
		_ = tx.Respond(res)
		return
	}
	sess, err := p.dsc.ReadInvite(req, tx)
	if err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusBadRequest, err.Error(), nil))
		return
	}
	if err := sess.Respond(sip.StatusRinging, "Ringing", nil); err != nil {
		return
	}
	p.invites <- sess
	if answerMode(p.mode.Load()) == answerRing {
		<-tx.Done()
		select {
		case p.unanswered <- req:
		default:
		}
		return
	}
	if p.answerGate != nil {
		select {
		case <-p.answerGate:
		case <-tx.Done():
			return
		}
	}
	offer, err := sdp.Parse(req.Body())
	if err != nil {
		_ = sess.Respond(sip.StatusBadRequest, "Bad SDP", nil)
		return
	}
	ans, err := sdp.Answer(offer, "127.0.0.1", 30000, []sdp.Format{sdp.PCMU, sdp.TelephoneEvent}, sdp.SendRecv)
	if err != nil {
		_ = sess.Respond(sip.StatusNotAcceptableHere, "Not Acceptable Here", nil)
		return
	}
	_ = sess.RespondSDP(ans.Marshal())
}

func (p *testPhone) onBye(req *sip.Request, tx sip.ServerTransaction) {
	p.byes <- req
	if err := p.dsc.ReadBye(req, tx); err == nil {
		return
	}
	p.mu.Lock()
	outgoing := append([]*sipgo.DialogClientSession(nil), p.outgoing...)
	p.mu.Unlock()
	for _, s := range outgoing {
		if s.ID != "" && s.ID == dialogIDUAC(req) {
			_ = s.ReadBye(req, tx)
			return
		}
	}
	_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "No Dialog", nil))
}

func dialogIDUAC(req *sip.Request) string {
	id, _ := sip.DialogIDFromRequestUAC(req)
	return id
}

func (p *testPhone) aor() sip.Uri {
	return sip.Uri{Scheme: "sip", User: p.user, Host: p.domain}
}

// newRequest builds an out-of-dialog request from this phone, sent to the
// backend as outbound proxy.
func (p *testPhone) newRequest(method sip.RequestMethod, to sip.Uri) *sip.Request {
	req := sip.NewRequest(method, to)
	from := &sip.FromHeader{Address: p.aor(), Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(10))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: to})
	c := p.contact
	req.AppendHeader(&c)
	// The backend is the outbound proxy: a preloaded Route, as phones
	// do, so that the CANCEL sipgo builds from the INVITE goes there too.
	host, port, _ := net.SplitHostPort(p.server)
	portN, _ := strconv.Atoi(port)
	req.AppendHeader(&sip.RouteHeader{Address: sip.Uri{
		Scheme: "sip", Host: host, Port: portN,
		UriParams: sip.HeaderParams{{K: "transport", V: strings.ToLower(p.transport)}, {K: "lr"}},
	}})
	req.SetTransport(p.transport)
	return req
}

// register sends REGISTER with the given Expires and answers the digest
// challenge for algorithm alg ("MD5" or "SHA-256"). It returns the final
// response.
func (p *testPhone) register(ctx context.Context, alg string, expires int) (*sip.Response, error) {
	req := p.newRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: p.domain})
	req.ReplaceHeader(&sip.ToHeader{Address: p.aor()})
	req.AppendHeader(sip.NewHeader("Expires", fmt.Sprint(expires)))
	res, err := p.cli.Do(ctx, req)
	if err != nil || res.StatusCode != sip.StatusUnauthorized {
		return res, err
	}
	if err := p.authorize(req, res, "WWW-Authenticate", "Authorization", alg); err != nil {
		return nil, err
	}
	return p.cli.Do(ctx, req, sipgo.ClientRequestIncreaseCSEQ, sipgo.ClientRequestAddVia)
}

// authorize answers the challenge in res for alg, adding the credentials
// header to req and clearing its Via for a new transaction.
func (p *testPhone) authorize(req *sip.Request, res *sip.Response, chalHeader, credHeader, alg string) error {
	for _, h := range res.GetHeaders(chalHeader) {
		chal, err := digest.ParseChallenge(h.Value())
		if err != nil || !strings.EqualFold(chal.Algorithm, alg) {
			continue
		}
		cred, err := digest.Digest(chal, digest.Options{
			Method: string(req.Method), URI: req.Recipient.Addr(), Username: p.user, Password: p.password,
		})
		if err != nil {
			return err
		}
		req.RemoveHeader(credHeader)
		req.AppendHeader(sip.NewHeader(credHeader, cred.String()))
		req.RemoveHeader("Via")
		return nil
	}
	return fmt.Errorf("no %s challenge for %s in %s", chalHeader, alg, res.Short())
}

func (p *testPhone) mustRegister(ctx context.Context) {
	p.t.Helper()
	res, err := p.register(ctx, "SHA-256", 3600)
	if err != nil || res.StatusCode != sip.StatusOK {
		p.t.Fatalf("%s: register: %v %v", p.user, res, err)
	}
}

// call sends an INVITE with an SDP offer to target ("bob", "1002",
// "echo") and waits for the final response. The session is returned
// whatever the outcome; err wraps sipgo.ErrDialogResponse for non-2xx.
func (p *testPhone) call(ctx context.Context, target string) (*sipgo.DialogClientSession, error) {
	return p.callObserved(ctx, target, nil)
}

// callObserved is call with a hook seeing every response.
func (p *testPhone) callObserved(ctx context.Context, target string, onResponse func(*sip.Response)) (*sipgo.DialogClientSession, error) {
	return p.callWith(ctx, target, sipgo.AnswerOptions{OnResponse: func(res *sip.Response) error {
		if onResponse != nil {
			onResponse(res)
		}
		return nil
	}})
}

// callWith is call with sipgo's answer options (digest credentials for
// 407, a response hook).
func (p *testPhone) callWith(ctx context.Context, target string, opts sipgo.AnswerOptions) (*sipgo.DialogClientSession, error) {
	to := sip.Uri{Scheme: "sip", User: target, Host: p.domain}
	req := p.newRequest(sip.INVITE, to)
	req.RemoveHeader("Contact") // the dialog UA adds its own
	offer := sdp.NewOffer("127.0.0.1", 40000, []sdp.Format{sdp.G722, sdp.PCMU, sdp.TelephoneEvent}, sdp.SendRecv)
	req.SetBody(offer.Marshal())
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	sess, err := p.dua.WriteInvite(ctx, req)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.outgoing = append(p.outgoing, sess)
	p.mu.Unlock()
	return sess, sess.WaitAnswer(ctx, opts)
}

// statusOf extracts the status code from a WaitAnswer error.
func statusOf(err error) int {
	var de *sipgo.ErrDialogResponse
	if errors.As(err, &de) {
		return de.Res.StatusCode
	}
	return 0
}

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testTimeout):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// waitDone waits for a dialog (or anything with a context) to end.
func waitDone(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	select {
	case <-ctx.Done():
	case <-time.After(testTimeout):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// adminCall sends method path with body to b's admin API and returns the
// answer's status, body and Content-Type.
func adminCall(t *testing.T, b *Backend, method, path, body string) (code int, data, contentType string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t), method, "http://"+b.AdminAddr()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(raw), res.Header.Get("Content-Type")
}
