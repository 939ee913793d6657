package certs_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/deskphone/deskphone/certs"
)

func TestFactoryRoots(t *testing.T) {
	if got, want := certs.FactoryRootIDs(), []string{"lab-2019", "lab-2022"}; !slices.Equal(got, want) {
		t.Fatalf("FactoryRootIDs = %v, want %v", got, want)
	}
	for _, tc := range []struct{ id, cn string }{
		{certs.FactoryRoot2019, "Deskphone Lab Root CA 2019"},
		{certs.FactoryRoot2022, "Deskphone Lab Root CA 2022"},
	} {
		t.Run(tc.id, func(t *testing.T) {
			root, err := certs.FactoryRoot(tc.id)
			if err != nil {
				t.Fatal(err)
			}
			if root.Subject.CommonName != tc.cn {
				t.Errorf("CN = %q, want %q", root.Subject.CommonName, tc.cn)
			}
			if !root.IsCA || root.CheckSignatureFrom(root) != nil {
				t.Error("not a self-signed CA")
			}
			if root.NotBefore.Year() != 2015 || root.NotAfter.Year() != 2055 {
				t.Errorf("validity %v .. %v, want 2015 .. 2055", root.NotBefore, root.NotAfter)
			}
			ca := mustFactoryCA(t, tc.id)
			if !ca.Cert.Equal(root) {
				t.Error("FactoryCA certificate differs from FactoryRoot")
			}
			leaf := mustIssue(t, ca, certs.ServerOptions{DNSNames: []string{"sip.lab.test"}})
			if err := leaf.Cert.CheckSignatureFrom(root); err != nil {
				t.Errorf("leaf not signed by factory key: %v", err)
			}
		})
	}
	for _, id := range []string{"", "lab-2030", "../factory/lab-2019", "."} {
		if _, err := certs.FactoryRoot(id); !errors.Is(err, certs.ErrUnknownFactoryRoot) {
			t.Errorf("FactoryRoot(%q) error = %v, want ErrUnknownFactoryRoot", id, err)
		}
		if _, err := certs.FactoryCA(id); !errors.Is(err, certs.ErrUnknownFactoryRoot) {
			t.Errorf("FactoryCA(%q) error = %v, want ErrUnknownFactoryRoot", id, err)
		}
	}
}

func TestIssueServer(t *testing.T) {
	root := mustRoot(t, "Test Root")
	inter, err := root.NewIntermediate("Test Issuing")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		opts     certs.ServerOptions
		wantCN   string
		wantEKU  x509.ExtKeyUsage
		wantCRL  []string
		notAfter time.Time
	}{
		{
			name:     "defaults",
			opts:     certs.ServerOptions{DNSNames: []string{"sip.lab.test"}},
			wantCN:   "sip.lab.test",
			wantEKU:  x509.ExtKeyUsageServerAuth,
			wantCRL:  []string{certs.DefaultCRLURL},
			notAfter: testNow().Add(365 * 24 * time.Hour),
		},
		{
			name:     "ip only, custom CRL, explicit validity",
			opts:     certs.ServerOptions{IPs: []net.IP{net.ParseIP("10.1.2.3")}, CRLURL: "http://crl.lab.test/x.crl", NotAfter: testNow().Add(time.Hour)},
			wantCN:   "10.1.2.3",
			wantEKU:  x509.ExtKeyUsageServerAuth,
			wantCRL:  []string{"http://crl.lab.test/x.crl"},
			notAfter: testNow().Add(time.Hour),
		},
		{
			name:     "no server auth, no CRL",
			opts:     certs.ServerOptions{DNSNames: []string{"a.test"}, OmitServerAuthEKU: true, OmitCRL: true},
			wantCN:   "a.test",
			wantEKU:  x509.ExtKeyUsageClientAuth,
			notAfter: testNow().Add(365 * 24 * time.Hour),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			leaf := mustIssue(t, inter, tc.opts)
			c := leaf.Cert
			if c.Subject.CommonName != tc.wantCN {
				t.Errorf("CN = %q, want %q", c.Subject.CommonName, tc.wantCN)
			}
			if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{tc.wantEKU}) {
				t.Errorf("EKU = %v, want [%v]", c.ExtKeyUsage, tc.wantEKU)
			}
			if !slices.Equal(c.CRLDistributionPoints, tc.wantCRL) {
				t.Errorf("CRL DP = %v, want %v", c.CRLDistributionPoints, tc.wantCRL)
			}
			if !c.NotBefore.Equal(testNow().Add(-time.Hour)) || !c.NotAfter.Equal(tc.notAfter) {
				t.Errorf("validity %v .. %v", c.NotBefore, c.NotAfter)
			}
			if c.IsCA {
				t.Error("leaf is a CA")
			}
			if len(leaf.Chain) != 1 || !leaf.Chain[0].Equal(inter.Cert) {
				t.Errorf("chain = %d certs, want the intermediate", len(leaf.Chain))
			}
			if got := leaf.TLSCertificate().Certificate; len(got) != 2 {
				t.Errorf("TLSCertificate has %d certs, want leaf + intermediate", len(got))
			}
		})
	}
	if _, err := root.IssueServer(certs.ServerOptions{}); !errors.Is(err, certs.ErrNoNames) {
		t.Errorf("IssueServer without names: %v, want ErrNoNames", err)
	}
	if got := mustIssue(t, root, certs.ServerOptions{DNSNames: []string{"x"}}).Chain; len(got) != 0 {
		t.Errorf("leaf from a root carries %d chain certs, want 0", len(got))
	}
}

func TestNestedIntermediateChain(t *testing.T) {
	root := mustRoot(t, "Root")
	i1, err := root.NewIntermediate("I1")
	if err != nil {
		t.Fatal(err)
	}
	i2, err := i1.NewIntermediate("I2")
	if err != nil {
		t.Fatal(err)
	}
	leaf := mustIssue(t, i2, certs.ServerOptions{DNSNames: []string{"deep.test"}})
	if len(leaf.Chain) != 2 || !leaf.Chain[0].Equal(i2.Cert) || !leaf.Chain[1].Equal(i1.Cert) {
		t.Fatalf("chain order wrong: %d certs", len(leaf.Chain))
	}
	roots := x509.NewCertPool()
	roots.AddCert(root.Cert)
	inters := x509.NewCertPool()
	for _, c := range leaf.Chain {
		inters.AddCert(c)
	}
	if _, err := leaf.Cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, DNSName: "deep.test", CurrentTime: testNow()}); err != nil {
		t.Errorf("verify: %v", err)
	}
}

func TestLeafWritePEM(t *testing.T) {
	root := mustRoot(t, "Root")
	inter, err := root.NewIntermediate("Issuing")
	if err != nil {
		t.Fatal(err)
	}
	leaf := mustIssue(t, inter, certs.ServerOptions{DNSNames: []string{"localhost"}})
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "s.pem"), filepath.Join(dir, "s.key")
	if err := leaf.WritePEM(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatalf("LoadX509KeyPair: %v", err)
	}
	if len(pair.Certificate) != 2 {
		t.Fatalf("cert file holds %d certs, want leaf + chain", len(pair.Certificate))
	}
	first, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if !first.Equal(leaf.Cert) {
		t.Error("cert file does not start with the leaf")
	}
}
