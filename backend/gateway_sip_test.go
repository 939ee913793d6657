package backend

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/deskphone/deskphone/backend/gateway"
	"github.com/deskphone/deskphone/backend/idp"
	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/internal/inflight"
	"github.com/deskphone/deskphone/internal/testwait"
)

// fakeGateway plays the gateway's service for the SIP side: credentials,
// enrollment codes and settings are the test's.
type fakeGateway struct {
	mu       sync.Mutex
	creds    map[string][]string // by account
	devices  map[string]bool     // devices' own accounts
	settings map[string]*gateway.Settings
	codes    map[string]string // enrollment code: the account it signs in
	used     map[string]bool
	seen     []string
	enrolled []string
}

func newFakeGateway() *fakeGateway {
	return &fakeGateway{
		creds: map[string][]string{}, devices: map[string]bool{}, settings: map[string]*gateway.Settings{},
		codes: map[string]string{}, used: map[string]bool{},
	}
}

func (g *fakeGateway) Credentials(account string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.creds[account])
}

func (g *fakeGateway) Seen(account string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.seen = append(g.seen, account)
}

func (g *fakeGateway) Enroll(account, code string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.devices[account] {
		return gateway.ErrNotDevice
	}
	if g.used[code] {
		return gateway.ErrUsedEnrollCode
	}
	if _, ok := g.codes[code]; !ok {
		return gateway.ErrBadEnrollCode
	}
	g.used[code] = true
	g.enrolled = append(g.enrolled, account)
	return nil
}

func (g *fakeGateway) FeatureCode(user, dialled string) (gateway.Settings, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.settings[user]
	if st == nil {
		return gateway.Settings{}, gateway.ErrUnknownCode
	}
	arg := func(prefix string) (string, bool) {
		n, ok := strings.CutPrefix(dialled, prefix)
		return n, ok && n != ""
	}
	switch {
	case dialled == "*30*":
		st.DND = true
	case dialled == "*31*":
		st.DND = false
	case dialled == "*32*":
		st.ForwardTo, st.ForwardNoAnswer, st.SimRing = "", "", ""
	case dialled == "*34*":
		st.ForwardNoAnswer = ServiceVoicemail
	default:
		if n, ok := arg("*33*"); ok {
			st.ForwardTo = n
		} else if n, ok := arg("*34*"); ok {
			st.ForwardNoAnswer = n
		} else if n, ok := arg("*35*"); ok {
			st.SimRing = n
		} else {
			return gateway.Settings{}, gateway.ErrUnknownCode
		}
	}
	return *st, nil
}

func (g *fakeGateway) Settings(user string) (gateway.Settings, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if st := g.settings[user]; st != nil {
		return *st, true
	}
	return gateway.Settings{}, false
}

func (g *fakeGateway) IsDeviceAccount(account string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.devices[account]
}

// signIn makes user signed in on a gateway device with password.
func (g *fakeGateway) signIn(user, password string, st gateway.Settings) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.creds[user] = append(g.creds[user], password)
	g.settings[user] = &st
}

func (g *fakeGateway) get(user string) gateway.Settings {
	st, _ := g.Settings(user)
	return st
}

// gwEnv is a cloud with a fake gateway on a fake clock, its work in
// flight tracked as a scenario's is.
type gwEnv struct {
	t   *testing.T
	b   *Backend
	clk *clock.Fake
	tr  *inflight.Tracker
	gw  *fakeGateway
}

