package certs

import (
	"crypto/tls"
	"net"
	"testing"
)

// TestAlertOfRemoteError pins the shape of crypto/tls's received-alert
// error (a *net.OpError around an unexported uint8 type), which alertOf
// relies on; if Go changes it this test says so, not a flaky phone.
func TestAlertOfRemoteError(t *testing.T) {
	ca, err := NewRootCA("Alert Root", fixedNow())
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.IssueServer(ServerOptions{DNSNames: []string{"localhost"}, Now: fixedNow()})
	if err != nil {
		t.Fatal(err)
	}
	cli, srv := net.Pipe()
	done := make(chan error, 1)
	go func() {
		defer srv.Close()
		done <- tls.Server(srv, &tls.Config{
			Certificates: []tls.Certificate{leaf.TLSCertificate()},
			MinVersion:   tls.VersionTLS12,
		}).Handshake()
	}()
	cerr := tls.Client(cli, &tls.Config{
		ServerName: "localhost",
		RootCAs:    x509Pool(ca),
		MinVersion: tls.VersionTLS10,
		MaxVersion: tls.VersionTLS10,
	}).Handshake()
	cli.Close()
	<-done
	a, ok := alertOf(cerr)
	if !ok || a != alertProtocolVersion {
		t.Fatalf("alertOf(%v) = %d, %v; want %d", cerr, a, ok, alertProtocolVersion)
	}
}
