package phone_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deskphone/deskphone/backend"
	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/internal/inflight"
	"github.com/deskphone/deskphone/internal/testwait"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/statedir"
)

// fakeIdP is a provider whose answers a test chooses.
type fakeIdP struct {
	srv       *httptest.Server
	issuer    string // what discovery names; default the server's URL
	discovery func(w http.ResponseWriter)
	token     func(w http.ResponseWriter, r *http.Request)
	// device is the device authorization answer; "" for a good one.
	device string
	mu     sync.Mutex
	polls  int
}

func newFakeIdP(t *testing.T) *fakeIdP {
	t.Helper()
	f := &fakeIdP{}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		if f.discovery != nil {
			f.discovery(w)
			return
		}
		iss := f.issuer
		if iss == "" {
			iss = f.srv.URL
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"issuer": iss, "token_endpoint": f.srv.URL + "/token", "device_authorization_endpoint": f.srv.URL + "/device"})
	})
	mux.HandleFunc("/device", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if f.device != "" {
			fmt.Fprint(w, f.device)
			return
		}
		fmt.Fprint(w, `{"device_code":"DEVICE-SECRET","user_code":"ABCD-EFGH","verification_uri":"http://idp.test/device","expires_in":900,"interval":5}`)
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.polls++
		f.mu.Unlock()
		f.token(w, r)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeIdP) pollCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.polls
}

func oauthError(w http.ResponseWriter, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	fmt.Fprintf(w, `{"error":%q}`, code)
}

func jwtFor(iss, sub string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(fmt.Sprintf(`{"iss":%q,"sub":%q}`, iss, sub))) + ".c2ln"
}

func signInPhone(t *testing.T, model, firmware, dir string, si phone.SignIn, opts ...phone.Option) (*phone.Phone, *clock.Fake) {
	t.Helper()
	cat, err := catalog.Builtin()
	must(t, err)
	m, err := cat.Model(model)
	must(t, err)
	clk := clock.NewFake(start)
	p, err := phone.New(m, firmware, append([]phone.Option{phone.WithClock(clk), phone.WithStateDir(dir), phone.WithSignIn(si)}, opts...)...)
	must(t, err)
	must(t, p.Start(context.Background()))
	t.Cleanup(func() { p.Close() })
	return p, clk
}

