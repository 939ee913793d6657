package phone_test

import (
	"slices"
	"testing"
	"time"

	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/sipua"
	"github.com/deskphone/deskphone/phone/statedir"
)

// Skype for Business firmware the gateway refuses goes on with the sign-in
// it had, and shows its idle screen; SIP firmware refused has no line.
func TestGatewayRefusedSkypeFirmwareKeepsItsSignIn(t *testing.T) {
	acct := phone.WithAccount(statedir.Account{Server: "sips:127.0.0.1:5061", User: "bob", Password: "secret", Domain: "deskphone.test"})
	for _, tt := range []struct {
		firmware  string
		registers bool
		user, scr string
	}{
		{"", true, "bob", "idle"}, // 5.9.0.9373, Skype for Business
		{"6.4.3.5814", false, "", "gateway_refused"},
	} {
		t.Run(tt.firmware, func(t *testing.T) {
			g := newFakeGateway(t)
			g.refuse, g.reason = 403, "VVX 501 firmware 5.9.0.9373 is below the minimum 5.9.5 for the SIP Gateway."
			gp := newGatewayPhoneOn(t, g, "vvx501", tt.firmware, "", acct)
			expectStatus(t, gp.p, map[string]string{"gateway": "refused", "gateway_error": g.reason, "user": tt.user, "screen": tt.scr})
			if got := slices.Contains(gp.line.Ops(), "REGISTER 1h0m0s"); got != tt.registers {
				t.Errorf("registers %v, want %v: %v", got, tt.registers, gp.line.Ops())
			}
		})
	}
}

// An account the gateway gives during a call (a check-sync after a *55*
// enrollment) waits until the call ended: changing the line under it
// would end it without a word.
func TestGatewayAccountWaitsForTheCallToEnd(t *testing.T) {
	g := newFakeGateway(t)
	gp := newGatewayPhoneOn(t, g, "t46g", "28.83.0.130", "")
	p, line := gp.p, gp.line
	expectStatus(t, p, map[string]string{"gateway": "signed-out", "user": "dev-00908f000001"})
	line.Send(sipua.Registered{Expires: time.Hour})
	must(t, p.Call("*55*12345678"))
	line.Send(sipua.CallAnswered{ID: "call-1", Remote: "*55*12345678"})
	expectStatus(t, p, map[string]string{"call": "connected"})

	g.set(func(g *fakeGateway) { g.state = "signed-in" })
	line.CheckSync()
	gp.settle(t)
	expectStatus(t, p, map[string]string{"gateway": "signed-in", "call": "connected", "user": "dev-00908f000001"})

	line.Send(sipua.CallEnded{ID: "call-1"})
	gp.settle(t)
	expectStatus(t, p, map[string]string{"call": "idle", "user": "alice"})
	if c := line.Config(); c.User != "alice" {
		t.Errorf("the line registers as %q, want alice", c.User)
	}
}
