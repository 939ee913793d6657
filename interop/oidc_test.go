//go:build interop

package interop

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/internal/inflight"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
)

var toolNode = tool{[]string{"node", "nodejs"}, "nodejs", "Node.js for oidc-provider"}

// startOIDCProvider runs panva's oidc-provider (npm, installed into
// testdata/oidc by .ci/run) and returns its issuer URL.
func startOIDCProvider(t *testing.T) string {
	t.Helper()
	node := need(t, toolNode)
	dir, err := filepath.Abs(filepath.Join("testdata", "oidc"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider")); err != nil {
		skipMissing(t, "oidc-provider not installed: npm install --prefix interop/testdata/oidc")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, "server.mjs")
	cmd.Dir = dir
	cmd.Stderr = io.Discard
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("oidc-provider: %v", err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	issuer := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "issuer "); ok {
				issuer <- u
			}
		}
	}()
	select {
	case u := <-issuer:
		return u
	case <-time.After(30 * time.Second):
		t.Fatal("oidc-provider did not start within 30 s")
	}
	return ""
}

// TestWebSignInThirdPartyOIDC signs a phone in by web sign-in against a
// provider not written here, as a public client and as a confidential one
// (HTTP Basic), and refreshes its token on the phone's clock.
func TestWebSignInThirdPartyOIDC(t *testing.T) {
	issuer := startOIDCProvider(t)
	tests := []struct{ name, clientID, secret string }{
		{"public client", "deskphone-public", ""},
		{"confidential client", "deskphone-confidential", "interop-secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat, err := catalog.Builtin()
			if err != nil {
				t.Fatal(err)
			}
			m, err := cat.Model("vvx601")
			if err != nil {
				t.Fatal(err)
			}
			clk := clock.NewFake(time.Now().UTC())
			tr := inflight.New()
			p, err := phone.New(m, "5.9.0.9373", phone.WithClock(clk), phone.WithStateDir(t.TempDir()), phone.WithInflight(tr),
				phone.WithSignIn(phone.SignIn{Issuer: issuer, ClientID: tt.clientID, ClientSecret: tt.secret}))
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if err := p.SignInWeb("web"); err != nil {
				t.Fatal(err)
			}
			if err := tr.WaitIdle(20 * time.Second); err != nil {
				t.Fatal(err)
			}
			st, _ := p.State()
			if st.SignInCode == "" || !strings.HasPrefix(st.SignInURL, issuer) {
				t.Fatalf("no code from the provider: code %q url %q error %q", st.SignInCode, st.SignInURL, st.SignInError)
			}
			t.Logf("the phone shows %s at %s", st.SignInCode, st.SignInURL)
			// A poll before anyone entered the code: authorization_pending.
			clk.Advance(5 * time.Second)
			if err := tr.WaitIdle(20 * time.Second); err != nil {
				t.Fatal(err)
			}
			if st, _ := p.State(); st.Session != phone.SigningIn || st.SignInCode == "" {
				t.Fatalf("after a pending poll: session %s, error %q", st.Session, st.SignInError)
			}
			res, err := http.Get(issuer + "/test/approve?" + url.Values{"user_code": {st.SignInCode}, "account": {"alice"}}.Encode())
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("approve: %s %s", res.Status, body)
			}
			clk.Advance(5 * time.Second)
			if err := tr.WaitIdle(20 * time.Second); err != nil {
				t.Fatal(err)
			}
			st, _ = p.State()
			if st.Session != phone.SignedIn {
				t.Fatalf("session %s after approval, signin_error %q\n%s", st.Session, st.SignInError, logText(p))
			}
			if st.User != "alice" {
				t.Errorf("user %q, want alice (the ID token's subject)", st.User)
			}
			// The access token lasts an hour: the phone refreshes it 5 min
			// before, on its own clock.
			clk.Advance(56 * time.Minute)
			if err := tr.WaitIdle(20 * time.Second); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(logText(p), "token refreshed") {
				t.Fatalf("no refresh:\n%s", logText(p))
			}
			if st, _ := p.State(); st.Session != phone.SignedIn {
				t.Fatalf("session %s after the refresh", st.Session)
			}
		})
	}
}

func logText(p *phone.Phone) string {
	var b strings.Builder
	for _, l := range p.Logs(0) {
		fmt.Fprintln(&b, l.Text)
	}
	return b.String()
}
