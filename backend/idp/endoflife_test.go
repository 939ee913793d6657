package idp

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// From the 3PIP end of life every grant of the phones' clients is
// refused with the suberror; an exempt client (the gateway's) goes on,
// and nothing changes before it.
func TestEndOfLife(t *testing.T) {
	eol := time.Date(2019, 7, 1, 0, 0, 0, 0, time.UTC)
	const gatewayClient = "deskphone-sip-gateway"
	e := newEnv(t, func(c *Config) {
		c.Clients = append(DefaultClients(), Client{ID: gatewayClient})
		c.EndOfLife = func() (time.Time, bool) { return eol, true }
		c.EndOfLifeExempt = []string{gatewayClient}
	})
	if r := e.password(PolyClientID, "alice", "secret"); r.status != 200 {
		t.Fatalf("before the end of life: %d %v", r.status, r.body)
	}
	refresh := e.password(PolyClientID, "alice", "secret").str("refresh_token")
	e.clk.AdvanceTo(eol)
	for name, r := range map[string]reply{
		"password":    e.password(PolyClientID, "alice", "secret"),
		"shared":      e.password(SharedClientID, "alice", "secret"),
		"refresh":     e.post(e.s.TokenURL(), url.Values{"client_id": {PolyClientID}, "grant_type": {GrantRefreshToken}, "refresh_token": {refresh}}),
		"device code": e.post(e.s.TokenURL(), url.Values{"client_id": {YealinkClientID}, "grant_type": {GrantDeviceCode}, "device_code": {"x"}}),
	} {
		wantError(t, r, 400, "unauthorized_client")
		if r.str("suberror") != SubError3PIPEndOfLife || !strings.Contains(r.str("error_description"), "2019-07-01") {
			t.Errorf("%s: %v", name, r.body)
		}
	}
	if r := e.password(gatewayClient, "alice", "secret"); r.status != 200 {
		t.Errorf("the exempt client after the end of life: %d %v", r.status, r.body)
	}
}
