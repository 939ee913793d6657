package certs

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"github.com/deskphone/deskphone/internal/atomicfile"
	"math/big"
	"net"
	"os"
	"time"
)

// DefaultCRLURL is the CRL distribution point put into server certificates
// when ServerOptions.CRLURL is empty. Seed 004: phones expect one.
const DefaultCRLURL = "http://127.0.0.1/crl/deskphone-lab.crl"

const (
	labOrganization = "Deskphone Lab"
	rootValidity    = 20 * 365 * 24 * time.Hour
	leafValidity    = 365 * 24 * time.Hour
	backdate        = time.Hour // tolerate clock skew between lab hosts
)

// CA is a certificate authority that can sign: a root or an intermediate.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	// Chain holds the intermediates above Cert, nearest first, without the
	// root. It is empty for a root. Issued leaves carry Cert and Chain so
	// peers that only know the root can build the path.
	Chain []*x509.Certificate
}

// Leaf is an end-entity certificate with its key and the intermediates
// a server must send along with it.
type Leaf struct {
	Cert  *x509.Certificate
	Key   crypto.Signer
	Chain []*x509.Certificate // intermediates, nearest first, root excluded
}

// ServerOptions are the knobs of one IssueServer call.
type ServerOptions struct {
	DNSNames []string
	IPs      []net.IP

	// Now anchors the default validity; zero means time.Now(). Tests set it
	// to be deterministic.
	Now time.Time
	// NotBefore and NotAfter default to Now-1h and Now+1y. Set them to
	// make expired or not-yet-valid certificates.
	NotBefore, NotAfter time.Time

	// OmitServerAuthEKU issues a certificate whose extended key usage is
	// clientAuth only. (A certificate with no EKU at all is valid for any
	// purpose, so leaving the extension out would not reproduce the fault.)
	OmitServerAuthEKU bool

	// CRLURL is the CRL distribution point; empty means DefaultCRLURL.
	CRLURL string
	// OmitCRL leaves the CRL distribution point out entirely.
	OmitCRL bool
}

// NewRootCA makes a fresh self-signed ECDSA P-256 root valid from now-1h
// for 20 years. A zero now means time.Now().
func NewRootCA(cn string, now time.Time) (*CA, error) {
	if now.IsZero() {
		now = time.Now()
	}
	key, err := newKey()
	if err != nil {
		return nil, fmt.Errorf("new root %q: %w", cn, err)
	}
	tmpl, err := caTemplate(cn, now.Add(-backdate), now.Add(rootValidity))
	if err != nil {
		return nil, fmt.Errorf("new root %q: %w", cn, err)
	}
	cert, err := sign(tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("new root %q: %w", cn, err)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// NewIntermediate issues an intermediate CA under ca with the same
// validity as ca: an intermediate never outlives its issuer, and taking the
// window from the parent keeps lab chains valid at whatever time the
// caller's clock says, without reading the wall clock here.
func (ca *CA) NewIntermediate(cn string) (*CA, error) {
	key, err := newKey()
	if err != nil {
		return nil, fmt.Errorf("new intermediate %q: %w", cn, err)
	}
	tmpl, err := caTemplate(cn, ca.Cert.NotBefore, ca.Cert.NotAfter)
	if err != nil {
		return nil, fmt.Errorf("new intermediate %q: %w", cn, err)
	}
	cert, err := sign(tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, fmt.Errorf("new intermediate %q: %w", cn, err)
	}
	return &CA{Cert: cert, Key: key, Chain: ca.issuedChain()}, nil
}

// IssueServer issues a TLS server certificate: server-auth EKU, the given
// SANs, a CRL distribution point. Common name is the first DNS name or IP.
func (ca *CA) IssueServer(opts ServerOptions) (*Leaf, error) {
	var cn string
	switch {
	case len(opts.DNSNames) > 0:
		cn = opts.DNSNames[0]
	case len(opts.IPs) > 0:
		cn = opts.IPs[0].String()
	default:
		return nil, fmt.Errorf("issue server: %w", ErrNoNames)
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	notBefore, notAfter := opts.NotBefore, opts.NotAfter
	if notBefore.IsZero() {
		notBefore = now.Add(-backdate)
	}
	if notAfter.IsZero() {
		notAfter = now.Add(leafValidity)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, fmt.Errorf("issue server %q: %w", cn, err)
	}
	eku := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	if opts.OmitServerAuthEKU {
		eku = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{labOrganization}},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  eku,
		DNSNames:     append([]string(nil), opts.DNSNames...),
		IPAddresses:  append([]net.IP(nil), opts.IPs...),

		BasicConstraintsValid: true,
	}
	if !opts.OmitCRL {
		crl := opts.CRLURL
		if crl == "" {
			crl = DefaultCRLURL
		}
		tmpl.CRLDistributionPoints = []string{crl}
	}
	key, err := newKey()
	if err != nil {
		return nil, fmt.Errorf("issue server %q: %w", cn, err)
	}
	cert, err := sign(tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, fmt.Errorf("issue server %q: %w", cn, err)
	}
	return &Leaf{Cert: cert, Key: key, Chain: ca.issuedChain()}, nil
}

// WritePEM writes the CA certificate followed by its chain to certFile and
// its private key (PKCS#8, mode 0600) to keyFile, atomically.
func (ca *CA) WritePEM(certFile, keyFile string) error {
	return writePair(certFile, keyFile, append([]*x509.Certificate{ca.Cert}, ca.Chain...), ca.Key)
}

// TLSCertificate returns the leaf with its intermediates, ready for
// tls.Config.Certificates.
func (l *Leaf) TLSCertificate() tls.Certificate {
	raw := make([][]byte, 0, 1+len(l.Chain))
	raw = append(raw, l.Cert.Raw)
	for _, c := range l.Chain {
		raw = append(raw, c.Raw)
	}
	return tls.Certificate{Certificate: raw, PrivateKey: l.Key, Leaf: l.Cert}
}

// WritePEM writes the leaf followed by its chain to certFile and the
// private key (PKCS#8, mode 0600) to keyFile, atomically. The pair loads
// with tls.LoadX509KeyPair.
func (l *Leaf) WritePEM(certFile, keyFile string) error {
	return writePair(certFile, keyFile, append([]*x509.Certificate{l.Cert}, l.Chain...), l.Key)
}

// Fingerprint is the lower-case hex SHA-256 of the certificate's DER, the
// name a Store files it under.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}

// issuedChain is the chain a certificate signed by ca must carry.
func (ca *CA) issuedChain() []*x509.Certificate {
	if isSelfSigned(ca.Cert) {
		return nil
	}
	return append([]*x509.Certificate{ca.Cert}, ca.Chain...)
}

func isSelfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawSubject, c.RawIssuer) && c.CheckSignatureFrom(c) == nil
}

