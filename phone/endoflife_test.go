package phone_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deskphone/deskphone/internal/testwait"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/phonetest"
	"github.com/deskphone/deskphone/phone/sipua"
	"github.com/deskphone/deskphone/phone/statedir"
)

// words is the screen's text with its lines joined, as wrapped text reads.
func words(p *phone.Phone) string { return strings.Join(strings.Fields(p.Screen().Plain()), " ") }

// The registrar refusing Skype for Business firmware (403 3PIP End Of
// Life) is a registration failure the idle screen words the vendor's way;
// registration_error keeps one spelling for every vendor.
func TestRegisterRefusedEndOfLife(t *testing.T) {
	for _, model := range []string{"430hd", "vvx501", "t46g", "cx600"} {
		t.Run(model, func(t *testing.T) {
			p, line, _ := bootOnFakeLine(t, model)
			line.Send(sipua.RegisterFailed{Code: 403, Reason: "3PIP End Of Life"})
			if got := status(t, p, "registration_error"); got != "3PIP End Of Life (403)" {
				t.Errorf("registration_error=%q", got)
			}
			want := p.Model().Vendor.SignIn.Reasons[catalog.ReasonEndOfLife]
			if want == "" || !strings.Contains(words(p), want) {
				t.Errorf("the screen lacks %q:\n%s", want, p.Screen().Text())
			}
			// The phone tries again later, as after any refusal.
			if !slicesHas(phone.RegistrationReasons(), "3PIP End Of Life (403)") {
				t.Error("RegistrationReasons lacks the end of life")
			}
		})
	}
}

func slicesHas(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// The identity provider refusing the refresh grant with
// unauthorized_client and suberror 3pip_end_of_life signs the phone out;
// the signed-out screen gives the reason in the vendor's words, the
// provider's text stays in signin_error.
func TestRefreshRefusedEndOfLife(t *testing.T) {
	for _, model := range []string{"430hd", "vvx601", "t48g"} {
		t.Run(model, func(t *testing.T) {
			f := newFakeIdP(t)
			var ended atomic.Bool
			f.token = func(w http.ResponseWriter, r *http.Request) {
				_ = r.ParseForm()
				w.Header().Set("Content-Type", "application/json")
				if r.Form.Get("grant_type") == "refresh_token" && ended.Load() {
					w.WriteHeader(http.StatusBadRequest)
					json.NewEncoder(w).Encode(map[string]string{
						"error": "unauthorized_client", "suberror": "3pip_end_of_life",
						"error_description": "Skype for Business phones (3PIP) are no longer supported since 2023-08-01",
					})
					return
				}
				fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":600,"refresh_token":"R"}`, jwtFor(f.srv.URL, "alice"))
			}
			dir := t.TempDir()
			p, clk := signInPhone(t, model, "", dir, phone.SignIn{Issuer: f.srv.URL, ClientID: "deskphone-sfb-phone"})
			must(t, p.SignInPassword("alice", "secret"))
			waitStatus(t, p, "session", "signed-in")
			if _, err := os.Stat(filepath.Join(dir, phone.TokensFile)); err != nil {
				t.Fatalf("no tokens kept: %v", err)
			}
			// The cut-off passes; the next refresh is refused.
			ended.Store(true)
			testwait.For(t, 10*time.Second, "the refresh refused", func() bool {
				if status(t, p, "session") == "signed-out" {
					return true
				}
				clk.Advance(time.Minute)
				return false
			})
			if got := status(t, p, "signin_error"); !strings.Contains(got, "unauthorized_client") {
				t.Errorf("signin_error=%q, want the provider's error", got)
			}
			want := p.Model().Vendor.SignIn.Reasons[catalog.ReasonEndOfLife]
			if screen := words(p); !strings.Contains(screen, want) || strings.Contains(screen, "unauthorized_client") {
				t.Errorf("the signed-out screen should say %q, not the provider's text:\n%s", want, p.Screen().Text())
			}
			if _, err := os.Stat(filepath.Join(dir, phone.TokensFile)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("tokens kept after the sign-out: %v", err)
			}
		})
	}
}

// A signed-in phone whose REGISTER the registrar refuses for the end of
// life is signed out with the reason, as by a refused refresh.
func TestSignedInRegisterRefusedEndOfLife(t *testing.T) {
	f := newFakeIdP(t)
	f.token = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600,"refresh_token":"R"}`, jwtFor(f.srv.URL, "alice"))
	}
	line := phonetest.New()
	p, _ := signInPhone(t, "430hd", "", t.TempDir(), phone.SignIn{Issuer: f.srv.URL, ClientID: "deskphone-sfb-phone"},
		line.Option(), phone.WithAccount(statedir.Account{Server: "sips:pbx.example.com", User: "alice"}))
	line.Attach(p)
	must(t, p.SignInPassword("alice", "secret"))
	testwait.For(t, 10*time.Second, "the REGISTER", func() bool { return line.Has("REGISTER 1h0m0s") })
	line.Send(sipua.RegisterFailed{Code: 403, Reason: "3PIP End Of Life"})
	waitStatus(t, p, "session", "signed-out")
	want := p.Model().Vendor.SignIn.Reasons[catalog.ReasonEndOfLife]
	if !strings.Contains(words(p), want) {
		t.Errorf("the signed-out screen lacks %q:\n%s", want, p.Screen().Text())
	}
}

// The `firmware` verb moves a phone between streams like any change: on
// its SIP firmware the phone says firmware_mode=sip and offers no Skype
// for Business sign-in (the gateway signs it in).
func TestChangeToSIPFirmwareOffersNoSfBSignIn(t *testing.T) {
	f := newFakeIdP(t)
	p, _ := signInPhone(t, "430hd", "", t.TempDir(), phone.SignIn{Issuer: f.srv.URL, ClientID: "test"})
	if got := status(t, p, "firmware_mode"); got != "3pip" {
		t.Fatalf("firmware_mode=%s on the default firmware", got)
	}
	if _, ok := p.Screen().Softkey("Web Sign-in"); !ok {
		t.Fatalf("the SfB firmware offers no web sign-in:\n%s", p.Screen().Text())
	}
	must(t, p.ChangeFirmware("430HD_3.4.6.537"))
	if got := status(t, p, "firmware_mode"); got != "sip" {
		t.Fatalf("firmware_mode=%s on the SIP firmware", got)
	}
	for _, label := range []string{"Web Sign-in", "Credentials", "PIN", "Via PC"} {
		if _, ok := p.Screen().Softkey(label); ok {
			t.Errorf("the SIP firmware offers %q:\n%s", label, p.Screen().Text())
		}
	}
	if err := p.SignInWeb("web"); !errors.Is(err, phone.ErrMethodOffered) {
		t.Errorf("web sign-in on SIP firmware: %v, want ErrMethodOffered", err)
	}
}
