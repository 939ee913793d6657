package backend

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/deskphone/deskphone/certs"
	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/internal/atomicfile"
	"github.com/deskphone/deskphone/internal/labdir"
)

// Files under StateDir/pki:
//
//	current-root                  id of the factory root in use (RotateCertificate)
//	<root>/intermediate.pem, .key issuing CA under that factory root
//	<root>/server.pem, .key       server certificate followed by the intermediate
//
// Each root's chain is created on first use and reused afterwards, so a
// phone that imported the intermediate or pinned the leaf keeps working
// across restarts.
const (
	pkiDir           = "pki"
	currentRootFile  = "current-root"
	intermediateCert = "intermediate.pem"
	intermediateKey  = "intermediate.key"
	serverCertFile   = "server.pem"
	serverKeyFile    = "server.key"
)

// pki owns the server certificate that the TLS listener hands out.
type pki struct {
	dir    string
	names  []string // DNS SANs
	ips    []net.IP // IP SANs
	clock  clock.Clock
	lab    *labdir.Dir // whose factory roots issue the chains
	mu     sync.Mutex
	root   string
	cert   *tls.Certificate
	reload sync.Mutex // serialises RotateCertificate
}

func newPKI(stateDir, domain, root string, lab *labdir.Dir, clk clock.Clock) (*pki, error) {
	p := &pki{
		lab:   lab,
		dir:   filepath.Join(stateDir, pkiDir),
		names: []string{DefaultServerName, "127.0.0.1"},
		ips:   []net.IP{net.IPv4(127, 0, 0, 1)},
		clock: clk,
	}
	if domain != DefaultServerName {
		p.names = append(p.names, domain)
	}
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	if root == "" {
		root = DefaultServerRoot
		data, err := os.ReadFile(filepath.Join(p.dir, currentRootFile))
		switch {
		case err == nil:
			root = strings.TrimSpace(string(data))
		case !errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("pki: %w", err)
		}
	}
	if err := p.use(root); err != nil {
		return nil, err
	}
	return p, nil
}

// current is the tls.Config.GetCertificate hook: every new handshake gets
// the certificate in use at that moment.
func (p *pki) current(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cert, nil
}

func (p *pki) currentRoot() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.root
}

// use switches to root's chain, creating it if needed, and records the
// choice.
func (p *pki) use(root string) error {
	p.reload.Lock()
	defer p.reload.Unlock()
	cert, err := p.chain(root)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(p.dir, currentRootFile), []byte(root+"\n"), 0o644); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	p.mu.Lock()
	p.root, p.cert = root, cert
	p.mu.Unlock()
	return nil
}

// chain loads root's server chain from disk, or issues it: a fresh
// intermediate under the factory root and a server certificate from it.
// A stored chain that no longer verifies (expired on our clock, issued for
// other names, damaged) is replaced.
func (p *pki) chain(root string) (*tls.Certificate, error) {
	factory, err := certs.FactoryCAIn(p.lab, root)
	if errors.Is(err, certs.ErrUnknownFactoryRoot) {
		return nil, fmt.Errorf("%w: %q", ErrUnknownRoot, root)
	}
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	dir := filepath.Join(p.dir, root)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	if cert, err := tls.LoadX509KeyPair(filepath.Join(dir, serverCertFile), filepath.Join(dir, serverKeyFile)); err == nil {
		if p.usable(&cert, factory.Cert) == nil {
			return &cert, nil
		}
	}
	inter, err := p.intermediate(dir, factory)
	if err != nil {
		return nil, err
	}
	leaf, err := inter.IssueServer(certs.ServerOptions{DNSNames: p.names, IPs: p.ips, Now: p.clock.Now()})
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	if err := leaf.WritePEM(filepath.Join(dir, serverCertFile), filepath.Join(dir, serverKeyFile)); err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	cert := leaf.TLSCertificate()
	return &cert, nil
}

// usable verifies a stored chain against its factory root, at our clock's
// time, for every name we serve.
func (p *pki) usable(cert *tls.Certificate, root *x509.Certificate) error {
	if cert.Leaf == nil || len(cert.Certificate) < 2 {
		return errors.New("no chain")
	}
	inters := x509.NewCertPool()
	for _, der := range cert.Certificate[1:] {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return err
		}
		inters.AddCert(c)
	}
	roots := x509.NewCertPool()
	roots.AddCert(root)
	for _, name := range p.names {
		_, err := cert.Leaf.Verify(x509.VerifyOptions{
			DNSName:       name,
			Roots:         roots,
			Intermediates: inters,
			CurrentTime:   p.clock.Now(),
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// intermediate loads dir's issuing CA or creates one under factory.
func (p *pki) intermediate(dir string, factory *certs.CA) (*certs.CA, error) {
	certFile, keyFile := filepath.Join(dir, intermediateCert), filepath.Join(dir, intermediateKey)
	if pair, err := tls.LoadX509KeyPair(certFile, keyFile); err == nil {
		key, ok := pair.PrivateKey.(crypto.Signer)
		if ok && pair.Leaf != nil && pair.Leaf.IsCA && pair.Leaf.CheckSignatureFrom(factory.Cert) == nil {
			return &certs.CA{Cert: pair.Leaf, Key: key}, nil
		}
	}
	inter, err := factory.NewIntermediate("Deskphone Lab Issuing CA (" + filepath.Base(dir) + ")")
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	if err := inter.WritePEM(certFile, keyFile); err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	return inter, nil
}
