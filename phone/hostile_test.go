package phone_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deskphone/deskphone/certs"
	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/internal/siptest"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/statedir"
)

// hostileServer answers every SIP message it reads, on any connection, with
// reply(start and header lines) ("" for nothing) and keeps the connection
// open. With tlsConf it speaks TLS.
func hostileServer(t *testing.T, tlsConf *tls.Config, reply func(headers []string) string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	siptest.Server(t, ln, func(msg []string, write func(string)) { write(reply(msg)) })
	return ln.Addr().String()
}

func hostilePhone(t *testing.T, server string) *phone.Phone {
	t.Helper()
	cat, _ := catalog.Builtin()
	m, _ := cat.Model("t46g")
	p, err := phone.New(m, "", phone.WithClock(clock.NewFake(start)), phone.WithStateDir(t.TempDir()),
		phone.WithAccount(statedir.Account{Server: server, User: "alice", Password: "x"}))
	must(t, err)
	p.Start(context.Background())
	t.Cleanup(func() { p.Close() })
	return p
}

// A server that answers with something that is not SIP is reported as a
// bad response, on TCP and after a good TLS handshake alike, never as a
// TLS failure.
func TestHostileServerReplies(t *testing.T) {
	lab, err := certs.GenerateLab(t.TempDir(), certs.LabOptions{UseFactoryRoots: true, Now: start})
	must(t, err)
	cert, err := tls.LoadX509KeyPair(lab.Path(certs.LabOldServerCert), lab.Path(certs.LabOldServerKey))
	must(t, err)
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}}
	replies := map[string]string{
		"garbage":            "HTTP/1.1 200 OK\r\nServer: nginx\r\n\r\n",
		"binary":             "\x00\x01\x02\x03\xff\xfe\r\n\r\n",
		"content-length lie": "SIP/2.0 200 OK\r\nContent-Length: 99999999\r\n\r\nshort",
		"oversized":          "SIP/2.0 200 OK\r\nX-Junk: " + strings.Repeat("x", 200000) + "\r\n\r\n",
	}
	for name, reply := range replies {
		for _, transport := range []string{"tcp", "tls"} {
			t.Run(name+" "+transport, func(t *testing.T) {
				var addr, server string
				if transport == "tls" {
					addr = hostileServer(t, tlsConf, func([]string) string { return reply })
					_, port, _ := net.SplitHostPort(addr)
					server = "sips:localhost:" + port
				} else {
					addr = hostileServer(t, nil, func([]string) string { return reply })
					server = "sip:" + addr + ";transport=tcp"
				}
				p := hostilePhone(t, server)
				waitStatus(t, p, "registration_error", "Bad response from server")
			})
		}
	}
}

// Expires: 0 in a 200 to REGISTER means the server kept no binding
// (RFC 3261 10.3): the phone is not registered and tries again later.
func TestRegisterExpiresZero(t *testing.T) {
	addr := hostileServer(t, nil, func(h []string) string { return siptest.OK(h, "expires=0") })
	p := hostilePhone(t, "sip:"+addr+";transport=tcp")
	waitStatus(t, p, "registration_error", "Not kept by server (Expires: 0)")
	if got := status(t, p, "registered"); got != "no" {
		t.Fatalf("registered=%s after a 200 with Expires: 0", got)
	}
}

// A message-summary NOTIFY that belongs to none of the phone's
// subscriptions is refused with 481 and does not light the message LED.
func TestStrangerMWINotifyRefused(t *testing.T) {
	answers := make(chan string, 16)
	var seenMu sync.Mutex
	var seen []string
	var once sync.Once
	var addr string
	addr = hostileServer(t, nil, func(h []string) string {
		seenMu.Lock()
		seen = append(seen, h[0])
		seenMu.Unlock()
		switch {
		case strings.HasPrefix(h[0], "SIP/2.0"):
			answers <- h[0]
			return ""
		case strings.HasPrefix(h[0], "REGISTER"):
			return siptest.OK(h, "expires=3600")
		case strings.HasPrefix(h[0], "SUBSCRIBE"):
			reply := siptest.OK(h, "")
			once.Do(func() {
				// Once the phone is registered and subscribed, a NOTIFY
				// from a stranger, outside its subscription. Its Via names
				// this server, so a response finds it on this connection
				// or a new one.
				const body = "Messages-Waiting: yes\r\nVoice-Message: 9/0\r\n"
				reply += "NOTIFY sip:alice@127.0.0.1 SIP/2.0\r\n" +
					"Via: SIP/2.0/TCP " + addr + ";branch=z9hG4bKstranger1;rport\r\n" +
					"From: <sip:mallory@evil.test>;tag=m1\r\nTo: <sip:alice@127.0.0.1>;tag=nosuch\r\n" +
					"Call-ID: stranger-1\r\nCSeq: 1 NOTIFY\r\nEvent: message-summary\r\nSubscription-State: active\r\n" +
					"Content-Type: application/simple-message-summary\r\n" +
					fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)) + body
			})
			return reply
		}
		return siptest.OK(h, "")
	})
	p := hostilePhone(t, "sip:"+addr+";transport=tcp")
	select {
	case got := <-answers:
		if !strings.Contains(got, "481") {
			t.Fatalf("the phone answered a stranger's NOTIFY with %q, want 481", got)
		}
	case <-time.After(10 * time.Second):
		seenMu.Lock()
		defer seenMu.Unlock()
		t.Fatalf("no answer to the stranger's NOTIFY; the server read: %q\n%s", seen, logText(p))
	}
	if got := status(t, p, "mwi"); got != "0" {
		t.Fatalf("mwi=%s after a stranger's NOTIFY", got)
	}
}

func logText(p *phone.Phone) string {
	var b strings.Builder
	for _, l := range p.Logs(0) {
		b.WriteString(l.Text + "\n")
	}
	return b.String()
}
