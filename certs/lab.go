package certs

import (
	"crypto/x509"
	"fmt"
	"github.com/deskphone/deskphone/internal/atomicfile"
	"github.com/deskphone/deskphone/internal/labdir"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Files GenerateLab writes and LoadLab reads, all in one directory:
//
//	old-root.pem, old-root.key                   the "old" root (lab-2019 or fresh)
//	new-root.pem, new-root.key                   the "new" root (lab-2022 or fresh)
//	intermediate-old.pem, intermediate-old.key   issuing CA under the old root
//	intermediate-new.pem, intermediate-new.key   issuing CA under the new root
//	server-old.pem, server-old.key               server cert + intermediate, old chain
//	server-new.pem, server-new.key               server cert + intermediate, new chain
//	ca-bundle.pem                                both roots, for clients and for import
//
// Server .pem files hold the leaf followed by its intermediate, so they load
// with tls.LoadX509KeyPair or any server that takes a "fullchain" file. Keys
// are PKCS#8 PEM with mode 0600. Server certificates name every host in
// LabOptions.Hosts, carry the server-auth EKU and a CRL distribution point
// (DefaultCRLURL): what a phone checks (seed 004). To reproduce seed 002,
// serve server-new.pem to a phone that trusts only the old root.
const (
	LabOldRootCert         = "old-root.pem"
	LabOldRootKey          = "old-root.key"
	LabNewRootCert         = "new-root.pem"
	LabNewRootKey          = "new-root.key"
	LabOldIntermediateCert = "intermediate-old.pem"
	LabOldIntermediateKey  = "intermediate-old.key"
	LabNewIntermediateCert = "intermediate-new.pem"
	LabNewIntermediateKey  = "intermediate-new.key"
	LabOldServerCert       = "server-old.pem"
	LabOldServerKey        = "server-old.key"
	LabNewServerCert       = "server-new.pem"
	LabNewServerKey        = "server-new.key"
	LabCABundle            = "ca-bundle.pem"
)

// LabOptions are the knobs of GenerateLab.
type LabOptions struct {
	// Hosts are DNS names and IP addresses the server certificates name;
	// default "localhost" and "127.0.0.1". Each IP is also added as a DNS
	// SAN because some peers ignore IP SANs.
	Hosts []string
	// UseFactoryRoots issues from the installation's lab-2019 (old) and
	// lab-2022 (new) roots instead of fresh random ones, so emulated
	// firmware of this installation trusts the result out of the box.
	UseFactoryRoots bool
	// FactoryLab is the lab directory whose factory roots UseFactoryRoots
	// takes; nil: the default (labdir.Default).
	FactoryLab *labdir.Dir
	// Now anchors validity; zero means time.Now().
	Now time.Time
}

// Lab is a two-root lab PKI: an old and a new chain, as when a cloud
// service moves to a new issuer.
type Lab struct {
	Dir                              string
	OldRoot, NewRoot                 *CA
	OldIntermediate, NewIntermediate *CA
	OldServer, NewServer             *Leaf
}

// GenerateLab creates the lab PKI and writes it into dir (created if
// missing); see LabOldRootCert for the files. Every write is atomic.
func GenerateLab(dir string, opts LabOptions) (*Lab, error) {
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	hosts := opts.Hosts
	if len(hosts) == 0 {
		hosts = []string{"localhost", "127.0.0.1"}
	}
	server := ServerOptions{Now: now}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			server.IPs = append(server.IPs, ip)
		}
		server.DNSNames = append(server.DNSNames, h)
	}

	lab := &Lab{Dir: dir}
	var err error
	if opts.UseFactoryRoots {
		if lab.OldRoot, err = FactoryCAIn(opts.FactoryLab, FactoryRoot2019); err != nil {
			return nil, fmt.Errorf("generate lab: %w", err)
		}
		if lab.NewRoot, err = FactoryCAIn(opts.FactoryLab, FactoryRoot2022); err != nil {
			return nil, fmt.Errorf("generate lab: %w", err)
		}
	} else {
		if lab.OldRoot, err = NewRootCA("Deskphone Lab Root CA Old", now); err != nil {
			return nil, fmt.Errorf("generate lab: %w", err)
		}
		if lab.NewRoot, err = NewRootCA("Deskphone Lab Root CA New", now); err != nil {
			return nil, fmt.Errorf("generate lab: %w", err)
		}
	}
	if lab.OldIntermediate, err = lab.OldRoot.NewIntermediate("Deskphone Lab Issuing CA Old"); err != nil {
		return nil, fmt.Errorf("generate lab: %w", err)
	}
	if lab.NewIntermediate, err = lab.NewRoot.NewIntermediate("Deskphone Lab Issuing CA New"); err != nil {
		return nil, fmt.Errorf("generate lab: %w", err)
	}
	if lab.OldServer, err = lab.OldIntermediate.IssueServer(server); err != nil {
		return nil, fmt.Errorf("generate lab: %w", err)
	}
	if lab.NewServer, err = lab.NewIntermediate.IssueServer(server); err != nil {
		return nil, fmt.Errorf("generate lab: %w", err)
	}

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("generate lab: %w", err)
	}
	if err := lab.write(); err != nil {
		return nil, fmt.Errorf("generate lab: %w", err)
	}
	return lab, nil
}

