package phone_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/internal/inflight"
	"github.com/deskphone/deskphone/internal/testwait"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/phonetest"
	"github.com/deskphone/deskphone/phone/sipua"
	"github.com/deskphone/deskphone/phone/statedir"
)

// fakeGateway speaks the gateway's wire (docs: gateway-spec) with
// answers a test chooses.
type fakeGateway struct {
	srv *httptest.Server
	mu  sync.Mutex
	// refuse answers /device with this status and reason (403, 409, 410).
	refuse int
	reason string
	// state is the device's: signed-out or signed-in; password the
	// user's account's.
	state, password string
	// poll is what /pair/poll answers; pairs counts the codes given.
	poll  string
	pairs int
	// hold, when set, keeps the next /device request until it is closed.
	hold    chan struct{}
	paths   []string
	devices []map[string]string // the bodies of /device
}

func newFakeGateway(t *testing.T) *fakeGateway {
	t.Helper()
	g := &fakeGateway{state: "signed-out", password: "user-pass", poll: "pending"}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *fakeGateway) url() string { return g.srv.URL + "/emea" }

func (g *fakeGateway) set(f func(g *fakeGateway)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f(g)
}

func (g *fakeGateway) count(path string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, p := range g.paths {
		if p == path {
			n++
		}
	}
	return n
}

