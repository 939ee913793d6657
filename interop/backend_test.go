//go:build interop

package interop

import (
	"context"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/deskphone/deskphone/backend"
	"github.com/deskphone/deskphone/certs"
	"github.com/deskphone/deskphone/phone/statedir"
)

// startBackend starts deskphone's backend on free loopback TCP and TLS
// ports with the digest algorithms offered in that order (nil: the
// default, SHA-256 first). It is closed when the test ends.
func startBackend(t *testing.T, algorithms []string) *backend.Backend {
	t.Helper()
	b, err := backend.New(backend.Config{
		Listen:           []string{"tcp:127.0.0.1:0", "tls:127.0.0.1:0"},
		StateDir:         t.TempDir(),
		DigestAlgorithms: algorithms,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := b.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := b.Close(); err != nil {
			t.Errorf("backend close: %v", err)
		}
	})
	return b
}

// password is the password of one of the backend's users.
func password(t *testing.T, b *backend.Backend, user string) string {
	t.Helper()
	for _, u := range b.Users() {
		if u.User == user {
			return u.Password
		}
	}
	t.Fatalf("the backend has no user %s", user)
	return ""
}

// registerAndCall is one SIPp run of register_call.xml: user registers with
// digest over its connection to addr and calls the echo service on it. The
// backend knows the caller by the connection it registered on, answers
// itself with SDP, and takes the ACK and the BYE.
func registerAndCall(b *backend.Backend, name, addr, transport, user, password string) sipp {
	return sipp{
		name: name, scenario: "register_call.xml", remote: addr,
		keys: map[string]string{
			"dp_user": user, "dp_callee": backend.ServiceEcho,
			"dp_domain": b.Domain(), "dp_transport": transport,
		},
		auth: sippAuth(user, password),
	}
}

// TestBackend runs SIPp against deskphone's own backend (the mock cloud): a
// third-party client registers with digest and calls the echo service, over
// TCP and, through stunnel, over TLS.
func TestBackend(t *testing.T) {
	sippBin := need(t, toolSIPp)
	dir := t.TempDir()

	// SIPp 3.6 answers only the first challenge and only MD5: the backend
	// offers MD5 first, as a deployment with old phone firmware would.
	b := startBackend(t, []string{"MD5", "SHA-256"})

	t.Run("SIPp registers over TCP and calls echo", func(t *testing.T) {
		runSIPp(t, sippBin, dir, registerAndCall(b, "bob-tcp", b.Addr("tcp"), "TCP", "bob", password(t, b, "bob")))
	})

	t.Run("SIPp registers over TLS through stunnel and calls echo", func(t *testing.T) {
		stunnelBin := need(t, toolStunnel)
		// stunnel trusts only the factory root the backend's chain is
		// issued from, and checks the name in the certificate.
		root, err := certs.FactoryRoot(b.ServerRoot())
		if err != nil {
			t.Fatal(err)
		}
		caFile := filepath.Join(dir, "backend-root.pem")
		if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw}), 0o644); err != nil {
			t.Fatal(err)
		}
		_, tlsPort, err := net.SplitHostPort(b.Addr("tls"))
		if err != nil {
			t.Fatal(err)
		}
		connect, _ := strconv.Atoi(tlsPort)
		port := startStunnel(t, stunnelBin, dir, connect, caFile, b.ServerName())
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		runSIPp(t, sippBin, dir, registerAndCall(b, "carol-tls", addr, "TLS", "carol", password(t, b, "carol")))
	})

	t.Run("SIPp calls a deskphone registered over TLS", func(t *testing.T) {
		// A Poly VVX 601 trusts the backend's factory root out of the
		// box. bob (SIPp, TCP, not registered) is challenged with 407,
		// and the backend proxies his call to alice's TLS connection;
		// SIPp hangs up after 2 s.
		alice := bootPhone(t, "vvx601", "", statedir.Account{
			Server: "sips:" + b.Addr("tls"), User: "alice", Password: password(t, b, "alice"), Domain: b.Domain(),
		})
		waitStatus(t, alice, "registered", "yes")
		uac, _ := startSIPp(t, sippBin, dir, sipp{
			name: "uac-bob-backend", scenario: "uac.xml", remote: b.Addr("tcp"),
			keys: map[string]string{"dp_user": "bob", "dp_callee": "alice", "dp_domain": b.Domain()},
			auth: sippAuth("bob", password(t, b, "bob")),
		})
		if st := waitStatus(t, alice, "call", "ringing"); st["remote"] != "bob" {
			t.Errorf("remote=%q, want bob", st["remote"])
		}
		if err := alice.Answer(); err != nil {
			t.Fatal(err)
		}
		waitLog(t, alice, "connected to bob")
		waitLog(t, alice, "call with bob ended by the far end")
		waitStatus(t, alice, "call", "idle")
		expectSIPpSuccess(t, uac, sippTimeout)
	})
}