func (l *Lab) write() error {
	p := l.Path
	type pair struct {
		cert, key string
		write     func(cert, key string) error
	}
	for _, w := range []pair{
		{LabOldRootCert, LabOldRootKey, l.OldRoot.WritePEM},
		{LabNewRootCert, LabNewRootKey, l.NewRoot.WritePEM},
		{LabOldIntermediateCert, LabOldIntermediateKey, l.OldIntermediate.WritePEM},
		{LabNewIntermediateCert, LabNewIntermediateKey, l.NewIntermediate.WritePEM},
		{LabOldServerCert, LabOldServerKey, l.OldServer.WritePEM},
		{LabNewServerCert, LabNewServerKey, l.NewServer.WritePEM},
	} {
		if err := w.write(p(w.cert), p(w.key)); err != nil {
			return err
		}
	}
	return atomicfile.Write(p(LabCABundle), l.Bundle(), 0o644)
}

// LoadLab reads a lab PKI written by GenerateLab, checking each key
// against its certificate.
func LoadLab(dir string) (*Lab, error) {
	lab := &Lab{Dir: dir}
	p := lab.Path
	var err error
	for _, c := range []struct {
		ca        **CA
		cert, key string
	}{
		{&lab.OldRoot, LabOldRootCert, LabOldRootKey},
		{&lab.NewRoot, LabNewRootCert, LabNewRootKey},
		{&lab.OldIntermediate, LabOldIntermediateCert, LabOldIntermediateKey},
		{&lab.NewIntermediate, LabNewIntermediateCert, LabNewIntermediateKey},
	} {
		if *c.ca, err = loadCA(p(c.cert), p(c.key)); err != nil {
			return nil, fmt.Errorf("load lab %s: %w", dir, err)
		}
	}
	if lab.OldServer, err = loadLeaf(p(LabOldServerCert), p(LabOldServerKey)); err != nil {
		return nil, fmt.Errorf("load lab %s: %w", dir, err)
	}
	if lab.NewServer, err = loadLeaf(p(LabNewServerCert), p(LabNewServerKey)); err != nil {
		return nil, fmt.Errorf("load lab %s: %w", dir, err)
	}
	return lab, nil
}

// Path joins a lab file name (LabOldRootCert, ...) to the lab directory.
func (l *Lab) Path(name string) string { return filepath.Join(l.Dir, name) }

// Bundle is the PEM of both roots, old first: the contents of ca-bundle.pem.
func (l *Lab) Bundle() []byte { return encodeCerts(l.OldRoot.Cert, l.NewRoot.Cert) }

// Roots is a pool of both roots, for clients that should trust either
// chain (the mock backend's own health checks, say).
func (l *Lab) Roots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(l.OldRoot.Cert)
	pool.AddCert(l.NewRoot.Cert)
	return pool
}
