package phone_test

import (
	"context"
	"testing"
	"time"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/statedir"
)

// A phone checks certificate validity on its own clock: the cloud's
// certificate, issued at start for a year, is trusted a minute before it
// expires on the phone's clock and rejected as expired when the phone,
// moved past that instant, connects again.
func TestCertificateExpiresOnThePhonesClock(t *testing.T) {
	b := cloud(t) // its certificate: valid from start-1h to start+365 days
	cat, err := catalog.Builtin()
	must(t, err)
	m, err := cat.Model("430hd")
	must(t, err)
	clk := clock.NewFake(start.Add(365*24*time.Hour - time.Minute))
	p, err := phone.New(m, "3.4.6.537", phone.WithClock(clk), phone.WithStateDir(t.TempDir()),
		phone.WithAccount(statedir.Account{Server: "sips:" + b.Addr("tls"), User: "alice", Password: "secret", Domain: b.Domain()}))
	must(t, err)
	p.Start(context.Background())
	t.Cleanup(func() { p.Close() })
	waitStatus(t, p, "registered", "yes")

	clk.Advance(2 * time.Minute)
	navigate(t, p, []string{"Menu", "Administration", "Restart Phone"})
	waitStatus(t, p, "registration_error", "TLS: Certificate expired")
	if !logged(p, "certificate has expired") {
		t.Errorf("syslog lacks the expiry:\n%v", logTexts(p))
	}
}
