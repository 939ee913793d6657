package signin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/phone/signin"
)

var epoch = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// loop stands in for the phone: the test goroutine is its loop, running
// what the session posts; the work off the loop runs under ctx, which the
// test's end cancels and waits for.
type loop struct {
	ctx      context.Context
	t        *testing.T
	clk      *clock.Fake
	tasks    chan func()
	work     sync.WaitGroup
	signedIn int
	ended    int
}

func newLoop(t *testing.T) (*loop, signin.Env) {
	l := &loop{t: t, clk: clock.NewFake(epoch), tasks: make(chan func(), 16)}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); l.work.Wait() })
	l.ctx = ctx
	env := signin.Env{Host: l, Dir: t.TempDir()}
	return l, env
}

func (l *loop) Clock() clock.Clock { return l.clk }
func (l *loop) Log(level, format string, args ...any) {
	l.t.Logf("signin %s: "+format, append([]any{level}, args...)...)
}
func (l *loop) Go(f func(context.Context)) {
	l.work.Add(1)
	go func() { defer l.work.Done(); f(l.ctx) }()
}
func (l *loop) Post(f func()) bool {
	select {
	case l.tasks <- f:
		return true
	case <-l.ctx.Done():
		return false
	}
}
func (l *loop) Hold() func() { return func() {} }
func (l *loop) AfterFunc(d time.Duration, f func()) func() {
	tm := l.clk.AfterFunc(d, f) // run by Advance, on the test goroutine
	return func() { tm.Stop() }
}
func (l *loop) Alert(string)  {}
func (l *loop) CloseMenu()    {}
func (l *loop) User() string  { return "" }
func (l *loop) SignedIn()     { l.signedIn++ }
func (l *loop) Bearer(string) {}
func (l *loop) Register()     {}
func (l *loop) StopLine()     {}
func (l *loop) Ended()        { l.ended++ }

// next runs the next task the session posted to the loop.
func (l *loop) next() {
	l.t.Helper()
	select {
	case f := <-l.tasks:
		f()
	case <-time.After(10 * time.Second):
		l.t.Fatal("nothing posted to the loop within 10 s")
	}
}

// idp is a provider whose token endpoint answers once released.
type idp struct {
	srv             *httptest.Server
	entered, answer chan struct{}
}

func newIdP(t *testing.T) *idp {
	f := &idp{entered: make(chan struct{}, 4), answer: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"issuer": f.srv.URL, "token_endpoint": f.srv.URL + "/token", "device_authorization_endpoint": f.srv.URL + "/device"})
	})
	answer := func(w http.ResponseWriter, r *http.Request, body string) {
		_ = r.ParseForm()
		f.entered <- struct{}{}
		select {
		case <-f.answer:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, body)
	}
	mux.HandleFunc("/device", func(w http.ResponseWriter, r *http.Request) {
		answer(w, r, `{"device_code":"D","user_code":"ABCD-EFGH","verification_uri":"http://idp.test/device","expires_in":900,"interval":5}`)
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		answer(w, r, `{"access_token":"opaque","token_type":"Bearer","expires_in":3600,"refresh_token":"R"}`)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() { close(f.answer) }) // before the server closes
	return f
}

func (f *idp) waitEntered(t *testing.T) {
	t.Helper()
	select {
	case <-f.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("no request reached the provider")
	}
}

var firmware = signin.Firmware{Version: "1.0", Offered: []string{"user", "web", "pc"}, ClientID: "phone"}