func startGateway(t *testing.T) *gwEnv {
	t.Helper()
	e := &gwEnv{
		t:   t,
		clk: clock.NewFake(time.Date(2023, 7, 31, 12, 0, 0, 0, time.UTC)),
		tr:  inflight.New(),
		gw:  newFakeGateway(),
	}
	b, err := New(Config{
		// TCP: the server certificate is issued on the cloud's clock, in
		// 2023, and the test phones check it on the host's.
		Listen:      []string{"tcp:127.0.0.1:0"},
		StateDir:    t.TempDir(),
		AdminListen: "127.0.0.1:0",
		Logger:      testLogger(),
		Clock:       e.clk,
		Inflight:    e.tr,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	b.gwHooks = e.gw
	if err := b.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	e.b = b
	return e
}

// idle waits until nothing is in flight, as a scenario's runner does
// before it moves the clock.
func (e *gwEnv) idle() {
	e.t.Helper()
	if err := e.tr.WaitIdle(testTimeout); err != nil {
		e.t.Fatal(err)
	}
	// The cloud lets go of the tracker a moment before its own count.
	testwait.For(e.t, testTimeout, "the cloud to settle", e.b.Settled)
}

// advance moves the cloud's clock once the wire is quiet.
func (e *gwEnv) advance(d time.Duration) {
	e.t.Helper()
	e.idle()
	e.clk.Advance(d)
}

// phone is a registered test phone of account with password.
func (e *gwEnv) phone(account, password string) *testPhone {
	e.t.Helper()
	p := newPhoneOn(e.t, e.b, account, password, "TCP")
	p.mustRegister(ctxT(e.t))
	return p
}

// placeCall calls target from p in the background; the outcome comes on
// the channel.
func placeCall(ctx context.Context, p *testPhone, target string) <-chan callResult {
	out := make(chan callResult, 1)
	go func() {
		sess, err := p.call(ctx, target)
		out <- callResult{sess, err}
	}()
	return out
}

type callResult struct {
	sess *sipgo.DialogClientSession
	err  error
}

// hangUp ends an answered call from the caller's side.
func hangUp(t *testing.T, ctx context.Context, sess *sipgo.DialogClientSession) {
	t.Helper()
	if err := sess.Bye(ctx); err != nil {
		t.Fatalf("BYE: %v", err)
	}
}

func TestGatewayRegistration(t *testing.T) {
	e := startGateway(t)
	ctx := ctxT(t)
	e.gw.signIn("alice", "issued-for-alice", gateway.Settings{})
	e.gw.creds["dev-00908f123456"] = []string{"device-secret"}
	e.gw.devices["dev-00908f123456"] = true

	// A user signed in on a gateway device registers with the password
	// the gateway issued, and is seen; the directory's still works.
	e.phone("alice", "issued-for-alice")
	dev := e.phone("dev-00908f123456", "device-secret")
	e.phone("bob", "secret")
	e.gw.mu.Lock()
	seen := slices.Clone(e.gw.seen)
	e.gw.mu.Unlock()
	if !slices.Equal(seen, []string{"alice", "dev-00908f123456"}) {
		t.Errorf("seen %v, want alice and the device (not bob)", seen)
	}
	if !e.b.gatewayRegistered("dev-00908f123456") || !e.b.gatewayRegistered("alice") || e.b.gatewayRegistered("carol") {
		t.Error("gatewayRegistered does not follow the bindings")
	}
	if !e.b.onGatewayFlow(flowOfUser(t, e.b, "alice"), "alice") || e.b.onGatewayFlow(flowOfUser(t, e.b, "bob"), "bob") {
		t.Error("the bindings are not marked by how they authenticated")
	}

	// A device account's password is its own: a wrong one is refused, and
	// an account the gateway never issued is nobody.
	wrong := newPhoneOn(t, e.b, "dev-00908f123456", "guess", "TCP")
	if res, err := wrong.register(ctx, "SHA-256", 3600); err != nil || res.StatusCode != sip.StatusUnauthorized {
		t.Errorf("device account with a wrong password: %v %v, want 401", res, err)
	}
	stranger := newPhoneOn(t, e.b, "dev-001122334455", "x", "TCP")
	if res, err := stranger.register(ctx, "SHA-256", 3600); err != nil || res.StatusCode != sip.StatusNotFound {
		t.Errorf("unknown device account: %v %v, want 404", res, err)
	}

	// Unregistered, the device is offline.
	if res, err := dev.register(ctx, "SHA-256", 0); err != nil || res.StatusCode != sip.StatusOK {
		t.Fatalf("unregister: %v %v", res, err)
	}
	if e.b.gatewayRegistered("dev-00908f123456") {
		t.Error("an unregistered device is registered")
	}
	e.idle()
}

// flowOfUser is the flow user registered over.
func flowOfUser(t *testing.T, b *Backend, user string) flow {
	t.Helper()
	for _, r := range b.Registrations() {
		if r.AOR == user {
			return flow{transport: r.Transport, addr: r.Source}
		}
	}
	t.Fatalf("%s is not registered", user)
	return flow{}
}

// check-sync reaches the phone over the connection it registered on.
func TestGatewayCheckSync(t *testing.T) {
	e := startGateway(t)
	e.gw.signIn("alice", "issued", gateway.Settings{})
	alice := e.phone("alice", "issued")

	e.b.gatewayCheckSync("alice")
	e.b.gatewayCheckSync("nobody") // nothing to tell
	n := recv(t, alice.notifies, "check-sync NOTIFY")
	if ev := n.GetHeader("Event"); ev == nil || ev.Value() != "check-sync" {
		t.Errorf("Event %v, want check-sync", ev)
	}
	if ss := n.GetHeader("Subscription-State"); ss == nil || ss.Value() != "terminated" {
		t.Errorf("Subscription-State %v, want terminated", ss)
	}
	if cl := n.ContentLength(); cl == nil || int(*cl) != 0 || len(n.Body()) != 0 {
		t.Errorf("Content-Length %v, body %q: want none", cl, n.Body())
	}
	if toTag(n) != "" || n.To().Address.User != "alice" {
		t.Errorf("To %v: want alice, out of any dialog", n.To())
	}
	e.idle()
}

// tokenGrant posts a grant of client to the cloud's token endpoint.
func tokenGrant(t *testing.T, b *Backend, client string, form url.Values) (int, map[string]string) {
	t.Helper()
	form.Set("client_id", client)
	res, err := http.PostForm(b.IdP().TokenURL(), form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body := map[string]string{}
	var raw map[string]any
	if err := json.NewDecoder(res.Body).Decode(&raw); err != nil {
		t.Fatalf("token answer not JSON: %v", err)
	}
	for k, v := range raw {
		if s, ok := v.(string); ok {
			body[k] = s
		}
	}
	return res.StatusCode, body
}

// The 3PIP end of life: from the cut-off on the cloud's clock, a REGISTER
// by the directory's password and every grant of the phones' clients are
// refused; the gateway's credentials go on.
func TestGatewayCutoff(t *testing.T) {
	e := startGateway(t)
	ctx := ctxT(t)
	e.gw.signIn("alice", "issued", gateway.Settings{})
	bob := e.phone("bob", "secret")
	password := url.Values{"grant_type": {idp.GrantPassword}, "username": {"bob"}, "password": {"secret"}}
	if code, body := tokenGrant(t, e.b, idp.PolyClientID, password); code != http.StatusOK {
		t.Fatalf("no cut-off by default, yet the password grant is refused: %d %v", code, body)
	}

	code, body, _ := adminCall(t, e.b, http.MethodPost, "/admin/gateway/cutoff?date=2023-08-01", "")
	if code != http.StatusOK || !strings.Contains(body, `"cutoff_3pip": "2023-08-01T00:00:00Z"`) || !strings.Contains(body, `"passed": false`) {
		t.Fatalf("gateway cutoff: %d %s", code, body)
	}
	if a, args, ok := LookupAction([]string{"gateway", "cutoff", "none"}); !ok || a.Step != "gateway_cutoff" || len(args) != 1 {
		t.Errorf("the command gateway cutoff: %v %v", a, args)
	}
	if code, _, _ := adminCall(t, e.b, http.MethodPost, "/admin/gateway/cutoff?date=August", ""); code != http.StatusBadRequest {
		t.Errorf("a cut-off that is no date: %d, want 400", code)
	}
	bob.mustRegister(ctx) // the day before

	e.advance(12*time.Hour - 10*time.Minute)
	token := tokenFor(t, e.b, "bob")
	if res := bob.registerBearer(token); res.StatusCode != sip.StatusOK {
		t.Fatalf("REGISTER by token the day before: %v", res)
	}
	e.advance(10 * time.Minute) // 2023-08-01 00:00 UTC
	res, err := bob.register(ctx, "SHA-256", 3600)
	if err != nil || res.StatusCode != sip.StatusForbidden || res.Reason != "3PIP End Of Life" {
		t.Fatalf("REGISTER by password after the cut-off: %v %v, want 403 3PIP End Of Life", res, err)
	}
	want := `399 ` + e.b.Domain() + ` "Skype for Business phones (3PIP) are no longer supported since 2023-08-01"`
	if w := res.GetHeader("Warning"); w == nil || w.Value() != want {
		t.Errorf("Warning %v, want %s", w, want)
	}
	if res := bob.registerBearer(token); res.StatusCode != sip.StatusForbidden || res.Reason != "3PIP End Of Life" {
		t.Errorf("REGISTER by a token still valid after the cut-off: %v, want 403 3PIP End Of Life", res)
	}
	e.phone("alice", "issued") // the gateway's credential passes

	for name, form := range map[string]url.Values{
		"password":    password,
		"device_code": {"grant_type": {idp.GrantDeviceCode}, "device_code": {"whatever"}},
		"refresh":     {"grant_type": {idp.GrantRefreshToken}, "refresh_token": {"whatever"}},
		"shared":      {"grant_type": {idp.GrantPassword}, "username": {"bob"}, "password": {"secret"}},
	} {
		client := idp.PolyClientID
		if name == "shared" {
			client = idp.SharedClientID
		}
		code, body := tokenGrant(t, e.b, client, form)
		if code != http.StatusBadRequest || body["error"] != "unauthorized_client" || body["suberror"] != "3pip_end_of_life" ||
			!strings.Contains(body["error_description"], "since 2023-08-01") {
			t.Errorf("%s grant after the cut-off: %d %v", name, code, body)
		}
	}

	if code, body, _ := adminCall(t, e.b, http.MethodPost, "/admin/gateway/cutoff?date=none", ""); code != http.StatusOK || !strings.Contains(body, `"cutoff_3pip": null`) {
		t.Fatalf("gateway cutoff none: %d %s", code, body)
	}
	bob.mustRegister(ctx)
	if code, body := tokenGrant(t, e.b, idp.PolyClientID, password); code != http.StatusOK {
		t.Errorf("cut-off removed, yet the password grant is refused: %d %v", code, body)
	}
	e.idle()
}

// confirmed checks a feature code's confirmation: answered with SDP, the
// cloud hangs up confirmFor later on its clock.
func (e *gwEnv) confirmed(p *testPhone, dialled string) {
	e.t.Helper()
	ctx := ctxT(e.t)
	sess, err := p.call(ctx, dialled)
	if err != nil {
		e.t.Fatalf("%s dials %s: %v", p.user, dialled, err)
	}
	if ct := sess.InviteResponse.ContentType(); ct == nil || ct.Value() != "application/sdp" || len(sess.InviteResponse.Body()) == 0 {
		e.t.Errorf("%s: the confirmation carries no SDP answer", dialled)
	}
	if c := sess.InviteResponse.Contact(); c == nil || c.Address.User != ServiceTone {
		e.t.Errorf("%s: answered by %v, want the tone service", dialled, c)
	}
	if err := sess.Ack(ctx); err != nil {
		e.t.Fatal(err)
	}
	e.advance(confirmFor - time.Millisecond)
	recvNone(e.t, p.byes)
	e.advance(time.Millisecond)
	bye := recv(e.t, p.byes, "the confirmation's BYE")
	if r := bye.GetHeader("Reason"); r == nil || !strings.Contains(r.Value(), "cause=200") {
		e.t.Errorf("%s: BYE Reason %v", dialled, r)
	}
	waitDone(e.t, sess.Context(), "the confirmation call to end")
	e.idle()
}

func TestGatewayFeatureCodes(t *testing.T) {
	e := startGateway(t)
	ctx := ctxT(t)
	e.gw.signIn("alice", "issued", gateway.Settings{})
	alice := e.phone("alice", "issued")
	for _, tc := range []struct {
		dialled string
		want    gateway.Settings
	}{
		{"*30*", gateway.Settings{DND: true}},
		{"*31*", gateway.Settings{}},
		{"*33*1002", gateway.Settings{ForwardTo: "1002"}},
		{"*32*", gateway.Settings{}},
		{"*34*", gateway.Settings{ForwardNoAnswer: ServiceVoicemail}},
		{"*34*1003", gateway.Settings{ForwardNoAnswer: "1003"}},
		{"*35*1002", gateway.Settings{ForwardNoAnswer: "1003", SimRing: "1002"}},
		{"*32*", gateway.Settings{}},
	} {
		e.confirmed(alice, tc.dialled)
		if got := e.gw.get("alice"); got != tc.want {
			t.Errorf("after %s: %+v, want %+v", tc.dialled, got, tc.want)
		}
	}

	// A code the gateway refuses: 404 with the reason.
	if _, err := alice.call(ctx, "*77*"); statusOf(err) != sip.StatusNotFound || reasonOf(err) != "Unknown Feature Code" {
		t.Errorf("*77*: %v, want 404 Unknown Feature Code", err)
	}

	// *99* is the voicemail service.
	sess, err := alice.call(ctx, "*99*")
	if err != nil {
		t.Fatalf("*99*: %v", err)
	}
	if c := sess.InviteResponse.Contact(); c == nil || c.Address.User != ServiceVoicemail {
		t.Errorf("*99* answered by %v, want voicemail", c)
	}
	if err := sess.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	hangUp(t, ctx, sess)

	// A phone not registered through the gateway dials no feature code.
	bob := e.phone("bob", "secret")
	if _, err := bob.call(ctx, "*30*"); statusOf(err) != sip.StatusNotFound {
		t.Errorf("*30* from a 3PIP registration: %v, want 404", err)
	}
	e.idle()
}

// reasonOf is the reason phrase of a call's final response.
func reasonOf(err error) string {
	var de *sipgo.ErrDialogResponse
	if errors.As(err, &de) {
		return de.Res.Reason
	}
	return ""
}

// A common-area phone signed out dials *55* and its verification code;
// nothing else.
func TestGatewayEnroll(t *testing.T) {
	e := startGateway(t)
	ctx := ctxT(t)
	const account = "dev-00908f123456"
	e.gw.creds[account] = []string{"device-secret"}
	e.gw.devices[account] = true
	e.gw.codes["123456"] = "carol"
	dev := e.phone(account, "device-secret")

	e.confirmed(dev, "*55*123456")
	if e.gw.enrolled == nil || e.gw.enrolled[0] != account {
		t.Errorf("enrolled %v", e.gw.enrolled)
	}
	for _, tc := range []struct{ dialled, reason string }{
		{"*55*123456", "Verification Code Already Used"},
		{"*55*999999", "Verification Code Not Valid"},
		{"1002", "Sign In First"},
		{"*30*", "Sign In First"},
	} {
		_, err := dev.call(ctx, tc.dialled)
		if statusOf(err) != sip.StatusForbidden || reasonOf(err) != tc.reason {
			t.Errorf("the device dials %s: %v, want 403 %s", tc.dialled, err, tc.reason)
		}
	}
	e.idle()
}

// A caller of a user on Do Not Disturb is busy.
func TestGatewayDND(t *testing.T) {
	e := startGateway(t)
	ctx := ctxT(t)
	e.gw.signIn("alice", "issued", gateway.Settings{DND: true})
	alice := e.phone("alice", "issued")
	bob := e.phone("bob", "secret")
	if _, err := bob.call(ctx, "alice"); statusOf(err) != sip.StatusBusyHere {
		t.Errorf("call to alice on DND: %v, want 486", err)
	}
	recvNone(t, alice.invites)
	e.idle()
}

// Forwarding always: the call goes to the target, with Diversion.
func TestGatewayForwardAlways(t *testing.T) {
	e := startGateway(t)
	ctx := ctxT(t)
	e.gw.signIn("alice", "issued", gateway.Settings{ForwardTo: "1003"})
	alice := e.phone("alice", "issued")
	bob, carol := e.phone("bob", "secret"), e.phone("carol", "secret")
	sess, err := bob.call(ctx, "1001")
	if err != nil {
		t.Fatalf("call to alice: %v", err)
	}
	in := recv(t, carol.invites, "the INVITE at carol").InviteRequest
	if d := in.GetHeader("Diversion"); d == nil || !strings.Contains(d.Value(), "<sip:alice@") || !strings.Contains(d.Value(), "reason=unconditional") {
		t.Errorf("Diversion at carol: %v", d)
	}
	recvNone(t, alice.invites)
	if err := sess.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	hangUp(t, ctx, sess)
	e.idle()
}

// Forwarding on no answer: the callee rings gateway.NoAnswerAfter on the
// cloud's clock, is cancelled, and the call goes on to the target (or to
// voicemail).
func TestGatewayForwardNoAnswer(t *testing.T) {
	for _, target := range []string{"carol", ServiceVoicemail} {
		t.Run(target, func(t *testing.T) {
			e := startGateway(t)
			ctx := ctxT(t)
			e.gw.signIn("alice", "issued", gateway.Settings{ForwardNoAnswer: target})
			alice := e.phone("alice", "issued")
			alice.mode.Store(int32(answerRing))
			bob, carol := e.phone("bob", "secret"), e.phone("carol", "secret")

			call := placeCall(ctx, bob, "alice")
			recv(t, alice.invites, "the INVITE at alice")
			e.advance(gateway.NoAnswerAfter - time.Second)
			recvNone(t, alice.unanswered)
			e.advance(time.Second)
			recv(t, alice.unanswered, "alice's INVITE cancelled")
			if target == "carol" {
				in := recv(t, carol.invites, "the INVITE at carol").InviteRequest
				if d := in.GetHeader("Diversion"); d == nil || !strings.Contains(d.Value(), "<sip:alice@") || !strings.Contains(d.Value(), "reason=no-answer") {
					t.Errorf("Diversion at carol: %v", d)
				}
			}
			r := recv(t, call, "bob's call answered")
			if r.err != nil {
				t.Fatalf("bob's call: %v", r.err)
			}
			if c := r.sess.InviteResponse.Contact(); c == nil || c.Address.User != target {
				t.Errorf("answered by %v, want %s", c, target)
			}
			if err := r.sess.Ack(ctx); err != nil {
				t.Fatal(err)
			}
			hangUp(t, ctx, r.sess)
			e.idle()
		})
	}
}

// Simultaneous ring: both phones ring, the first to answer has the call
// and the other is cancelled.
func TestGatewaySimRing(t *testing.T) {
	e := startGateway(t)
	ctx := ctxT(t)
	e.gw.signIn("alice", "issued", gateway.Settings{SimRing: "1003"})
	alice := e.phone("alice", "issued")
	alice.mode.Store(int32(answerRing))
	bob := e.phone("bob", "secret")
	carol := newPhoneOn(t, e.b, "carol", "secret", "TCP")
	carol.answerGate = make(chan struct{})
	carol.mustRegister(ctx)

	call := placeCall(ctx, bob, "alice")
	recv(t, alice.invites, "the INVITE at alice")
	recv(t, carol.invites, "the INVITE at carol")
	e.idle()
	close(carol.answerGate)
	r := recv(t, call, "bob's call answered")
	if r.err != nil {
		t.Fatalf("bob's call: %v", r.err)
	}
	if c := r.sess.InviteResponse.Contact(); c == nil || c.Address.User != "carol" {
		t.Errorf("answered by %v, want carol", c)
	}
	recv(t, alice.unanswered, "alice's INVITE cancelled")
	if err := r.sess.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	// The dialog is recorded as carol's, who answered.
	callee := ""
	e.b.dialogs.mu.Lock()
	for _, d := range e.b.dialogs.m {
		if d.confirmed {
			callee = d.callee.user
		}
	}
	e.b.dialogs.mu.Unlock()
	if callee != "carol" {
		t.Errorf("the dialog's callee is %q, want carol", callee)
	}
	hangUp(t, ctx, r.sess)
	testwait.For(t, testTimeout, "the dialog to end", func() bool { return e.b.dialogs.count() == 0 })
	e.idle()
}
