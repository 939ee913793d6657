// Package certstest provides TLS material and loopback handshakes for
// tests of packages that use certs: a lab PKI in a temp dir, a root store
// and one real TLS handshake over 127.0.0.1.
package certstest

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/deskphone/deskphone/certs"
)

// HandshakeTimeout bounds one Handshake so a broken peer fails the test
// instead of hanging it.
const HandshakeTimeout = 10 * time.Second

// Lab generates a lab PKI into a fresh tb.TempDir().
func Lab(tb testing.TB, opts certs.LabOptions) *certs.Lab {
	tb.Helper()
	lab, err := certs.GenerateLab(tb.TempDir(), opts)
	if err != nil {
		tb.Fatalf("generate lab: %v", err)
	}
	return lab
}

// Store opens a root store in a fresh tb.TempDir() trusting the given
// factory roots.
func Store(tb testing.TB, factory ...string) *certs.Store {
	tb.Helper()
	s, err := certs.OpenStore(tb.TempDir(), factory)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	return s
}

// Handshake runs one TLS handshake between a server and a client over
// loopback TCP and returns each side's error. It returns only after the
// server side has finished, so nothing outlives the call.
func Handshake(tb testing.TB, server, client *tls.Config) (clientErr, serverErr error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), HandshakeTimeout)
	defer cancel()

	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	defer ln.Close()

	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, ln, server)
	}()

	clientErr = dial(ctx, ln.Addr().String(), client)
	select {
	case serverErr = <-done:
	case <-ctx.Done():
		_ = ln.Close()
		serverErr = <-done
		tb.Fatalf("handshake timed out: client %v, server %v", clientErr, serverErr)
	}
	return clientErr, serverErr
}

func serve(ctx context.Context, ln net.Listener, cfg *tls.Config) error {
	conn, err := ln.Accept()
	if err != nil {
		return err
	}
	defer conn.Close()
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	// Under TLS 1.3 too the server's handshake waits for the client's
	// Finished, so a client that rejects the certificate fails it.
	return tls.Server(conn, cfg).HandshakeContext(ctx)
}

func dial(ctx context.Context, addr string, cfg *tls.Config) error {
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	return tls.Client(conn, cfg).HandshakeContext(ctx)
}