// An answer that comes after its attempt ended (cancelled, a new boot) is
// dropped: no tokens, no sign-in, the code of a new attempt untouched.
func TestStaleAnswersDropped(t *testing.T) {
	for _, tc := range []struct {
		name  string
		begin func(s *signin.Session) error
		end   func(s *signin.Session)
	}{
		{"password grant cancelled", func(s *signin.Session) error { return s.Password("alice", "pw") }, (*signin.Session).Cancel},
		{"password grant across a boot", func(s *signin.Session) error { return s.Password("alice", "pw") }, func(s *signin.Session) { s.Boot(firmware) }},
		{"device authorization across a boot", func(s *signin.Session) error { return s.Web("web") }, func(s *signin.Session) { s.Boot(firmware) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newIdP(t)
			l, env := newLoop(t)
			s := signin.New(env, &signin.Config{Issuer: f.srv.URL})
			s.Boot(firmware)
			if err := tc.begin(s); err != nil {
				t.Fatal(err)
			}
			if s.State() != signin.SigningIn {
				t.Fatalf("state %v while signing in", s.State())
			}
			f.waitEntered(t)
			tc.end(s)
			f.answer <- struct{}{}
			l.next() // the answer, which the session drops
			if s.State() != signin.SignedOut || s.Tokens() != nil || l.signedIn != 0 {
				t.Fatalf("a stale answer was taken: state %v, tokens %v, signed in %d times", s.State(), s.Tokens(), l.signedIn)
			}
			if code, _, _ := s.Code(); code != "" {
				t.Fatalf("a stale device authorization shows code %q", code)
			}
			if _, err := os.Stat(filepath.Join(env.Dir, signin.TokensFile)); !os.IsNotExist(err) {
				t.Fatalf("a stale answer wrote tokens: %v", err)
			}
		})
	}
}

// Web sign-in on the session's own timers: the code shows, the poll runs
// at the interval on the phone's clock, and the tokens end the attempt.
func TestWebSignInTimers(t *testing.T) {
	f := newIdP(t)
	l, env := newLoop(t)
	s := signin.New(env, &signin.Config{Issuer: f.srv.URL})
	s.Boot(firmware)
	if err := s.Web("web"); err != nil {
		t.Fatal(err)
	}
	f.waitEntered(t)
	f.answer <- struct{}{}
	l.next()
	if code, _, left := s.Code(); code != "ABCD-EFGH" || left != 900*time.Second {
		t.Fatalf("code %q, %v left", code, left)
	}
	l.clk.Advance(4 * time.Second)
	select {
	case <-f.entered:
		t.Fatal("polled before the interval")
	default:
	}
	l.clk.Advance(time.Second)
	f.waitEntered(t)
	f.answer <- struct{}{}
	l.next()
	if s.Tokens() == nil || l.signedIn != 1 {
		t.Fatalf("tokens %v, signed in %d times", s.Tokens(), l.signedIn)
	}
	if code, _, _ := s.Code(); code != "" {
		t.Fatalf("the code %q still shows after sign-in", code)
	}
	if !s.Established() || s.State() != signin.SignedIn || s.SignedInBy() != "web" {
		t.Fatalf("after registering: state %v by %q", s.State(), s.SignedInBy())
	}
	if s.Established() {
		t.Fatal("a second registration counted as a fresh sign-in")
	}
	s.SignOut(signin.WhySignedOut, signin.ReasonSignedOut)
	if s.State() != signin.SignedOut || s.Tokens() != nil || l.ended != 1 {
		t.Fatalf("after sign-out: state %v, tokens %v, ended %d times", s.State(), s.Tokens(), l.ended)
	}
	if l.clk.Pending() != 0 {
		t.Fatalf("%d timers left after sign-out", l.clk.Pending())
	}
}

// A provisioned account is not an interactive sign-in: the lock asks no
// PIN after it.
func TestProvisionedIsNotFresh(t *testing.T) {
	_, env := newLoop(t)
	s := signin.New(env, nil)
	s.Boot(firmware)
	s.Start(signin.Provisioned)
	if s.Established() || s.SignedInBy() != "" {
		t.Fatalf("a provisioned account counts as signed in by %q", s.SignedInBy())
	}
	if err := s.Web("web"); !errors.Is(err, signin.ErrNoSignIn) {
		t.Fatalf("web sign-in without a provider: %v", err)
	}
}