func (g *fakeGateway) serve(w http.ResponseWriter, r *http.Request) {
	var body map[string]string
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || r.Method != http.MethodPost {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/emea")
	g.mu.Lock()
	g.paths = append(g.paths, path)
	hold := g.hold
	if path == "/device" {
		g.devices = append(g.devices, body)
		g.hold = nil
	}
	g.mu.Unlock()
	if hold != nil && path == "/device" {
		// The answer is the device's state when it asked, sent late.
		rec := httptest.NewRecorder()
		g.answer(rec, r, path)
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
		return
	}
	g.answer(w, r, path)
}

// answer answers the request for path.
func (g *fakeGateway) answer(w http.ResponseWriter, r *http.Request, path string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch path {
	case "/device":
		if g.refuse != 0 {
			w.WriteHeader(g.refuse)
			code := map[int]string{403: "refused", 409: "in-use", 410: "offboarded"}[g.refuse]
			json.NewEncoder(w).Encode(map[string]string{"error": code, "reason": g.reason})
			return
		}
		g.provisioning(w)
	case "/pair":
		g.pairs++
		fmt.Fprintf(w, `{"pairing_code": "CODE-%04d", "pairing_url": "http://gw.test/devicelogin", "expires_in": 900, "interval": 60}`, g.pairs)
	case "/pair/poll":
		if g.poll == "signed-in" {
			g.state = "signed-in"
		}
		fmt.Fprintf(w, `{"status": %q, "reason": "The user denied it."}`, g.poll)
	case "/signout":
		g.state = "signed-out"
		g.provisioning(w)
	default:
		http.NotFound(w, r)
	}
}

// provisioning writes the device's provisioning (g.mu held).
func (g *fakeGateway) provisioning(w http.ResponseWriter) {
	acc := map[string]string{"user": "dev-00908f000001", "password": "dev-pass"}
	if g.state == "signed-in" {
		acc = map[string]string{"user": "alice", "password": g.password, "display_name": "Alice Example", "number": "1001"}
	}
	json.NewEncoder(w).Encode(map[string]any{
		"device_key": "KEY-1", "state": g.state,
		"registrar": map[string]string{"server": "sips:gw.example.com:5061", "domain": "example.com"},
		"account":   acc,
		"screens": map[string][]string{
			"signed_out": {"Microsoft Teams", "Sign in to use this phone."},
			"pairing":    {"Go to {url}", "Code: {code}", "Expires in {expires} min"},
		},
		"config": map[string]int{"poll_seconds": 3600},
	})
}

// gatewayPhone is a phone of model provisioned by g on a scripted line,
// a fake clock and an in-flight tracker, booted and its onboarding
// answered.
type gatewayPhone struct {
	p    *phone.Phone
	line *phonetest.Line
	clk  *clock.Fake
	tr   *inflight.Tracker
	dir  string
}

func newGatewayPhone(t *testing.T, g *fakeGateway, model, dir string, opts ...phone.Option) *gatewayPhone {
	t.Helper()
	return newGatewayPhoneOn(t, g, model, "", dir, opts...)
}

// newGatewayPhoneOn is newGatewayPhone on the firmware given ("": the
// model's default).
func newGatewayPhoneOn(t *testing.T, g *fakeGateway, model, firmware, dir string, opts ...phone.Option) *gatewayPhone {
	t.Helper()
	cat, err := catalog.Builtin()
	must(t, err)
	m, err := cat.Model(model)
	must(t, err)
	if dir == "" {
		dir = t.TempDir()
	}
	gp := &gatewayPhone{line: phonetest.New(), clk: clock.NewFake(start), tr: inflight.New(), dir: dir}
	opts = append([]phone.Option{phone.WithClock(gp.clk), phone.WithStateDir(dir), gp.line.Option(),
		phone.WithInflight(gp.tr), phone.WithMAC("00:90:8f:00:00:01")}, opts...)
	if g != nil {
		opts = append(opts, phone.WithProvisioningServer(g.url()))
	}
	gp.p, err = phone.New(m, firmware, opts...)
	must(t, err)
	gp.line.Attach(gp.p)
	must(t, gp.p.Start(context.Background()))
	t.Cleanup(func() { gp.p.Close() })
	gp.settle(t)
	return gp
}

// settle waits until no exchange with the gateway is out.
func (gp *gatewayPhone) settle(t *testing.T) {
	t.Helper()
	must(t, gp.tr.WaitIdle(10*time.Second))
	_, err := gp.p.State()
	must(t, err)
}

// advance moves the clock by d and lets the exchanges it set off end.
func (gp *gatewayPhone) advance(t *testing.T, d time.Duration) {
	t.Helper()
	gp.clk.Advance(d)
	gp.settle(t)
}

func TestGatewayOnboardPairSignOut(t *testing.T) {
	g := newFakeGateway(t)
	gp := newGatewayPhone(t, g, "430hd", "")
	p, line := gp.p, gp.line
	expectStatus(t, p, map[string]string{"gateway": "signed-out", "gateway_error": "", "screen": "gateway_signed_out",
		"mac": "00:90:8f:00:00:01", "pairing_code": "", "pairing_expires_in": ""})
	dev := g.devices[0]
	if dev["mac"] != "00:90:8f:00:00:01" || dev["device_key"] != "" || dev["vendor"] != "AudioCodes" || dev["model"] != "430HD" || dev["mode"] != "3pip" || dev["firmware"] == "" {
		t.Errorf("onboarding request %v", dev)
	}
	if c := line.Config(); c.User != "dev-00908f000001" || c.Password != "dev-pass" || c.Server != "sips:gw.example.com:5061" {
		t.Errorf("the line registers as %s/%s at %s, want the device account", c.User, c.Password, c.Server)
	}
	line.Send(sipua.Registered{Expires: time.Hour})
	if scr := p.Screen(); !scr.Contains("Sign in to use this phone.") || scr.Title != "Microsoft Teams" {
		t.Errorf("signed-out screen:\n%s", scr.Text())
	}
	golden(t, "gateway-signed-out", p.Screen().Text())

	must(t, p.SoftkeyLabel("Sign In"))
	gp.settle(t)
	expectStatus(t, p, map[string]string{"gateway": "signing-in", "screen": "gateway_pairing",
		"pairing_code": "CODE-0001", "pairing_url": "http://gw.test/devicelogin", "pairing_expires_in": "900"})
	if scr := p.Screen(); !scr.Contains("Code: CODE-0001") || !scr.Contains("Expires in 15 min") {
		t.Errorf("pairing screen:\n%s", scr.Text())
	}
	golden(t, "gateway-pairing", p.Screen().Text())
	gp.advance(t, time.Minute)
	if n := g.count("/pair/poll"); n != 1 {
		t.Fatalf("%d polls after a minute, want 1", n)
	}
	expectStatus(t, p, map[string]string{"gateway": "signing-in", "pairing_expires_in": "840"})

	g.set(func(g *fakeGateway) { g.poll = "signed-in" })
	gp.advance(t, time.Minute)
	expectStatus(t, p, map[string]string{"gateway": "signed-in", "pairing_code": "", "user": "alice"})
	if c := line.Config(); c.User != "alice" || c.Password != "user-pass" {
		t.Errorf("signed in, the line registers as %s/%s, want alice", c.User, c.Password)
	}
	line.Send(sipua.Registered{Expires: time.Hour})
	expectStatus(t, p, map[string]string{"registered": "yes", "screen": "idle"})
	if scr := p.Screen(); !scr.Contains("alice") || !scr.Contains("1001") || scr.Status.Label != "Alice Example" {
		t.Errorf("signed-in idle screen:\n%s", scr.Text())
	}
	golden(t, "gateway-signed-in", p.Screen().Text())
	// The statedir's account is not the gateway's: config.json never
	// holds it.
	must(t, p.Press(phone.KeyVolUp))
	data, err := os.ReadFile(filepath.Join(gp.dir, "config.json"))
	must(t, err)
	if strings.Contains(string(data), "user-pass") || !strings.Contains(string(data), g.url()) {
		t.Errorf("config.json:\n%s", data)
	}
	rec, err := os.ReadFile(filepath.Join(gp.dir, phone.GatewayFile))
	must(t, err)
	if !strings.Contains(string(rec), `"KEY-1"`) || !strings.Contains(string(rec), `"signed-in"`) {
		t.Errorf("%s:\n%s", phone.GatewayFile, rec)
	}

	must(t, p.SignOut())
	gp.settle(t)
	expectStatus(t, p, map[string]string{"gateway": "signed-out", "screen": "gateway_signed_out"})
	if c := line.Config(); c.User != "dev-00908f000001" {
		t.Errorf("signed out, the line registers as %s, want the device", c.User)
	}
	if !line.Has("UNREGISTER") {
		t.Errorf("the user's registration was not removed: %v", line.Ops())
	}
	if err := p.SignOut(); !errors.Is(err, phone.ErrNoSignIn) {
		t.Errorf("signing out twice: %v", err)
	}
}

// A code runs out: the screen says so until Back, which asks for a new
// one.
func TestGatewayCodeExpiresBackRestarts(t *testing.T) {
	g := newFakeGateway(t)
	gp := newGatewayPhone(t, g, "vvx501", "")
	p := gp.p
	must(t, p.SignInWeb("web"))
	gp.settle(t)
	for range 15 {
		gp.advance(t, time.Minute)
	}
	expectStatus(t, p, map[string]string{"gateway": "signing-in", "screen": "gateway_expired", "pairing_code": "", "pairing_expires_in": ""})
	if scr := p.Screen(); !scr.Contains("Pairing code expired.") {
		t.Errorf("expired screen:\n%s", scr.Text())
	}
	golden(t, "gateway-expired", p.Screen().Text())
	polls := g.count("/pair/poll")
	gp.advance(t, 5*time.Minute)
	if n := g.count("/pair/poll"); n != polls {
		t.Errorf("an expired code is still polled: %d polls, then %d", polls, n)
	}
	must(t, p.SoftkeyLabel("Back"))
	gp.settle(t)
	expectStatus(t, p, map[string]string{"gateway": "signing-in", "screen": "gateway_pairing", "pairing_code": "CODE-0002"})
}

// Onboarding refused: the reason shows, the phone has no line.
func TestGatewayRefusals(t *testing.T) {
	for _, tt := range []struct {
		status      int
		reason      string
		state       string
		screen      string
		screenLines string
	}{
		{403, "VVX 501 firmware 5.9.0.9373 is below the minimum 5.9.5 for the SIP Gateway.", "refused", "gateway_refused", "SIP Gateway refused this phone:"},
		{409, "The device is in use by another phone.", "refused", "gateway_refused", "SIP Gateway refused this phone:"},
		{410, "This device was offboarded after 30 days without a connection. Reset it to factory settings to onboard it again.", "offboarded", "gateway_offboarded", "SIP Gateway:"},
	} {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			g := newFakeGateway(t)
			g.refuse, g.reason = tt.status, tt.reason
			gp := newGatewayPhone(t, g, "vvx501", "")
			expectStatus(t, gp.p, map[string]string{"gateway": tt.state, "gateway_error": tt.reason, "screen": tt.screen, "registered": "no"})
			if gp.line.Has("REGISTER 1h0m0s") {
				t.Errorf("a refused phone registers: %v", gp.line.Ops())
			}
			if scr := gp.p.Screen(); !scr.Contains(tt.screenLines) || !scr.Contains("5.9.5") && tt.status == 403 {
				t.Errorf("screen:\n%s", scr.Text())
			}
			if err := gp.p.SignInWeb("web"); !errors.Is(err, phone.ErrNoSignIn) {
				t.Errorf("pairing a %s phone: %v", tt.state, err)
			}
			if tt.status == 410 {
				golden(t, "gateway-offboarded", gp.p.Screen().Text())
			}
		})
	}
}

