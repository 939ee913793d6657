package certs

import "errors"

// Sentinel errors. Functions wrap them with context; test with errors.Is.
var (
	// ErrNotCertificate means the input holds no parsable X.509 certificate
	// (neither PEM CERTIFICATE blocks nor DER).
	ErrNotCertificate = errors.New("certs: not a certificate")

	// ErrNotCA means a certificate is not a CA (BasicConstraints CA:FALSE
	// or absent), so it cannot be a trust anchor.
	ErrNotCA = errors.New("certs: not a CA certificate")

	// ErrTooLarge means the input to Import exceeds MaxImportSize.
	ErrTooLarge = errors.New("certs: input too large")

	// ErrFactoryRoot means the operation would change a root that ships
	// with the firmware; those cannot be removed.
	ErrFactoryRoot = errors.New("certs: factory root cannot be removed")

	// ErrNotFound means no stored certificate matches a fingerprint.
	ErrNotFound = errors.New("certs: certificate not found")

	// ErrAmbiguous means a fingerprint prefix matches more than one
	// certificate.
	ErrAmbiguous = errors.New("certs: ambiguous fingerprint prefix")

	// ErrUnknownFactoryRoot means a factory root id is not embedded in
	// this binary.
	ErrUnknownFactoryRoot = errors.New("certs: unknown factory root")

	// ErrCorrupt means a stored file could not be read back as what it
	// should hold; Reload skips such files and reports them.
	ErrCorrupt = errors.New("certs: corrupt stored certificate")

	// ErrKeyMismatch means a private key does not belong to the
	// certificate it was loaded with.
	ErrKeyMismatch = errors.New("certs: private key does not match certificate")

	// ErrNoNames means a server certificate was requested without any DNS
	// name or IP address to put in it.
	ErrNoNames = errors.New("certs: server certificate needs at least one name")
)
