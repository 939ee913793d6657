package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
)

// Failure is why a TLS connection failed, in the terms a phone reports:
// a reason on screen and an OpenSSL verify code in syslog.
type Failure int

// Failures. The zero value is FailureUnknown: not yet classified.
const (
	FailureUnknown Failure = iota
	// FailureNone: the handshake succeeded.
	FailureNone
	// FailureUnknownIssuer: the chain does not lead to a trusted root
	// (seed 002: the phone lacks the new root).
	FailureUnknownIssuer
	// FailureExpired: a certificate's NotAfter has passed.
	FailureExpired
	// FailureNotYetValid: a certificate's NotBefore is in the future.
	FailureNotYetValid
	// FailureHostnameMismatch: the certificate does not name the server.
	FailureHostnameMismatch
	// FailureMissingServerAuthEKU: the certificate is not for TLS servers.
	FailureMissingServerAuthEKU
	// FailureProtocolVersion: client and server share no TLS version
	// (seed 002: a TLS 1.0-only phone against a TLS 1.2 service).
	FailureProtocolVersion
	// FailureHandshake: any other handshake or connection failure.
	FailureHandshake
)

// failureInfo is the data behind each Failure's methods, kept in one
// place rather than in a switch per method.
type failureInfo struct {
	name     string
	reason   string
	code     int    // OpenSSL X509_V_ERR_*; 0 when not a verify error
	codeText string // OpenSSL X509_verify_cert_error_string
}

// failureCount bounds the defined Failures, for ParseFailure.
const failureCount = FailureHandshake + 1

func (f Failure) info() (failureInfo, bool) {
	switch f {
	case FailureUnknown:
		return failureInfo{"unknown", "Unknown error", 0, ""}, true
	case FailureNone:
		return failureInfo{"none", "OK", 0, "ok"}, true
	case FailureUnknownIssuer:
		return failureInfo{"unknown-issuer", "Untrusted certificate", 20, "unable to get local issuer certificate"}, true
	case FailureExpired:
		return failureInfo{"expired", "Certificate expired", 10, "certificate has expired"}, true
	case FailureNotYetValid:
		return failureInfo{"not-yet-valid", "Certificate not yet valid", 9, "certificate is not yet valid"}, true
	case FailureHostnameMismatch:
		return failureInfo{"hostname-mismatch", "Server name mismatch", 62, "hostname mismatch"}, true
	case FailureMissingServerAuthEKU:
		return failureInfo{"missing-server-auth-eku", "Not a server certificate", 26, "unsupported certificate purpose"}, true
	case FailureProtocolVersion:
		return failureInfo{"protocol-version", "TLS version not supported", 0, ""}, true
	case FailureHandshake:
		return failureInfo{"handshake", "TLS handshake failed", 0, ""}, true
	}
	info, _ := FailureUnknown.info()
	return info, false
}

// String is the failure's stable name, as used in scenario files.
func (f Failure) String() string {
	info, ok := f.info()
	if !ok {
		return fmt.Sprintf("Failure(%d)", int(f))
	}
	return info.name
}

// Reason is a short human reason for the phone's screen.
func (f Failure) Reason() string {
	info, _ := f.info()
	return info.reason
}

// OpenSSLCode is the OpenSSL X509_V_ERR number a Linux-based phone logs
// (AudioCodes: "ctx->error=20"). It is 0 (X509_V_OK) for FailureNone and
// for failures that are not certificate verification errors.
func (f Failure) OpenSSLCode() int {
	info, _ := f.info()
	return info.code
}

// OpenSSLText is OpenSSL's text for OpenSSLCode ("unable to get local
// issuer certificate"), or "" for failures that are not certificate
// verification errors.
func (f Failure) OpenSSLText() string {
	info, _ := f.info()
	return info.codeText
}

// IsVerify reports whether f is a certificate verification failure, the
// kind a phone logs with an OpenSSL verify code.
func (f Failure) IsVerify() bool { return f.OpenSSLCode() != 0 }

// MarshalText lets a Failure appear by name in YAML or JSON.
func (f Failure) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText parses a name produced by String.
func (f *Failure) UnmarshalText(text []byte) error {
	p, err := ParseFailure(string(text))
	if err != nil {
		return err
	}
	*f = p
	return nil
}

// ParseFailure returns the Failure whose String is s.
func ParseFailure(s string) (Failure, error) {
	for f := range failureCount {
		if info, _ := f.info(); info.name == s {
			return f, nil
		}
	}
	return FailureUnknown, fmt.Errorf("certs: unknown failure %q", s)
}

// TLS alert numbers (RFC 8446 section 6) that say which side rejected what.
const (
	alertCertificateExpired = 45
	alertUnknownCA          = 48
	alertProtocolVersion    = 70
)

// Classify explains a TLS error, from either side of a handshake: nil is
// FailureNone; certificate verification errors map by their x509 type;
// version mismatches are recognised both from alerts (protocol_version)
// and from the local errors crypto/tls returns before it can send one.
// Anything else non-nil is FailureHandshake.
func Classify(err error) Failure {
	if err == nil {
		return FailureNone
	}
	if _, ok := errors.AsType[x509.HostnameError](err); ok {
		return FailureHostnameMismatch
	}
	if _, ok := errors.AsType[x509.UnknownAuthorityError](err); ok {
		return FailureUnknownIssuer
	}
	if _, ok := errors.AsType[x509.SystemRootsError](err); ok {
		return FailureUnknownIssuer
	}
	if inv, ok := errors.AsType[x509.CertificateInvalidError](err); ok {
		switch inv.Reason {
		case x509.Expired:
			// x509 uses one reason for both ends of the validity window;
			// only the detail tells them apart.
			if strings.Contains(inv.Detail, " is before ") {
				return FailureNotYetValid
			}
			return FailureExpired
		case x509.IncompatibleUsage, x509.CANotAuthorizedForExtKeyUsage:
			return FailureMissingServerAuthEKU
		default:
			return FailureHandshake
		}
	}
	if a, ok := alertOf(err); ok {
		switch a {
		case alertProtocolVersion:
			return FailureProtocolVersion
		case alertUnknownCA:
			return FailureUnknownIssuer
		case alertCertificateExpired:
			return FailureExpired
		}
	}
	msg := err.Error()
	for _, s := range []string{
		"server selected unsupported protocol version", // client: server picked a version outside our range
		"client offered only unsupported versions",     // server: client's range misses ours
		"protocol version not supported",               // alert 70 text
	} {
		if strings.Contains(msg, s) {
			return FailureProtocolVersion
		}
	}
	return FailureHandshake
}

// alertOf finds a TLS alert in err. QUIC connections return
// tls.AlertError; TCP connections return a *net.OpError whose Err is
// crypto/tls's unexported alert type (a uint8), for alerts received
// ("remote error") and sent ("local error").
func alertOf(err error) (uint8, bool) {
	if a, ok := errors.AsType[tls.AlertError](err); ok {
		return uint8(a), true
	}
	op, ok := errors.AsType[*net.OpError](err)
	if !ok || op.Err == nil || (op.Op != "remote error" && op.Op != "local error") {
		return 0, false
	}
	v := reflect.ValueOf(op.Err)
	if v.Kind() != reflect.Uint8 || v.Type().PkgPath() != "crypto/tls" {
		return 0, false
	}
	return uint8(v.Uint()), true
}