// A check-sync NOTIFY fetches the provisioning again: a sign-in done
// elsewhere (a bulk sign-in) registers the phone as the user.
func TestGatewayCheckSync(t *testing.T) {
	g := newFakeGateway(t)
	gp := newGatewayPhone(t, g, "t48g", "")
	g.set(func(g *fakeGateway) { g.state = "signed-in" })
	gp.line.CheckSync()
	gp.settle(t)
	expectStatus(t, gp.p, map[string]string{"gateway": "signed-in", "user": "alice"})
	if n := g.count("/device"); n != 2 {
		t.Errorf("%d fetches, want 2", n)
	}
	// Remote sign-out by the admin.
	g.set(func(g *fakeGateway) { g.state = "signed-out" })
	gp.line.CheckSync()
	gp.settle(t)
	expectStatus(t, gp.p, map[string]string{"gateway": "signed-out", "user": "dev-00908f000001"})
}

// A registration refused on the gateway's account fetches the
// provisioning once before the failure shows.
func TestGatewayRegisterRefusedFetchesOnce(t *testing.T) {
	g := newFakeGateway(t)
	g.state = "signed-in"
	gp := newGatewayPhone(t, g, "430hd", "")
	gp.line.Send(sipua.Registered{Expires: time.Hour})
	g.set(func(g *fakeGateway) { g.password = "new-pass" })
	gp.line.Send(sipua.RegisterFailed{Code: 401, Reason: "Unauthorized"})
	gp.settle(t)
	expectStatus(t, gp.p, map[string]string{"registration_error": "", "gateway": "signed-in"})
	if c := gp.line.Config(); c.Password != "new-pass" {
		t.Errorf("the line registers with %q, want the new password", c.Password)
	}
	// The same account refused twice: the failure shows.
	gp.line.Send(sipua.RegisterFailed{Code: 401, Reason: "Unauthorized"})
	gp.settle(t)
	gp.line.Send(sipua.RegisterFailed{Code: 401, Reason: "Unauthorized"})
	gp.settle(t)
	expectStatus(t, gp.p, map[string]string{"registration_error": "Wrong password (401)"})
	if n := g.count("/device"); n != 3 {
		t.Errorf("%d fetches, want 3 (boot, one per refusal until it shows)", n)
	}
}