func TestSignInBadProviders(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(f *fakeIdP)
		wantError string
	}{
		{"discovery answers HTML", func(f *fakeIdP) {
			f.discovery = func(w http.ResponseWriter) {
				w.Header().Set("Content-Type", "text/html")
				fmt.Fprint(w, "<html>maintenance</html>")
			}
		}, "not JSON"},
		{"discovery answers garbage", func(f *fakeIdP) {
			f.discovery = func(w http.ResponseWriter) {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, "{{{")
			}
		}, "discovery"},
		{"discovery fails", func(f *fakeIdP) {
			f.discovery = func(w http.ResponseWriter) { http.Error(w, "down", http.StatusBadGateway) }
		}, "502"},
		{"another issuer", func(f *fakeIdP) { f.issuer = "https://evil.test" }, "names issuer"},
		{"a code without expires_in", func(f *fakeIdP) {
			f.device = `{"device_code":"DEVICE-SECRET","user_code":"ABCD-EFGH","verification_uri":"http://idp.test/device","interval":5}`
		}, "no expires_in"},
		{"denied", func(f *fakeIdP) {
			f.token = func(w http.ResponseWriter, _ *http.Request) { oauthError(w, "access_denied") }
		}, "Sign-in denied"},
		{"token of another issuer", func(f *fakeIdP) {
			f.token = func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600}`, jwtFor("https://evil.test", "alice"))
			}
		}, "from issuer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeIdP(t)
			f.token = func(w http.ResponseWriter, _ *http.Request) { oauthError(w, "authorization_pending") }
			tt.setup(f)
			p, clk := signInPhone(t, "vvx601", "5.9.0.9373", t.TempDir(), phone.SignIn{Issuer: f.srv.URL, ClientID: "test"})
			must(t, p.SignInWeb("web"))
			testwait.For(t, 10*time.Second, "a code or a failure", func() bool {
				return status(t, p, "signin_code") != "" || status(t, p, "signin_error") != ""
			})
			if status(t, p, "signin_code") != "" {
				clk.Advance(5 * time.Second)
			}
			waitStatus(t, p, "session", "signed-out")
			if got := status(t, p, "signin_error"); !strings.Contains(got, tt.wantError) {
				t.Errorf("signin_error %q, want it to say %q", got, tt.wantError)
			}
			for _, l := range p.Logs(0) {
				if strings.Contains(l.Text, "DEVICE-SECRET") {
					t.Errorf("the device code is in the log: %s", l.Text)
				}
			}
		})
	}
}

// The code lives for the provider's expires_in, counted on the phone's
// clock, whatever the host's clock says.
func TestSignInCodeLifeFromExpiresIn(t *testing.T) {
	f := newFakeIdP(t)
	f.device = `{"device_code":"DEVICE-SECRET","user_code":"ABCD-EFGH","verification_uri":"http://idp.test/device","expires_in":600,"interval":5}`
	f.token = func(w http.ResponseWriter, _ *http.Request) { oauthError(w, "authorization_pending") }
	p, clk := signInPhone(t, "vvx601", "5.9.0.9373", t.TempDir(), phone.SignIn{Issuer: f.srv.URL, ClientID: "test"})
	must(t, p.SignInWeb("web"))
	waitStatus(t, p, "signin_expires_in", "600")
	clk.Advance(599 * time.Second)
	waitStatus(t, p, "signin_expires_in", "1")
	clk.Advance(time.Second)
	waitStatus(t, p, "signin_code", "")
}

// The phone polls on its own clock, every interval, and adds 5 s for each
// slow_down; an unreachable provider is retried after idpRetry, not at once.
func TestSignInPollingPace(t *testing.T) {
	f := newFakeIdP(t)
	answers := []string{"slow_down", "authorization_pending", "down"}
	f.token = func(w http.ResponseWriter, _ *http.Request) {
		n := f.pollCount() - 1
		switch {
		case n < len(answers) && answers[n] == "down":
			http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
		case n < len(answers):
			oauthError(w, answers[n])
		default:
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600,"refresh_token":"R"}`, jwtFor(f.srv.URL, "alice@deskphone.test"))
		}
	}
	tr := inflight.New()
	p, clk := signInPhone(t, "vvx601", "5.9.0.9373", t.TempDir(), phone.SignIn{Issuer: f.srv.URL, ClientID: "test"}, phone.WithInflight(tr))
	must(t, p.SignInWeb("web"))
	testwait.For(t, 10*time.Second, "the code", func() bool { return status(t, p, "signin_code") == "ABCD-EFGH" })
	steps := []struct {
		advance time.Duration
		polls   int
	}{
		{4 * time.Second, 0},
		{1 * time.Second, 1},  // 5 s: slow_down, interval 10 s
		{9 * time.Second, 1},  // not yet
		{1 * time.Second, 2},  // 10 s later: pending
		{10 * time.Second, 3}, // the provider is down
		{29 * time.Second, 3}, // no tight retry
		{1 * time.Second, 4},  // after 30 s: signed in
	}
	for i, st := range steps {
		clk.Advance(st.advance)
		// A poll is held in the tracker until the phone took its answer.
		must(t, tr.WaitIdle(10*time.Second))
		if got := f.pollCount(); got != st.polls {
			t.Fatalf("step %d: %d polls, want %d", i, got, st.polls)
		}
	}
	waitStatus(t, p, "session", "signed-in")
	if !logged(p, "signed in as alice by web") {
		t.Error("no sign-in line naming the token's user")
	}
}

func TestTokensKeptPrivateAndAcrossRestart(t *testing.T) {
	b, err := backend.New(backend.Config{Listen: []string{"tls:127.0.0.1:0"}, AdminListen: "127.0.0.1:0", StateDir: t.TempDir(), Clock: cloudClock()})
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	must(t, b.Start(ctx))
	t.Cleanup(func() { cancel(); b.Close() })
	dir := t.TempDir()
	si := phone.SignIn{Issuer: b.IdP().Issuer()}
	acct := phone.WithAccount(statedir.Account{Server: "sips:" + b.Addr("tls"), User: "alice", Domain: b.Domain()})
	p, _ := signInPhone(t, "c450hd", "UCC450HD_3.2.0.1003.61", dir, si, acct)
	if got := status(t, p, "session"); got != "signed-out" {
		t.Fatalf("session=%s at boot, want signed-out", got)
	}
	must(t, p.SignInPassword("alice", "secret"))
	waitStatus(t, p, "registered", "yes")
	fi, err := os.Stat(filepath.Join(dir, phone.TokensFile))
	must(t, err)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("tokens file mode %v, want 0600", fi.Mode().Perm())
	}
	data, err := os.ReadFile(filepath.Join(dir, phone.TokensFile))
	must(t, err)
	if strings.Contains(string(data), "secret") {
		t.Error("the password is in the tokens file")
	}
	var kept struct {
		Access string `json:"access_token"`
	}
	must(t, json.Unmarshal(data, &kept))
	for _, l := range p.Logs(0) {
		if strings.Contains(l.Text, "secret") || strings.Contains(l.Text, kept.Access) {
			t.Errorf("a secret is in the log: %s", l.Text)
		}
	}
	must(t, p.Close())

	// A restart keeps the sign-in: no new sign-in, registered by token.
	p2, _ := signInPhone(t, "c450hd", "UCC450HD_3.2.0.1003.61", dir, si, acct)
	waitStatus(t, p2, "registered", "yes")
	if !logged(p2, "kept from before the restart") {
		t.Error("the restarted phone did not keep its sign-in")
	}
	must(t, p2.SignOut())
	waitStatus(t, p2, "session", "signed-out")
	if _, err := os.Stat(filepath.Join(dir, phone.TokensFile)); !os.IsNotExist(err) {
		t.Errorf("tokens still on disk after sign-out: %v", err)
	}
}