func caTemplate(cn string, notBefore, notAfter time.Time) (*x509.Certificate, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{labOrganization}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, nil
}

func sign(tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse signed certificate: %w", err)
	}
	return cert, nil
}

func newKey() (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return key, nil
}

// newSerial returns a random positive 127-bit serial, as RFC 5280 asks
// for unpredictable serials of at most 20 octets.
func newSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("serial: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

// encodeCerts is the PEM bundle of certs, in order.
func encodeCerts(certs ...*x509.Certificate) []byte {
	var buf bytes.Buffer
	for _, c := range certs {
		// pem.Encode into a bytes.Buffer cannot fail.
		_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return buf.Bytes()
}

func encodeKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func writePair(certFile, keyFile string, chain []*x509.Certificate, key crypto.Signer) error {
	keyPEM, err := encodeKey(key)
	if err != nil {
		return fmt.Errorf("write %s: %w", keyFile, err)
	}
	if err := atomicfile.Write(keyFile, keyPEM, 0o600); err != nil {
		return err
	}
	return atomicfile.Write(certFile, encodeCerts(chain...), 0o644)
}

// parseCA reads a CA from a PEM certificate (followed by its chain) and a
// PEM private key, checking that they belong together.
func parseCA(certPEM, keyPEM []byte) (*CA, error) {
	chain, key, err := parsePair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	if !chain[0].IsCA {
		return nil, fmt.Errorf("%s: %w", subjectName(chain[0]), ErrNotCA)
	}
	return &CA{Cert: chain[0], Key: key, Chain: chain[1:]}, nil
}

func parseLeaf(certPEM, keyPEM []byte) (*Leaf, error) {
	chain, key, err := parsePair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	return &Leaf{Cert: chain[0], Key: key, Chain: chain[1:]}, nil
}

func parsePair(certPEM, keyPEM []byte) ([]*x509.Certificate, crypto.Signer, error) {
	chain, err := parsePEMCerts(certPEM)
	if err != nil {
		return nil, nil, err
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, nil, err
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(chain[0].PublicKey) {
		return nil, nil, ErrKeyMismatch
	}
	return chain, key, nil
}

// parsePEMCerts returns every CERTIFICATE block in data, in order.
func parsePEMCerts(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: %w: %w", len(out)+1, ErrNotCertificate, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no CERTIFICATE block: %w", ErrNotCertificate)
	}
	return out, nil
}

func parseKey(data []byte) (crypto.Signer, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, fmt.Errorf("no private key PEM block")
		}
		var (
			key any
			err error
		)
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", block.Type, err)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("private key of type %T cannot sign", key)
		}
		return signer, nil
	}
}

func loadCA(certFile, keyFile string) (*CA, error) {
	certPEM, keyPEM, err := readPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	ca, err := parseCA(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", certFile, err)
	}
	return ca, nil
}

func loadLeaf(certFile, keyFile string) (*Leaf, error) {
	certPEM, keyPEM, err := readPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	leaf, err := parseLeaf(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", certFile, err)
	}
	return leaf, nil
}

func readPair(certFile, keyFile string) ([]byte, []byte, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, fmt.Errorf("read certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("read key: %w", err)
	}
	return certPEM, keyPEM, nil
}

// subjectName is what a person calls a certificate: its CN, or the whole
// subject when there is no CN.
func subjectName(c *x509.Certificate) string {
	if c.Subject.CommonName != "" {
		return c.Subject.CommonName
	}
	return c.Subject.String()
}
