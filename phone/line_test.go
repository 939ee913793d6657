package phone_test

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deskphone/deskphone/backend"
	"github.com/deskphone/deskphone/certs"
	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/internal/testwait"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/statedir"
)

// cloud starts the mock cloud on a free loopback port.
func cloud(t *testing.T) *backend.Backend { return cloudWith(t, backend.Config{}) }

// cloudWith starts the mock cloud configured by cfg, serving TLS on a free
// loopback port, its state in the test's folder, on the cloud clock.
func cloudWith(t *testing.T, cfg backend.Config) *backend.Backend {
	t.Helper()
	cfg.Listen, cfg.StateDir, cfg.Clock = []string{"tls:127.0.0.1:0"}, t.TempDir(), cloudClock()
	b, err := backend.New(cfg)
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	must(t, b.Start(ctx))
	t.Cleanup(func() { cancel(); b.Close() })
	return b
}

// signedIn boots a phone with an account on the cloud.
func signedIn(t *testing.T, b *backend.Backend, model, firmware, user, password string) *phone.Phone {
	t.Helper()
	cat, err := catalog.Builtin()
	must(t, err)
	m, err := cat.Model(model)
	must(t, err)
	p, err := phone.New(m, firmware, phone.WithClock(clock.NewFake(start)), phone.WithStateDir(t.TempDir()),
		phone.WithAccount(statedir.Account{Server: "sips:" + b.Addr("tls"), User: user, Password: password, Domain: b.Domain()}))
	must(t, err)
	p.Start(context.Background())
	t.Cleanup(func() { p.Close() })
	return p
}

// waitStatus polls the phone's status (network events come on real time)
// until key has the value want.
func waitStatus(t *testing.T, p *phone.Phone, key, want string) {
	t.Helper()
	var got string
	if !testwait.Poll(10*time.Second, func() bool { got = status(t, p, key); return got == want }) {
		t.Fatalf("%s=%q after 10 s, want %q\n%s", key, got, want, p.Screen().Text())
	}
}

func logged(p *phone.Phone, text string) bool {
	for _, l := range p.Logs(0) {
		if strings.Contains(l.Text, text) {
			return true
		}
	}
	return false
}

func TestRegisterAndCallBetweenVendors(t *testing.T) {
	b := cloud(t)
	alice := signedIn(t, b, "vvx601", "", "alice", "secret")
	bob := signedIn(t, b, "t48g", "", "bob", "secret")
	carol := signedIn(t, b, "c450hd", "", "carol", "secret")
	for _, p := range []*phone.Phone{alice, bob, carol} {
		waitStatus(t, p, "registered", "yes")
	}
	if got := status(t, alice, "tls"); got != "1.2" {
		t.Errorf("Poly 5.9 negotiated TLS %q, its firmware allows 1.2 only", got)
	}
	if !bob.Screen().Contains("Registered") {
		t.Errorf("idle screen does not say Registered:\n%s", bob.Screen().Text())
	}

	must(t, alice.Call("bob"))
	waitStatus(t, bob, "call", "ringing")
	if s := bob.Screen(); s.LEDs.Line != phone.LEDBlink || !s.Contains("Alice Smith") {
		t.Fatalf("ringing screen:\n%s", s.Text())
	}
	waitStatus(t, alice, "call", "calling")
	must(t, bob.SoftkeyLabel("Answer"))
	waitStatus(t, bob, "call", "connected")
	waitStatus(t, alice, "call", "connected")

	must(t, alice.Hold())
	waitStatus(t, alice, "call", "held")
	must(t, alice.Resume())
	waitStatus(t, alice, "call", "connected")

	// Bob transfers alice to carol (blind): carol rings, bob is free.
	must(t, bob.Transfer("carol"))
	waitStatus(t, carol, "call", "ringing")
	must(t, carol.Answer())
	waitStatus(t, carol, "call", "connected")
	waitStatus(t, bob, "call", "idle")

	must(t, carol.Hangup())
	waitStatus(t, carol, "call", "idle")
	waitStatus(t, alice, "call", "idle")
}

func TestDNDAndVoicemailMWI(t *testing.T) {
	b := cloud(t)
	alice := signedIn(t, b, "vvx501", "", "alice", "secret")
	bob := signedIn(t, b, "t46g", "", "bob", "secret")
	waitStatus(t, alice, "registered", "yes")
	waitStatus(t, bob, "registered", "yes")
	must(t, bob.SoftkeyLabel("DND"))
	must(t, alice.Call("bob"))
	waitStatus(t, alice, "call", "idle")
	if a := alice.Screen().Alert; a != "Busy" {
		t.Errorf("calling a DND phone: %q, want Busy", a)
	}
	must(t, b.LeaveVoicemail("bob"))
	waitStatus(t, bob, "mwi", "1")
	if s := bob.Screen(); s.LEDs.Message != phone.LEDOn {
		t.Fatalf("message LED off with 1 message:\n%s", s.Text())
	}
}

