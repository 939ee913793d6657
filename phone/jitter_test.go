package phone_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/statedir"
)

// With register jitter a failed registration retries after a random part
// of the back-off taken off it, never longer than the exact wait.
func TestRegisterJitter(t *testing.T) {
	cat, _ := catalog.Builtin()
	m, _ := cat.Model("c450hd")
	if _, err := phone.New(m, "", phone.WithRegisterJitter(1.5)); err == nil {
		t.Fatal("jitter 1.5 accepted")
	}
	b := cloud(t)
	p, err := phone.New(m, "", phone.WithClock(clock.NewFake(start)), phone.WithStateDir(t.TempDir()),
		phone.WithRegisterJitter(0.5),
		phone.WithAccount(statedir.Account{Server: "sips:" + b.Addr("tls"), User: "alice", Password: "wrong"}))
	must(t, err)
	p.Start(context.Background())
	defer p.Close()
	waitStatus(t, p, "registration_error", "Wrong password (401)")
	re := regexp.MustCompile(`\(retry in ([0-9.a-zµ]+)\)`)
	got := re.FindStringSubmatch(strings.Join(logTexts(p), "\n"))
	if got == nil {
		t.Fatalf("no retry logged:\n%s", strings.Join(logTexts(p), "\n"))
	}
	d, err := time.ParseDuration(got[1])
	if err != nil || d < 2500*time.Millisecond || d > 5*time.Second {
		t.Errorf("retry in %s, want 2.5s to 5s", got[1])
	}
}
