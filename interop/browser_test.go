//go:build interop

package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/deskphone/deskphone/backend"
	"github.com/deskphone/deskphone/backend/idp"
	"github.com/deskphone/deskphone/clock"
)

// screenshotsEnv names a folder for the browser test's screenshots; by
// default they go to the test's temporary folder (logged either way).
const screenshotsEnv = "DESKPHONE_SCREENSHOTS"

var toolChromium = tool{[]string{"chromium", "chromium-browser"}, "chromium", "headless browser for the web sign-in page"}

// TestWebSignInBrowser walks the verification page in headless Chromium
// as a person does after a phone shows a web sign-in code: enter the code,
// see which phone asks, sign in, Continue (or Deny); an unknown code and
// one that expired on the cloud's fake clock get their own pages; a
// pairing code the SIP Gateway asked for names a SIP device, and the
// gateway then gives the phone the user's account. Every page is saved as
// a PNG.
func TestWebSignInBrowser(t *testing.T) {
	chromium := need(t, toolChromium)
	clk := clock.NewFake(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	b, err := backend.New(backend.Config{
		Listen:      []string{"tls:127.0.0.1:0"},
		StateDir:    t.TempDir(),
		AdminListen: "127.0.0.1:0",
		Gateway:     "127.0.0.1:0",
		Clock:       clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	s := b.IdP()

	shots := os.Getenv(screenshotsEnv)
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	// The machine has no network beyond loopback: nothing may try to
	// reach out (QUIC, component updates, sync, field trials).
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(800, 700),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("starting %s: %v", chromium, err)
	}

	deviceCode := func(t *testing.T, model string) (userCode, device string) {
		t.Helper()
		res, err := http.PostForm(s.DeviceAuthorizationURL(), url.Values{
			"client_id": {idp.PolyClientID}, "manufacturer": {"Poly"}, "model": {model}})
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var da struct {
			DeviceCode string `json:"device_code"`
			UserCode   string `json:"user_code"`
		}
		if err := json.NewDecoder(res.Body).Decode(&da); err != nil || da.UserCode == "" {
			t.Fatalf("device authorization: %d %v", res.StatusCode, err)
		}
		return da.UserCode, da.DeviceCode
	}
	poll := func(t *testing.T, device string) (string, string) {
		t.Helper()
		clk.Advance(idp.DefaultInterval)
		res, err := http.PostForm(s.TokenURL(), url.Values{
			"client_id": {idp.PolyClientID}, "grant_type": {idp.GrantDeviceCode}, "device_code": {device}})
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var tr struct {
			AccessToken string `json:"access_token"`
			Error       string `json:"error"`
		}
		if err := json.NewDecoder(res.Body).Decode(&tr); err != nil {
			t.Fatal(err)
		}
		return tr.AccessToken, tr.Error
	}
	// step bounds one browser action, so a page that never comes fails
	// the test in seconds, not at the overall deadline.
	step := func() (context.Context, context.CancelFunc) { return context.WithTimeout(browser, 20*time.Second) }
	// page waits for a page kind (and, if given, an element on it that
	// the previous page lacked) and saves a screenshot of it.
	page := func(t *testing.T, name, kind, also string) {
		t.Helper()
		ctx, cancel := step()
		defer cancel()
		sel := `body[data-page="` + kind + `"]`
		if also != "" {
			sel += " " + also
		}
		if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
			t.Fatalf("waiting for the %q page (%s): %v", kind, sel, err)
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		path := filepath.Join(shots, name+".png")
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot %s", path)
	}
	text := func(t *testing.T, sel string) string {
		t.Helper()
		ctx, cancel := step()
		defer cancel()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}
	enterCode := func(t *testing.T, code string) {
		t.Helper()
		ctx, cancel := step()
		defer cancel()
		if err := chromedp.Do(ctx,
			chromedp.Navigate(s.VerificationURI()),
			chromedp.WaitVisible(chromedp.ID("code")),
			chromedp.SendKeys(chromedp.ID("code"), code),
		); err != nil {
			t.Fatal(err)
		}
	}
	next := func(t *testing.T) {
		t.Helper()
		ctx, cancel := step()
		defer cancel()
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("next"))); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("continue", func(t *testing.T) {
		code, device := deviceCode(t, "VVX 601")
		// Typed as a person might: lower case, without the dash.
		enterCode(t, strings.ToLower(strings.ReplaceAll(code, "-", "")))
		page(t, "01-code", idp.PageCode, "")
		next(t)
		page(t, "02-signin", idp.PageSignIn, "")
		if got := text(t, "#title"); got != "Poly VVX 601 wants to sign in" {
			t.Errorf("title %q", got)
		}
		if got := text(t, "#device"); got != "Poly Skype for Business Certified Phone" {
			t.Errorf("device line %q", got)
		}
		ctx, cancel := step()
		defer cancel()
		if err := chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.ID("username"), "alice"),
			chromedp.SendKeys(chromedp.ID("password"), "secret"),
			chromedp.Click(chromedp.ID("continue")),
		); err != nil {
			t.Fatal(err)
		}
		page(t, "03-done", idp.PageDone, "")
		if got := text(t, "#close"); got != "You can close this window." {
			t.Errorf("done page says %q", got)
		}
		if got := text(t, "#signedin"); got != "alice is signed in on the Poly VVX 601." {
			t.Errorf("done page says %q", got)
		}
		if tok, e := poll(t, device); tok == "" {
			t.Fatalf("poll after Continue: %s", e)
		}
	})

	t.Run("wrong password, then deny", func(t *testing.T) {
		code, device := deviceCode(t, "VVX 501")
		// Opened from verification_uri_complete: the code is filled in.
		ctx, cancel := step()
		defer cancel()
		if err := chromedp.Do(ctx, chromedp.Navigate(s.VerificationURI()+"?code="+url.QueryEscape(code))); err != nil {
			t.Fatal(err)
		}
		if v, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("code"))); err != nil || v != code {
			t.Fatalf("code field %q %v, want %q", v, err, code)
		}
		next(t)
		page(t, "04-signin", idp.PageSignIn, "")
		if err := chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.ID("username"), "alice"),
			chromedp.SendKeys(chromedp.ID("password"), "wrong"),
			chromedp.Click(chromedp.ID("continue")),
		); err != nil {
			t.Fatal(err)
		}
		page(t, "05-wrong-password", idp.PageSignIn, "#error")
		if got := text(t, "#error"); !strings.Contains(got, "incorrect") {
			t.Errorf("error %q", got)
		}
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("deny"))); err != nil {
			t.Fatal(err)
		}
		page(t, "06-denied", idp.PageDenied, "")
		if _, e := poll(t, device); e != "access_denied" {
			t.Fatalf("poll after Deny: %q, want access_denied", e)
		}
	})

	t.Run("unknown code", func(t *testing.T) {
		enterCode(t, "BCDF-GHJK")
		next(t)
		page(t, "07-unknown", idp.PageUnknown, "")
		if got := text(t, "#error"); !strings.Contains(got, "wasn't recognised") {
			t.Errorf("error %q", got)
		}
	})

	// A phone on the Teams SIP Gateway: the gateway asks the code on the
	// phone's behalf, and the page names the phone as a SIP device.
	t.Run("gateway pairing", func(t *testing.T) {
		gw := func(t *testing.T, path string, body map[string]string) map[string]any {
			t.Helper()
			raw, _ := json.Marshal(body)
			res, err := http.Post(b.GatewayURL()+"/emea"+path, "application/json", bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var out map[string]any
			if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusOK {
				t.Fatalf("%s: %d %v %v", path, res.StatusCode, out, err)
			}
			return out
		}
		const mac = "00:90:8f:12:34:56"
		dev := gw(t, "/device", map[string]string{"mac": mac, "vendor": "AudioCodes", "model": "430HD", "firmware": "430HD_3.4.6.537", "mode": "sip"})
		key, _ := dev["device_key"].(string)
		if dev["state"] != "signed-out" || key == "" {
			t.Fatalf("onboarding: %v", dev)
		}
		pair := gw(t, "/pair", map[string]string{"mac": mac, "device_key": key})
		code, _ := pair["pairing_code"].(string)
		if code == "" || pair["pairing_url"] != s.VerificationURI() {
			t.Fatalf("pairing: %v", pair)
		}
		enterCode(t, code)
		page(t, "09-gateway-code", idp.PageCode, "")
		next(t)
		page(t, "10-gateway-signin", idp.PageSignIn, "")
		if got := text(t, "#title"); got != "SIP device: AudioCodes 430HD (00-90-8f-12-34-56) wants to sign in" {
			t.Errorf("title %q", got)
		}
		if got := text(t, "#device"); got != "A SIP phone, through the Teams SIP Gateway" {
			t.Errorf("device line %q", got)
		}
		if got := gw(t, "/pair/poll", map[string]string{"mac": mac, "device_key": key}); got["status"] != "pending" {
			t.Fatalf("poll before Continue: %v", got)
		}
		ctx, cancel := step()
		defer cancel()
		if err := chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.ID("username"), "bob"),
			chromedp.SendKeys(chromedp.ID("password"), "secret"),
			chromedp.Click(chromedp.ID("continue")),
		); err != nil {
			t.Fatal(err)
		}
		page(t, "11-gateway-done", idp.PageDone, "")
		clk.Advance(idp.DefaultInterval)
		if got := gw(t, "/pair/poll", map[string]string{"mac": mac, "device_key": key}); got["status"] != "signed-in" {
			t.Fatalf("poll after Continue: %v", got)
		}
		dev = gw(t, "/device", map[string]string{"mac": mac, "device_key": key, "vendor": "AudioCodes", "model": "430HD", "firmware": "430HD_3.4.6.537", "mode": "sip"})
		if acct, _ := dev["account"].(map[string]any); dev["state"] != "signed-in" || acct["user"] != "bob" || acct["number"] != "1002" {
			t.Fatalf("provisioning after the sign-in: %v", dev)
		}
	})

	t.Run("expired code", func(t *testing.T) {
		code, device := deviceCode(t, "VVX 601")
		clk.Advance(idp.DefaultDeviceCodeLifetime)
		enterCode(t, code)
		next(t)
		page(t, "08-expired", idp.PageExpired, "")
		if got := text(t, "#error"); !strings.Contains(got, "expired") {
			t.Errorf("error %q", got)
		}
		if _, e := poll(t, device); e != "expired_token" {
			t.Fatalf("poll after expiry: %q, want expired_token", e)
		}
	})
}
