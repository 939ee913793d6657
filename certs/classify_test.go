package certs_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/deskphone/deskphone/certs"
	"github.com/deskphone/deskphone/certs/certstest"
)

// TestClassifyHandshake runs real handshakes on loopback for each failure
// a phone must explain, and checks the client's view (and, for version
// mismatches, the server's).
func TestClassifyHandshake(t *testing.T) {
	lab := certstest.Lab(t, certs.LabOptions{Now: testNow(), UseFactoryRoots: true})
	oldFirmware := mustOpen(t, t.TempDir(), certs.FactoryRoot2019)
	newFirmware := mustOpen(t, t.TempDir(), certs.FactoryRoot2019, certs.FactoryRoot2022)
	issuer := lab.NewIntermediate
	day := 24 * time.Hour
	leafWith := func(opts certs.ServerOptions) *certs.Leaf {
		if opts.DNSNames == nil {
			opts.DNSNames = []string{"localhost"}
		}
		return mustIssue(t, issuer, opts)
	}

	tests := []struct {
		name        string
		store       *certs.Store
		leaf        *certs.Leaf
		serverName  string
		srvMin      uint16
		srvMax      uint16
		cliMin      uint16
		cliMax      uint16
		want        certs.Failure
		wantServer  certs.Failure // FailureUnknown: don't check
		wantOpenSSL int
		wantVersion uint16 // on success
	}{
		{name: "ok", store: newFirmware, leaf: lab.NewServer, cliMin: tls.VersionTLS12, want: certs.FailureNone, wantVersion: tls.VersionTLS13},
		{name: "ok by IP", store: newFirmware, leaf: lab.NewServer, serverName: "127.0.0.1", cliMin: tls.VersionTLS12, want: certs.FailureNone, wantVersion: tls.VersionTLS13},
		{name: "old firmware, new root (seed 002)", store: oldFirmware, leaf: lab.NewServer, cliMin: tls.VersionTLS12, want: certs.FailureUnknownIssuer, wantOpenSSL: 20},
		{name: "old firmware, old root", store: oldFirmware, leaf: lab.OldServer, cliMin: tls.VersionTLS12, want: certs.FailureNone, wantVersion: tls.VersionTLS13},
		{name: "expired", store: newFirmware, leaf: leafWith(certs.ServerOptions{NotBefore: testNow().Add(-400 * day), NotAfter: testNow().Add(-day)}), cliMin: tls.VersionTLS12, want: certs.FailureExpired, wantOpenSSL: 10},
		{name: "not yet valid", store: newFirmware, leaf: leafWith(certs.ServerOptions{NotBefore: testNow().Add(day)}), cliMin: tls.VersionTLS12, want: certs.FailureNotYetValid, wantOpenSSL: 9},
		{name: "wrong host name", store: newFirmware, leaf: lab.NewServer, serverName: "sip.elsewhere.test", cliMin: tls.VersionTLS12, want: certs.FailureHostnameMismatch, wantOpenSSL: 62},
		{name: "missing server-auth EKU", store: newFirmware, leaf: leafWith(certs.ServerOptions{OmitServerAuthEKU: true}), cliMin: tls.VersionTLS12, want: certs.FailureMissingServerAuthEKU, wantOpenSSL: 26},
		{name: "missing EKU under TLS 1.2", store: newFirmware, leaf: leafWith(certs.ServerOptions{OmitServerAuthEKU: true}), cliMin: tls.VersionTLS12, cliMax: tls.VersionTLS12, want: certs.FailureMissingServerAuthEKU, wantOpenSSL: 26},
		{name: "server max TLS 1.1, client min 1.2", store: newFirmware, leaf: lab.NewServer, srvMin: tls.VersionTLS10, srvMax: tls.VersionTLS11, cliMin: tls.VersionTLS12, want: certs.FailureProtocolVersion, wantServer: certs.FailureProtocolVersion},
		{name: "server TLS 1.0 only, client min 1.2", store: newFirmware, leaf: lab.NewServer, srvMin: tls.VersionTLS10, srvMax: tls.VersionTLS10, cliMin: tls.VersionTLS12, want: certs.FailureProtocolVersion, wantServer: certs.FailureProtocolVersion},
		{name: "client max TLS 1.0 (LPE), server min 1.2", store: newFirmware, leaf: lab.NewServer, srvMin: tls.VersionTLS12, cliMin: tls.VersionTLS10, cliMax: tls.VersionTLS10, want: certs.FailureProtocolVersion, wantServer: certs.FailureProtocolVersion},
		{name: "TLS 1.0 both sides, explicit MinVersion", store: newFirmware, leaf: lab.NewServer, srvMin: tls.VersionTLS10, srvMax: tls.VersionTLS10, cliMin: tls.VersionTLS10, cliMax: tls.VersionTLS10, want: certs.FailureNone, wantVersion: tls.VersionTLS10},
		{name: "TLS 1.0 server, client default MinVersion", store: newFirmware, leaf: lab.NewServer, srvMin: tls.VersionTLS10, srvMax: tls.VersionTLS10, want: certs.FailureProtocolVersion},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			serverName := tc.serverName
			if serverName == "" {
				serverName = "localhost"
			}
			client := tc.store.ClientConfig(serverName, tc.cliMin, tc.cliMax)
			client.Time = testNow
			var version uint16
			client.VerifyConnection = func(cs tls.ConnectionState) error {
				version = cs.Version
				return nil
			}
			cerr, serr := certstest.Handshake(t, serverConfig(tc.leaf, tc.srvMin, tc.srvMax), client)
			got := certs.Classify(cerr)
			if got != tc.want {
				t.Fatalf("Classify(%v) = %v, want %v (server: %v)", cerr, got, tc.want, serr)
			}
			if tc.wantServer != certs.FailureUnknown {
				if got := certs.Classify(serr); got != tc.wantServer {
					t.Errorf("server side: Classify(%v) = %v, want %v", serr, got, tc.wantServer)
				}
			}
			if code := got.OpenSSLCode(); code != tc.wantOpenSSL {
				t.Errorf("OpenSSLCode = %d, want %d", code, tc.wantOpenSSL)
			}
			if tc.want == certs.FailureNone && version != tc.wantVersion {
				t.Errorf("negotiated %s, want %s", tls.VersionName(version), tls.VersionName(tc.wantVersion))
			}
		})
	}
}

