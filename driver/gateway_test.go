package driver

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/internal/gwtest"
	"github.com/deskphone/deskphone/internal/testwait"
	"github.com/deskphone/deskphone/phone"
)

// A gateway phone: signin alone pairs, browser_signin takes the pairing
// code and its page; another phone still says signin needs a method.
func TestGatewaySignInVerbs(t *testing.T) {
	gw := gwtest.New(t)
	gw.Code = "WXYZ-1234"
	p, stop, err := Build(context.Background(), Spec{Model: "t48g", Provisioning: gw.URL + "/noam", MAC: "00:15:65:00:00:07"})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if p.Identity().MAC != "00:15:65:00:00:07" {
		t.Errorf("MAC %s, want the spec's", p.Identity().MAC)
	}
	testwait.For(t, 10*time.Second, "signed out at the gateway", func() bool { return p.Published().Gateway == phone.GatewaySignedOut })
	var page, code string
	target := &Target{Phone: p, Browser: func(_ context.Context, pg, c, _, _ string, _ bool) error {
		page, code = pg, c
		return nil
	}}
	if _, err := Exec(context.Background(), target, "signin"); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, 10*time.Second, "a pairing code", func() bool { return p.Published().PairingCode != "" })
	if _, err := Exec(context.Background(), target, "browser_signin alice pw allow"); err != nil {
		t.Fatal(err)
	}
	if page != "http://gw.test/devicelogin" || code != "WXYZ-1234" {
		t.Errorf("the browser went to %q with %q", page, code)
	}
	if macs := gw.Sent("mac"); len(macs) == 0 || macs[0] != "00:15:65:00:00:07" {
		t.Errorf("the gateway heard MACs %v", macs)
	}

	other, stopOther, err := Build(context.Background(), Spec{Model: "t48g"})
	if err != nil {
		t.Fatal(err)
	}
	defer stopOther()
	if _, err := Exec(context.Background(), &Target{Phone: other}, "signin"); err == nil || !strings.Contains(err.Error(), "needs a method") {
		t.Errorf("signin alone on a phone without a gateway: %v", err)
	}
}
