package phone_test

import (
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/internal/testwait"
	"github.com/deskphone/deskphone/phone"
)

// A phone closed while a request of its sign-in is out at the identity
// provider leaves nothing running: the request is cancelled (the provider
// sees its context end), no sign-in code runs once Close returned, and
// the answer that never came writes no tokens.
func TestCloseDuringSignIn(t *testing.T) {
	tests := []struct {
		name string
		// begin starts the sign-in whose token request blocks.
		begin func(t *testing.T, p *phone.Phone, advance func(time.Duration))
	}{
		{"web sign-in poll", func(t *testing.T, p *phone.Phone, advance func(time.Duration)) {
			must(t, p.SignInWeb("web"))
			waitStatus(t, p, "signin_code", "ABCD-EFGH")
			advance(5 * time.Second) // the first poll
		}},
		{"password grant", func(t *testing.T, p *phone.Phone, _ func(time.Duration)) {
			must(t, p.SignInPassword("alice", "secret"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeIdP(t)
			entered, cancelled, end := make(chan struct{}), make(chan struct{}), make(chan struct{})
			t.Cleanup(func() { close(end) }) // before the server closes
			f.token = func(w http.ResponseWriter, r *http.Request) {
				// The server notices a client gone only once the body is read.
				_ = r.ParseForm()
				close(entered)
				select {
				case <-r.Context().Done(): // the provider never answers
					close(cancelled)
				case <-end:
				}
			}
			dir := t.TempDir()
			p, clk := signInPhone(t, "c450hd", "UCC450HD_3.2.0.1003.61", dir, phone.SignIn{Issuer: f.srv.URL, ClientID: "test"})
			tt.begin(t, p, clk.Advance)
			select {
			case <-entered:
			case <-time.After(10 * time.Second):
				t.Fatal("the token request never reached the provider")
			}
			must(t, p.Close())
			if g := signInGoroutines(); g != "" {
				t.Fatalf("sign-in code still runs after Close:\n%s", g)
			}
			testwait.For(t, 10*time.Second, "the provider to see the request cancelled", func() bool {
				select {
				case <-cancelled:
					return true
				default:
					return false
				}
			})
			if _, err := os.Stat(filepath.Join(dir, phone.TokensFile)); !os.IsNotExist(err) {
				t.Fatalf("tokens written after Close: %v", err)
			}
		})
	}
}

// signInGoroutines are the stacks of goroutines running the sign-in
// agent or oauth2 (where the goroutine was created does not count).
func signInGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var found []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, l := range strings.Split(g, "\n") {
			if strings.HasPrefix(l, "created by") {
				break
			}
			if strings.Contains(l, "deskphone/phone/signin.") || strings.Contains(l, "golang.org/x/oauth2") {
				found = append(found, g)
				break
			}
		}
	}
	return strings.Join(found, "\n\n")
}
