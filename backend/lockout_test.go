package backend

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/deskphone/deskphone/clock"
)

// registerFrom sends a REGISTER as user over UDP from the loopback
// address 127.0.0.n, answers the MD5 challenge with password and returns
// the final status and reason.
func registerFrom(t *testing.T, b *Backend, n int, user, password string) (int, string) {
	t.Helper()
	server, err := net.ResolveUDPAddr("udp", b.Addr("UDP"))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, byte(n))}, server)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	callID, tag := randHex(8), randHex(4)
	send := func(cseq int, auth string) *sip.Response {
		t.Helper()
		msg := fmt.Sprintf("REGISTER sip:%[1]s SIP/2.0\r\nVia: SIP/2.0/UDP %[2]s;branch=z9hG4bK%[3]s;rport\r\n"+
			"Max-Forwards: 70\r\nFrom: <sip:%[4]s@%[1]s>;tag=%[5]s\r\nTo: <sip:%[4]s@%[1]s>\r\nCall-ID: %[6]s\r\n"+
			"CSeq: %[7]d REGISTER\r\nContact: <sip:%[4]s@%[2]s>\r\nExpires: 3600\r\n%[8]sContent-Length: 0\r\n\r\n",
			b.Domain(), local, randHex(8), user, tag, callID, cseq, auth)
		if _, err := conn.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 8192)
		for {
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			k, err := conn.Read(buf)
			if err != nil {
				t.Fatalf("REGISTER from %s: %v", local, err)
			}
			m, err := sip.ParseMessage(buf[:k])
			if err != nil {
				t.Fatal(err)
			}
			if res, ok := m.(*sip.Response); ok && res.StatusCode >= 200 {
				return res
			}
		}
	}
	res := send(1, "")
	if res.StatusCode != sip.StatusUnauthorized {
		return res.StatusCode, res.Reason
	}
	for _, h := range res.GetHeaders("WWW-Authenticate") {
		chal, err := digest.ParseChallenge(h.Value())
		if err != nil || chal.Algorithm != "MD5" {
			continue
		}
		cred, err := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: "sip:" + b.Domain(), Username: user, Password: password})
		if err != nil {
			t.Fatal(err)
		}
		res = send(2, "Authorization: "+cred.String()+"\r\n")
		return res.StatusCode, res.Reason
	}
	t.Fatalf("no MD5 challenge in %s", res.Short())
	return 0, ""
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Issue 19, item 6: three wrong passwords from anyone locked the user
// out for five minutes, renewable. Now the stranger's source is locked
// out, not the user; a guesser spread over many addresses spends the
// user's budget, after which unfamiliar sources are turned away unchecked
// while the user's own phone keeps registering.
func TestStrangerCannotLockOutUser(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	b := startBackend(t, func(c *Config) { c.Clock = clk })
	if st, r := registerFrom(t, b, 1, "carol", "secret"); st != sip.StatusOK {
		t.Fatalf("carol's phone: %d %s", st, r)
	}
	for i := 1; i <= MaxAuthFailures; i++ {
		st, r := registerFrom(t, b, 50, "carol", "wrong")
		if i == MaxAuthFailures && (st != sip.StatusForbidden || r != LockedOutReason) {
			t.Fatalf("stranger's attempt %d: %d %s, want 403 %s", i, st, r, LockedOutReason)
		}
	}
	if st, r := registerFrom(t, b, 50, "carol", "secret"); st != sip.StatusForbidden || r != LockedOutReason {
		t.Fatalf("the stranger's source with the right password: %d %s, want locked out", st, r)
	}
	if st, r := registerFrom(t, b, 1, "carol", "secret"); st != sip.StatusOK {
		t.Fatalf("carol's phone after a stranger's guesses: %d %s", st, r)
	}
	// A spray from many addresses, two guesses each.
	wrong := MaxAuthFailures
	refused := 0
	for a := 60; a < 60+MaxAccountAuthFailures; a++ {
		for range 2 {
			st, r := registerFrom(t, b, a, "carol", "wrong")
			switch {
			case st == sip.StatusUnauthorized:
				wrong++
			case st == sip.StatusForbidden && r == LockedOutReason:
				refused++
			default:
				t.Fatalf("spray from 127.0.0.%d: %d %s", a, st, r)
			}
		}
	}
	if wrong != MaxAccountAuthFailures || refused != 2*MaxAccountAuthFailures-(MaxAccountAuthFailures-MaxAuthFailures) {
		t.Fatalf("%d wrong passwords checked, %d refused; want the budget of %d checked", wrong, refused, MaxAccountAuthFailures)
	}
	if st, r := registerFrom(t, b, 1, "carol", "secret"); st != sip.StatusOK {
		t.Fatalf("carol's familiar phone during the spray: %d %s", st, r)
	}
	if st, r := registerFrom(t, b, 99, "carol", "secret"); st != sip.StatusForbidden || r != LockedOutReason {
		t.Fatalf("carol from a new address during the spray: %d %s, want 403 %s", st, r, LockedOutReason)
	}
	if st, r := registerFrom(t, b, 98, "dave", "secret"); st != sip.StatusOK {
		t.Fatalf("another user: %d %s", st, r)
	}
	clk.Advance(AccountAuthWindow)
	if st, r := registerFrom(t, b, 99, "carol", "secret"); st != sip.StatusOK {
		t.Fatalf("carol from a new address after the window: %d %s", st, r)
	}
}