// An answer to a request made before a reboot is dropped.
func TestGatewayRebootDropsStaleAnswer(t *testing.T) {
	g := newFakeGateway(t)
	gp := newGatewayPhone(t, g, "430hd", "")
	hold := make(chan struct{})
	g.set(func(g *fakeGateway) { g.hold, g.state = hold, "signed-in" })
	gp.line.CheckSync() // the fetch waits at the gateway, its answer signed in
	testwait.For(t, 10*time.Second, "the held fetch", func() bool { return g.count("/device") == 2 })
	g.set(func(g *fakeGateway) { g.state = "signed-out" })
	must(t, gp.p.Reboot())
	testwait.For(t, 10*time.Second, "the reboot's fetch", func() bool {
		st, _ := gp.p.State()
		return g.count("/device") == 3 && st.Gateway == phone.GatewaySignedOut
	})
	// The reboot's answer is in; now the stale one, which is dropped.
	close(hold)
	gp.settle(t)
	expectStatus(t, gp.p, map[string]string{"gateway": "signed-out", "user": "dev-00908f000001"})
}

// Close during a request: the request is cancelled and nothing is left.
func TestGatewayCloseDuringRequest(t *testing.T) {
	g := newFakeGateway(t)
	hold := make(chan struct{})
	defer close(hold)
	g.hold = hold
	gp := newGatewayPhone2(t, g)
	done := make(chan error, 1)
	go func() { done <- gp.p.Close() }()
	select {
	case err := <-done:
		must(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Close waits on the gateway's answer")
	}
	must(t, gp.tr.WaitIdle(10*time.Second))
}

// newGatewayPhone2 starts a phone whose onboarding is still out.
func newGatewayPhone2(t *testing.T, g *fakeGateway) *gatewayPhone {
	t.Helper()
	cat, err := catalog.Builtin()
	must(t, err)
	m, err := cat.Model("430hd")
	must(t, err)
	gp := &gatewayPhone{line: phonetest.New(), clk: clock.NewFake(start), tr: inflight.New(), dir: t.TempDir()}
	gp.p, err = phone.New(m, "", phone.WithClock(gp.clk), phone.WithStateDir(gp.dir), gp.line.Option(),
		phone.WithInflight(gp.tr), phone.WithProvisioningServer(g.url()))
	must(t, err)
	must(t, gp.p.Start(context.Background()))
	testwait.For(t, 10*time.Second, "the onboarding request", func() bool { return g.count("/device") == 1 })
	return gp
}

// The gateway URL is kept: a later boot without it onboards again; a
// damaged gateway.json stops the power-on with its name.
func TestGatewayURLKeptAndRecordDamaged(t *testing.T) {
	g := newFakeGateway(t)
	gp := newGatewayPhone(t, g, "430hd", "")
	must(t, gp.p.Close())
	gp2 := newGatewayPhone(t, nil, "430hd", gp.dir)
	expectStatus(t, gp2.p, map[string]string{"gateway": "signed-out"})
	if dev := g.devices[len(g.devices)-1]; dev["device_key"] != "KEY-1" {
		t.Errorf("the second boot onboards with key %q, want its own", dev["device_key"])
	}
	must(t, gp2.p.Close())
	must(t, os.WriteFile(filepath.Join(gp.dir, phone.GatewayFile), []byte("null"), 0o600))
	cat, _ := catalog.Builtin()
	m, _ := cat.Model("430hd")
	_, err := phone.New(m, "", phone.WithStateDir(gp.dir))
	var damaged *statedir.DamagedError
	if !errors.As(err, &damaged) || !strings.HasSuffix(damaged.Path, phone.GatewayFile) {
		t.Errorf("a damaged %s: %v", phone.GatewayFile, err)
	}
	// Another provisioning server clears the gateway URL.
	_ = os.Remove(filepath.Join(gp.dir, phone.GatewayFile))
	gp3 := newGatewayPhone(t, nil, "430hd", gp.dir, phone.WithProvisioningServer("http://127.0.0.1:1/firmware"))
	expectStatus(t, gp3.p, map[string]string{"gateway": "none"})
}

// Without a gateway the phone carries none of it.
func TestNoGatewayNoneOfIt(t *testing.T) {
	p, _, _ := onFakeLine(t, "430hd")
	expectStatus(t, p, map[string]string{"gateway": "none", "gateway_error": "", "pairing_code": "", "pairing_url": "", "pairing_expires_in": "", "screen": "idle"})
}

// A gateway out of reach at boot: the phone registers with the account it
// kept and onboards again with a back-off.
func TestGatewayUnreachableKeepsAccount(t *testing.T) {
	g := newFakeGateway(t)
	g.state = "signed-in"
	gp := newGatewayPhone(t, g, "c450hd", "")
	must(t, gp.p.Close())
	g.srv.Close()
	gp2 := newGatewayPhone(t, nil, "c450hd", gp.dir)
	expectStatus(t, gp2.p, map[string]string{"gateway": "onboarding", "user": "alice"})
	if st, _ := gp2.p.State(); !strings.Contains(st.GatewayError, "connect") {
		t.Errorf("gateway_error %q, want why", st.GatewayError)
	}
	if c := gp2.line.Config(); c.User != "alice" || c.Password != "user-pass" {
		t.Errorf("the line registers as %s, want the kept account", c.User)
	}
	if ops := gp2.line.Ops(); !slices.Contains(ops, "REGISTER 1h0m0s") {
		t.Errorf("no REGISTER: %v", ops)
	}
}