func logTexts(p *phone.Phone) []string {
	var out []string
	for _, l := range p.Logs(0) {
		out = append(out, l.Text)
	}
	return out
}

// The seed 002 story: the cloud rotates its certificate to a chain from the
// new root; an AudioCodes 430HD on 3.2.1.580 lacks that root and logs the
// ctx->error=20 lines; the root imported and a reboot later, it registers.
func TestRootRotationSeed002(t *testing.T) {
	b := cloud(t)
	p := signedIn(t, b, "430hd", "3.2.1.580", "alice", "secret")
	waitStatus(t, p, "registered", "yes")
	must(t, b.RotateCertificate(certs.FactoryRoot2022))
	navigate(t, p, []string{"Menu", "Administration", "Restart Phone"})
	waitStatus(t, p, "registration_error", "TLS: Untrusted certificate")
	for _, want := range []string{
		"[Voip:MTF-1][acl_user_tls_server_validation:772] server cert is invalid. ctx->error=20 unable to get local issuer certificate",
		"[Voip:MTF-1][acl_lync_transport_connection_tls_state_changed_ev:1050] validate server certificate fail, try to renew root certificate.",
	} {
		if !logged(p, want) {
			t.Errorf("syslog lacks %q:\n%s", want, strings.Join(logTexts(p), "\n"))
		}
	}
	root, err := certs.FactoryRoot(certs.FactoryRoot2022)
	must(t, err)
	path := filepath.Join(t.TempDir(), "new-root.pem")
	must(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw}), 0o644))
	if _, err := p.CAStore().ImportFile(path); err != nil {
		t.Fatal(err)
	}
	navigate(t, p, []string{"Menu", "Administration", "Restart Phone"})
	waitStatus(t, p, "registered", "yes")

	// Firmware 3.4.6.537 ships the new root: no import needed.
	p2 := signedIn(t, b, "430hd", "3.4.6.537", "bob", "secret")
	waitStatus(t, p2, "registered", "yes")
}

// Lync Phone Edition speaks TLS 1.0 at most: the TLS 1.2 cloud refuses it.
func TestLyncPhoneEditionCannotRegister(t *testing.T) {
	b := cloud(t)
	p := signedIn(t, b, "cx600", "", "alice", "secret")
	waitStatus(t, p, "registration_error", "TLS: TLS version not supported")
}

func TestUnreachableServer(t *testing.T) {
	cat, _ := catalog.Builtin()
	m, _ := cat.Model("t46g")
	p, err := phone.New(m, "", phone.WithClock(clock.NewFake(start)), phone.WithStateDir(t.TempDir()),
		phone.WithAccount(statedir.Account{Server: "sips:127.0.0.1:1", User: "alice", Password: "x"}))
	must(t, err)
	p.Start(context.Background())
	defer p.Close()
	waitStatus(t, p, "registration_error", "Server unreachable")
}

// A server name that does not resolve is its own reason, not a TLS failure
// (.invalid never resolves, RFC 6761).
func TestServerNameDoesNotResolve(t *testing.T) {
	cat, _ := catalog.Builtin()
	m, _ := cat.Model("t46g")
	p, err := phone.New(m, "", phone.WithClock(clock.NewFake(start)), phone.WithStateDir(t.TempDir()),
		phone.WithAccount(statedir.Account{Server: "sips:nonexistent.invalid", User: "alice", Password: "x"}))
	must(t, err)
	p.Start(context.Background())
	defer p.Close()
	waitStatus(t, p, "registration_error", "Server not found (DNS)")
}

// The phone presents its client certificate (mutual TLS) and writes its TLS
// secrets to the key log for Wireshark.
func TestClientCertificateAndKeyLog(t *testing.T) {
	ca, err := certs.FactoryCA(certs.FactoryRoot2019)
	must(t, err)
	srv, err := ca.IssueServer(certs.ServerOptions{DNSNames: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Now: start})
	must(t, err)
	client, err := ca.IssueServer(certs.ServerOptions{DNSNames: []string{"phone.test"}})
	must(t, err)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")
	must(t, client.WritePEM(certFile, keyFile))

	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{srv.TLSCertificate()},
		ClientAuth:   tls.RequireAnyClientCert,
	})
	must(t, err)
	defer ln.Close()
	peer := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		tc := c.(*tls.Conn)
		if err := tc.Handshake(); err != nil {
			peer <- "handshake: " + err.Error()
			return
		}
		peer <- tc.ConnectionState().PeerCertificates[0].Subject.CommonName
	}()

	var keylog strings.Builder
	cat, _ := catalog.Builtin()
	m, _ := cat.Model("vvx601")
	p, err := phone.New(m, "", phone.WithClock(clock.NewFake(start)), phone.WithStateDir(t.TempDir()),
		phone.WithClientCertificate(certFile, keyFile), phone.WithKeyLog(&syncWriter{w: &keylog}),
		phone.WithAccount(statedir.Account{Server: "sips:" + ln.Addr().String(), User: "alice", Password: "x"}))
	must(t, err)
	p.Start(context.Background())
	defer p.Close()
	select {
	case cn := <-peer:
		if cn != "phone.test" {
			t.Fatalf("server saw client certificate %q", cn)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no TLS connection from the phone")
	}
	if !testwait.Poll(5*time.Second, func() bool {
		s := keylogText(&keylog)
		return strings.Contains(s, "CLIENT_RANDOM") || strings.Contains(s, "CLIENT_TRAFFIC_SECRET_0")
	}) {
		t.Fatalf("no NSS key log lines:\n%s", keylogText(&keylog))
	}
}