// TestClassifyServerSelectsOldVersion covers a peer that, unlike Go,
// answers a TLS 1.2 ClientHello with a TLS 1.0 ServerHello instead of an
// alert, as old Windows CE era stacks do.
func TestClassifyServerSelectsOldVersion(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		hdr := make([]byte, 5)
		if _, err := io.ReadFull(conn, hdr); err != nil {
			done <- err
			return
		}
		if _, err := io.CopyN(io.Discard, conn, int64(hdr[3])<<8|int64(hdr[4])); err != nil {
			done <- err
			return
		}
		hello := []byte{0x02, 0, 0, 38, 0x03, 0x01} // ServerHello, TLS 1.0
		hello = append(hello, make([]byte, 32)...)  // random
		hello = append(hello, 0, 0xc0, 0x13, 0)     // no session id, ECDHE_RSA_AES128_CBC_SHA, null compression
		record := append([]byte{0x16, 0x03, 0x01, 0, byte(len(hello))}, hello...)
		_, err = conn.Write(record)
		_, _ = io.Copy(io.Discard, conn) // until the client hangs up
		done <- err
	}()

	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	store := mustOpen(t, t.TempDir(), certs.FactoryRoot2019)
	cerr := tls.Client(conn, store.ClientConfig("localhost", tls.VersionTLS12, 0)).HandshakeContext(ctx)
	conn.Close()
	if err := <-done; err != nil {
		t.Fatalf("fake server: %v", err)
	}
	if got := certs.Classify(cerr); got != certs.FailureProtocolVersion {
		t.Errorf("Classify(%v) = %v, want protocol-version", cerr, got)
	}
}

func TestClassifyErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want certs.Failure
	}{
		{"nil", nil, certs.FailureNone},
		{"plain", errors.New("connection reset by peer"), certs.FailureHandshake},
		{"EOF", io.EOF, certs.FailureHandshake},
		{"unknown authority wrapped twice", fmt.Errorf("register: %w", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), certs.FailureUnknownIssuer},
		{"system roots", x509.SystemRootsError{}, certs.FailureUnknownIssuer},
		{"expired", x509.CertificateInvalidError{Reason: x509.Expired, Detail: "current time 2030-01-01T00:00:00Z is after 2025-01-01T00:00:00Z"}, certs.FailureExpired},
		{"not yet valid", x509.CertificateInvalidError{Reason: x509.Expired, Detail: "current time 2020-01-01T00:00:00Z is before 2025-01-01T00:00:00Z"}, certs.FailureNotYetValid},
		{"CA not for EKU", x509.CertificateInvalidError{Reason: x509.CANotAuthorizedForExtKeyUsage}, certs.FailureMissingServerAuthEKU},
		{"other invalid", x509.CertificateInvalidError{Reason: x509.NotAuthorizedToSign}, certs.FailureHandshake},
		{"hostname", fmt.Errorf("dial: %w", x509.HostnameError{Host: "x"}), certs.FailureHostnameMismatch},
		{"QUIC alert 70", tls.AlertError(70), certs.FailureProtocolVersion},
		{"QUIC alert 48", tls.AlertError(48), certs.FailureUnknownIssuer},
		{"QUIC alert 45", fmt.Errorf("x: %w", tls.AlertError(45)), certs.FailureExpired},
		{"QUIC alert 40", tls.AlertError(40), certs.FailureHandshake},
		{"non-TLS OpError", &net.OpError{Op: "remote error", Err: errors.New("boom")}, certs.FailureHandshake},
		{"dial refused", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, certs.FailureHandshake},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := certs.Classify(tc.err); got != tc.want {
				t.Errorf("Classify(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestFailureStrings(t *testing.T) {
	tests := []struct {
		f            certs.Failure
		name, reason string
		code         int
		text         string
	}{
		{certs.FailureUnknown, "unknown", "Unknown error", 0, ""},
		{certs.FailureNone, "none", "OK", 0, "ok"},
		{certs.FailureUnknownIssuer, "unknown-issuer", "Untrusted certificate", 20, "unable to get local issuer certificate"},
		{certs.FailureExpired, "expired", "Certificate expired", 10, "certificate has expired"},
		{certs.FailureNotYetValid, "not-yet-valid", "Certificate not yet valid", 9, "certificate is not yet valid"},
		{certs.FailureHostnameMismatch, "hostname-mismatch", "Server name mismatch", 62, "hostname mismatch"},
		{certs.FailureMissingServerAuthEKU, "missing-server-auth-eku", "Not a server certificate", 26, "unsupported certificate purpose"},
		{certs.FailureProtocolVersion, "protocol-version", "TLS version not supported", 0, ""},
		{certs.FailureHandshake, "handshake", "TLS handshake failed", 0, ""},
		{certs.Failure(99), "Failure(99)", "Unknown error", 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.f.String(); got != tc.name {
				t.Errorf("String = %q", got)
			}
			if got := tc.f.Reason(); got != tc.reason {
				t.Errorf("Reason = %q", got)
			}
			if got := tc.f.OpenSSLCode(); got != tc.code {
				t.Errorf("OpenSSLCode = %d", got)
			}
			if got := tc.f.OpenSSLText(); got != tc.text {
				t.Errorf("OpenSSLText = %q", got)
			}
			if tc.f == certs.Failure(99) {
				return
			}
			var back certs.Failure
			text, _ := tc.f.MarshalText()
			if err := back.UnmarshalText(text); err != nil || back != tc.f {
				t.Errorf("round trip %q = %v, %v", text, back, err)
			}
		})
	}
	if _, err := certs.ParseFailure("nope"); err == nil {
		t.Error("ParseFailure accepted an unknown name")
	}
}