// User credentials typed on the keypad: the password shows as asterisks.
func TestCredentialsTypedPasswordHidden(t *testing.T) {
	f := newFakeIdP(t)
	f.token = func(w http.ResponseWriter, _ *http.Request) { oauthError(w, "invalid_grant") }
	p, _ := signInPhone(t, "vvx601", "5.9.0.9373", t.TempDir(), phone.SignIn{Issuer: f.srv.URL, ClientID: "test"})
	must(t, p.SoftkeyLabel("User ID"))
	must(t, p.Type("alice@deskphone.test"))
	must(t, p.Press(phone.KeyOK))
	must(t, p.Type("hunter2"))
	if s := p.Screen(); s.Prompt != "Password:" || s.Input != "*******" {
		t.Fatalf("password entry shows %q %q", s.Prompt, s.Input)
	}
	must(t, p.Press(phone.KeyOK))
	testwait.For(t, 10*time.Second, "the refusal", func() bool { return status(t, p, "signin_error") == "invalid_grant" })
	if !strings.Contains(p.Screen().Text(), "Sign In Failed") {
		t.Errorf("no failure on the screen:\n%s", p.Screen().Text())
	}
	for _, l := range p.Logs(0) {
		if strings.Contains(l.Text, "hunter2") {
			t.Errorf("the password is in the log: %s", l.Text)
		}
	}
}

// A phone whose clock is minutes off the cloud's signs in and registers:
// it counts the token's lifetime from expires_in on its own clock.
func TestSignInWithClockSkew(t *testing.T) {
	for _, skew := range []time.Duration{-7 * time.Minute, 9 * time.Minute} {
		t.Run(skew.String(), func(t *testing.T) {
			b, err := backend.New(backend.Config{Listen: []string{"tls:127.0.0.1:0"}, AdminListen: "127.0.0.1:0", StateDir: t.TempDir(), Clock: clock.NewFake(start.Add(-skew))})
			must(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			must(t, b.Start(ctx))
			t.Cleanup(func() { cancel(); b.Close() })
			acct := phone.WithAccount(statedir.Account{Server: "sips:" + b.Addr("tls"), User: "bob", Domain: b.Domain()})
			p, _ := signInPhone(t, "t48g", "35.8.1.52", t.TempDir(), phone.SignIn{Issuer: b.IdP().Issuer(), ClientID: "deskphone-sfb-phone"}, acct)
			must(t, p.SignInPassword("bob", "secret"))
			waitStatus(t, p, "registered", "yes")
			if got := status(t, p, "user"); got != "bob" {
				t.Errorf("user=%s, want bob", got)
			}
		})
	}
}

// A refused password grant shows the vendor's wording of the reason on
// the screen, never the provider's OAuth text, which stays in
// signin_error and the syslog.
func TestSignInRefusalWordedByVendor(t *testing.T) {
	const desc = "legacy authentication (resource owner password credentials) is blocked by the tenant's sign-on policy: use web sign-in"
	cat, err := catalog.Builtin()
	must(t, err)
	for _, id := range cat.ModelIDs() {
		m, _ := cat.Model(id)
		if fw, _ := m.FirmwareVersion(""); !fw.HasSignIn("user") {
			continue
		}
		t.Run(id, func(t *testing.T) {
			f := newFakeIdP(t)
			f.token = func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant", "error_description": desc})
			}
			p, _ := signInPhone(t, id, "", t.TempDir(), phone.SignIn{Issuer: f.srv.URL, ClientID: "test"})
			must(t, p.SignInPassword("alice", "secret"))
			testwait.For(t, 10*time.Second, "the refusal", func() bool { return status(t, p, "signin_error") != "" })
			if got := status(t, p, "signin_error"); got != "invalid_grant: "+desc {
				t.Errorf("signin_error %q: want the provider's text", got)
			}
			// The sign-in screen wraps its lines: compare the words.
			screen := strings.Join(strings.Fields(p.Screen().Plain()), " ")
			if strings.Contains(screen, "invalid_grant") || strings.Contains(screen, "resource owner") {
				t.Errorf("the provider's text reaches the screen:\n%s", screen)
			}
			if want := m.Vendor.SignIn.Reasons["legacy_auth"]; !strings.Contains(screen, want) {
				t.Errorf("the screen lacks %q:\n%s", want, screen)
			}
		})
	}
}