// syncWriter guards a builder the TLS stack writes to from its goroutine.
type syncWriter struct {
	w *strings.Builder
}

var keylogMu sync.Mutex

func (s *syncWriter) Write(b []byte) (int, error) {
	keylogMu.Lock()
	defer keylogMu.Unlock()
	return s.w.Write(b)
}

func keylogText(b *strings.Builder) string {
	keylogMu.Lock()
	defer keylogMu.Unlock()
	return b.String()
}

// A hostile server answers the REGISTER with garbage and hangs up: the phone
// shows a reason, backs off, and goes on working.
func TestHostileServer(t *testing.T) {
	ca, err := certs.FactoryCA(certs.FactoryRoot2019)
	must(t, err)
	srv, err := ca.IssueServer(certs.ServerOptions{DNSNames: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	must(t, err)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{srv.TLSCertificate()}})
	must(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 4096)
			c.Read(buf)
			c.Write([]byte("SIP/2.0 abc Nonsense\r\nVia: ;;;\r\nContent-Length: 99999999\r\n\r\n\x00\xff garbage"))
			c.Write([]byte("INVITE \r\n\r\n"))
			c.Close()
		}
	}()
	cat, _ := catalog.Builtin()
	m, _ := cat.Model("t48g")
	clk := clock.NewFake(start)
	p, err := phone.New(m, "", phone.WithClock(clk), phone.WithStateDir(t.TempDir()),
		phone.WithAccount(statedir.Account{Server: "sips:" + ln.Addr().String(), User: "alice", Password: "x"}))
	must(t, err)
	p.Start(context.Background())
	defer p.Close()
	if !testwait.Poll(10*time.Second, func() bool { return status(t, p, "registration_error") != "" }) {
		t.Fatalf("no registration error after the garbage:\n%s", strings.Join(logTexts(p), "\n"))
	}
	if !logged(p, "(retry in 5s)") {
		t.Fatalf("no back-off:\n%s", strings.Join(logTexts(p), "\n"))
	}
	// Still a working phone.
	must(t, p.Press(phone.KeyMenu))
	if got := status(t, p, "screen"); got != "menu" {
		t.Fatalf("screen %s after the hostile server", got)
	}
}

// Lab servers: the phone also registers over TCP and UDP, with MD5 when
// that is all the server offers, and removes its registration at shutdown.
func TestTransportsDigestAndUnregister(t *testing.T) {
	b, err := backend.New(backend.Config{Listen: []string{"tcp:127.0.0.1:0", "udp:127.0.0.1:0"}, StateDir: t.TempDir(), DigestAlgorithms: []string{"MD5"}})
	must(t, err)
	must(t, b.Start(context.Background()))
	defer b.Close()
	cat, _ := catalog.Builtin()
	m, _ := cat.Model("t46g")
	for _, tr := range []string{"tcp", "udp"} {
		t.Run(tr, func(t *testing.T) {
			p, err := phone.New(m, "", phone.WithClock(clock.NewFake(start)), phone.WithStateDir(t.TempDir()),
				phone.WithAccount(statedir.Account{Server: "sip:" + b.Addr(tr) + ";transport=" + tr, User: "alice", Password: "secret", Domain: b.Domain()}))
			must(t, err)
			p.Start(context.Background())
			waitStatus(t, p, "registered", "yes")
			if got := status(t, p, "tls"); got != "" {
				t.Errorf("tls=%q over %s", got, tr)
			}
			if n := len(b.Registrations()); n != 1 {
				t.Fatalf("%d registrations at the server", n)
			}
			must(t, p.Close())
			if n := len(b.Registrations()); n != 0 {
				t.Fatalf("%d registrations left after shutdown, want 0 (unregister)", n)
			}
		})
	}
}

// cloudClock stands the cloud at the phones' start, so the certificate it
// issues is valid on the phones' clocks.
func cloudClock() clock.Clock { return clock.NewFake(start) }
