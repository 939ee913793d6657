package backend

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/deskphone/deskphone/certs"
)

// handshake dials the backend's TLS port as a phone with the given roots
// and version range would.
func handshake(t *testing.T, b *Backend, cfg *tls.Config) error {
	t.Helper()
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: testTimeout}, Config: cfg}
	conn, err := d.DialContext(ctxT(t), "tcp", b.Addr("tls"))
	if err != nil {
		return err
	}
	return conn.Close()
}

func TestRotateCertificate(t *testing.T) {
	dir := t.TempDir()
	b := startBackend(t, func(c *Config) { c.StateDir = dir })
	old := &tls.Config{RootCAs: rootPool(t, certs.FactoryRoot2019), ServerName: b.ServerName()}
	updated := &tls.Config{RootCAs: rootPool(t, certs.FactoryRoot2022), ServerName: b.ServerName()}
	both := &tls.Config{RootCAs: rootPool(t, certs.FactoryRoot2019, certs.FactoryRoot2022), ServerName: "127.0.0.1"}

	if err := handshake(t, b, old); err != nil {
		t.Fatalf("before rotation, lab-2019 firmware: %v", err)
	}
	// A phone signed in before the rotation keeps its connection.
	phone := newPhone(t, b, "alice")
	phone.mustRegister(ctxT(t))

	if err := b.RotateCertificate(certs.FactoryRoot2022); err != nil {
		t.Fatal(err)
	}
	if b.ServerRoot() != certs.FactoryRoot2022 {
		t.Errorf("ServerRoot = %q", b.ServerRoot())
	}
	err := handshake(t, b, old)
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); !ok || certs.Classify(err) != certs.FailureUnknownIssuer {
		t.Fatalf("after rotation, lab-2019 firmware: %v (%v), want unknown issuer", err, certs.Classify(err))
	}
	if _, ok := errors.AsType[x509.UnknownAuthorityError](err); !ok {
		t.Errorf("error %v does not unwrap to x509.UnknownAuthorityError", err)
	}
	for name, cfg := range map[string]*tls.Config{"lab-2022": updated, "both roots, by IP": both} {
		if err := handshake(t, b, cfg); err != nil {
			t.Errorf("after rotation, %s: %v", name, err)
		}
	}
	if res, err := phone.register(ctxT(t), "MD5", 3600); err != nil || res.StatusCode != sip.StatusOK {
		t.Errorf("re-REGISTER over the old connection: %v %v", res, err)
	}

	// The choice survives a restart; rotating back works too.
	b2, err := New(Config{StateDir: dir, Listen: []string{"tls:127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	if b2.ServerRoot() != certs.FactoryRoot2022 {
		t.Errorf("after restart ServerRoot = %q, want lab-2022", b2.ServerRoot())
	}
	if err := b.RotateCertificate("lab-1999"); !errors.Is(err, ErrUnknownRoot) {
		t.Errorf("RotateCertificate(lab-1999) = %v", err)
	}
	if err := b.RotateCertificate(certs.FactoryRoot2019); err != nil {
		t.Fatal(err)
	}
	if err := handshake(t, b, old); err != nil {
		t.Errorf("rotated back, lab-2019 firmware: %v", err)
	}
}

func TestServerCertificate(t *testing.T) {
	dir := t.TempDir()
	b := startBackend(t, func(c *Config) { c.StateDir = dir })
	var leaf *tls.ConnectionState
	d := tls.Dialer{Config: &tls.Config{RootCAs: rootPool(t, certs.FactoryRoot2019), ServerName: "localhost"}}
	conn, err := d.DialContext(ctxT(t), "tcp", b.Addr("tls"))
	if err != nil {
		t.Fatal(err)
	}
	st := conn.(*tls.Conn).ConnectionState()
	leaf = &st
	conn.Close()
	cert := leaf.PeerCertificates[0]
	if len(leaf.PeerCertificates) != 2 {
		t.Errorf("chain has %d certificates, want leaf and intermediate", len(leaf.PeerCertificates))
	}
	if len(cert.CRLDistributionPoints) == 0 || len(cert.ExtKeyUsage) == 0 || cert.VerifyHostname("127.0.0.1") != nil || cert.VerifyHostname(DefaultDomain) != nil {
		t.Errorf("server certificate: CRL %v, EKU %v, names %v %v", cert.CRLDistributionPoints, cert.ExtKeyUsage, cert.DNSNames, cert.IPAddresses)
	}
	// A second backend on the same state directory serves the same chain.
	b2 := startBackend(t, func(c *Config) { c.StateDir = dir })
	conn, err = d.DialContext(ctxT(t), "tcp", b2.Addr("tls"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if again := conn.(*tls.Conn).ConnectionState().PeerCertificates[0]; !again.Equal(cert) {
		t.Error("restart issued a new server certificate instead of reusing it")
	}
}

func TestOldTLSVersionsRefused(t *testing.T) {
	b := startBackend(t, nil)
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		cfg := &tls.Config{RootCAs: rootPool(t, certs.FactoryRoot2019), ServerName: b.ServerName(), MinVersion: v, MaxVersion: v}
		err := handshake(t, b, cfg)
		if f := certs.Classify(err); f != certs.FailureProtocolVersion {
			t.Errorf("%s client: %v (%v), want protocol version failure", tls.VersionName(v), err, f)
		}
	}
	if err := handshake(t, b, &tls.Config{RootCAs: rootPool(t, certs.FactoryRoot2019), ServerName: b.ServerName(), MaxVersion: tls.VersionTLS12}); err != nil {
		t.Errorf("TLS 1.2 client: %v", err)
	}
}

func TestGarbageDoesNotCrash(t *testing.T) {
	b := startBackend(t, nil)
	inputs := []string{
		"\x16\x03\x01\x00\x05hello",
		"GARBAGE\r\n\r\n",
		"INVITE sip:bob@deskphone.test SIP/2.0\r\nContent-Length: 99999999\r\n\r\n",
		"INVITE sip:bob@deskphone.test SIP/2.0\r\nVia: SIP/2.0/TLS x\r\n\r\n",
		"INVITE sip:bob@deskphone.test SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:1;branch=z9hG4bKx\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
		"SIP/2.0 200 OK\r\nVia: SIP/2.0/TLS 127.0.0.1:1;branch=z9hG4bKx\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
		"REGISTER sip:deskphone.test SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:1;branch=z9hG4bKy\r\nCSeq: 1 REGISTER\r\nFrom: <sip:alice@deskphone.test>;tag=1\r\nTo: <sip:alice@deskphone.test>\r\nCall-ID: x\r\nContact: <<<>>>\r\nAuthorization: Digest ,,,===\r\nContent-Length: 0\r\n\r\n",
		strings.Repeat("A", 70000),
		"\x00\x01\x02\xff\xfe\r\n\r\n",
	}
	cfg := &tls.Config{RootCAs: rootPool(t, certs.FactoryRoot2019), ServerName: b.ServerName()}
	for _, in := range inputs {
		for _, tp := range []string{"tls", "tcp", "udp"} {
			var conn net.Conn
			var err error
			switch tp {
			case "tls":
				conn, err = tls.Dial("tcp", b.Addr("tls"), cfg)
			default:
				conn, err = net.Dial(tp, b.Addr(tp))
			}
			if err != nil {
				t.Fatal(err)
			}
			_, _ = conn.Write([]byte(in))
			if tp != "udp" {
				// Read whatever comes back (a 400, or the close).
				_ = conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
				_, _ = io.Copy(io.Discard, conn)
			}
			conn.Close()
		}
	}
	// Raw TCP bytes on the TLS port: a failed handshake.
	if conn, err := net.Dial("tcp", b.Addr("tls")); err == nil {
		_, _ = conn.Write([]byte("REGISTER sip:x SIP/2.0\r\n\r\n"))
		conn.Close()
	}
	// Still serving.
	p := newPhone(t, b, "alice")
	p.mustRegister(ctxT(t))
}

func TestUnknownMethod(t *testing.T) {
	b := startBackend(t, nil)
	ctx := ctxT(t)
	p := newPhone(t, b, "alice")
	p.mustRegister(ctx)
	for _, m := range []sip.RequestMethod{"FROBNICATE", sip.PUBLISH} {
		res, err := p.cli.Do(ctx, p.newRequest(m, sip.Uri{Scheme: "sip", User: "bob", Host: p.domain}))
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != sip.StatusMethodNotAllowed || res.GetHeader("Allow") == nil {
			t.Errorf("%s: %s, want 405 with Allow", m, res.Short())
		}
	}
	res, err := p.cli.Do(ctx, p.newRequest(sip.OPTIONS, sip.Uri{Scheme: "sip", Host: p.domain}))
	if err != nil || res.StatusCode != sip.StatusOK {
		t.Errorf("OPTIONS: %v %v", res, err)
	}
	bye := p.newRequest(sip.BYE, sip.Uri{Scheme: "sip", User: "bob", Host: p.domain})
	if res, err := p.cli.Do(ctx, bye); err != nil || res.StatusCode != sip.StatusCallTransactionDoesNotExists {
		t.Errorf("BYE outside a dialog: %v %v, want 481", res, err)
	}
}
