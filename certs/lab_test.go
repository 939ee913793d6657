package certs_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/deskphone/deskphone/certs"
	"github.com/deskphone/deskphone/certs/certstest"
	"github.com/deskphone/deskphone/internal/labdir"
)

func TestGenerateLab(t *testing.T) {
	tests := []struct {
		name      string
		opts      certs.LabOptions
		wantDNS   []string
		wantIPs   []string
		wantRoots [2]string // CN of old and new root
	}{
		{
			name:      "defaults",
			opts:      certs.LabOptions{Now: testNow()},
			wantDNS:   []string{"localhost", "127.0.0.1"},
			wantIPs:   []string{"127.0.0.1"},
			wantRoots: [2]string{"Deskphone Lab Root CA Old", "Deskphone Lab Root CA New"},
		},
		{
			name:      "factory roots, custom hosts",
			opts:      certs.LabOptions{Now: testNow(), UseFactoryRoots: true, Hosts: []string{"sip.lab.test", "10.0.0.5", "::1"}},
			wantDNS:   []string{"sip.lab.test", "10.0.0.5", "::1"},
			wantIPs:   []string{"10.0.0.5", "::1"},
			wantRoots: [2]string{"Deskphone Lab Root CA 2019", "Deskphone Lab Root CA 2022"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gen := certstest.Lab(t, tc.opts)
			for _, name := range []string{
				certs.LabOldRootCert, certs.LabOldRootKey, certs.LabNewRootCert, certs.LabNewRootKey,
				certs.LabOldIntermediateCert, certs.LabOldIntermediateKey,
				certs.LabNewIntermediateCert, certs.LabNewIntermediateKey,
				certs.LabOldServerCert, certs.LabOldServerKey, certs.LabNewServerCert, certs.LabNewServerKey,
				certs.LabCABundle,
			} {
				fi, err := os.Stat(gen.Path(name))
				if err != nil {
					t.Errorf("missing %s: %v", name, err)
					continue
				}
				if isKey := name[len(name)-4:] == ".key"; isKey && fi.Mode().Perm() != 0o600 {
					t.Errorf("%s mode %v, want 0600", name, fi.Mode().Perm())
				}
			}

			lab, err := certs.LoadLab(gen.Dir)
			if err != nil {
				t.Fatalf("LoadLab: %v", err)
			}
			if got := [2]string{lab.OldRoot.Cert.Subject.CommonName, lab.NewRoot.Cert.Subject.CommonName}; got != tc.wantRoots {
				t.Errorf("roots = %v, want %v", got, tc.wantRoots)
			}
			if tc.opts.UseFactoryRoots {
				f, _ := certs.FactoryRoot(certs.FactoryRoot2022)
				if !lab.NewRoot.Cert.Equal(f) {
					t.Error("new root is not the lab-2022 factory root")
				}
			}

			for _, side := range []struct {
				name        string
				server      *certs.Leaf
				root, other *certs.CA
				certFile    string
				keyFile     string
			}{
				{"old", lab.OldServer, lab.OldRoot, lab.NewRoot, certs.LabOldServerCert, certs.LabOldServerKey},
				{"new", lab.NewServer, lab.NewRoot, lab.OldRoot, certs.LabNewServerCert, certs.LabNewServerKey},
			} {
				t.Run(side.name, func(t *testing.T) {
					c := side.server.Cert
					if !slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
						t.Error("no server-auth EKU")
					}
					if !slices.Equal(c.CRLDistributionPoints, []string{certs.DefaultCRLURL}) {
						t.Errorf("CRL DP = %v", c.CRLDistributionPoints)
					}
					if !slices.Equal(c.DNSNames, tc.wantDNS) {
						t.Errorf("DNS SANs = %v, want %v", c.DNSNames, tc.wantDNS)
					}
					var ips []string
					for _, ip := range c.IPAddresses {
						ips = append(ips, ip.String())
					}
					if !slices.Equal(ips, tc.wantIPs) {
						t.Errorf("IP SANs = %v, want %v", ips, tc.wantIPs)
					}
					inters := x509.NewCertPool()
					for _, ic := range side.server.Chain {
						inters.AddCert(ic)
					}
					for _, host := range tc.wantDNS {
						opts := x509.VerifyOptions{Roots: pool(side.root.Cert), Intermediates: inters, DNSName: host, CurrentTime: testNow()}
						if _, err := c.Verify(opts); err != nil {
							t.Errorf("verify as %s against own root: %v", host, err)
						}
						opts.Roots = pool(side.other.Cert)
						if _, err := c.Verify(opts); !errors.As(err, new(x509.UnknownAuthorityError)) {
							t.Errorf("verify against the other root: %v, want UnknownAuthorityError", err)
						}
					}
					pair, err := tls.LoadX509KeyPair(lab.Path(side.certFile), lab.Path(side.keyFile))
					if err != nil {
						t.Fatalf("LoadX509KeyPair: %v", err)
					}
					if len(pair.Certificate) != 2 {
						t.Errorf("%s holds %d certs, want leaf + intermediate", side.certFile, len(pair.Certificate))
					}
				})
			}

			bundle, err := os.ReadFile(lab.Path(certs.LabCABundle))
			if err != nil {
				t.Fatal(err)
			}
			store := certstest.Store(t)
			entries, err := store.Import(bundle)
			if err != nil {
				t.Fatalf("import bundle: %v", err)
			}
			if len(entries) != 2 {
				t.Errorf("bundle imported %d roots, want 2", len(entries))
			}
		})
	}
}

func TestLabServesOverTLS(t *testing.T) {
	lab := certstest.Lab(t, certs.LabOptions{Now: testNow(), UseFactoryRoots: true})
	store := certstest.Store(t, certs.FactoryRoot2019, certs.FactoryRoot2022)
	for _, host := range []string{"localhost", "127.0.0.1"} {
		client := store.ClientConfig(host, tls.VersionTLS12, tls.VersionTLS13)
		client.Time = testNow
		cerr, serr := certstest.Handshake(t, serverConfig(lab.NewServer, tls.VersionTLS12, 0), client)
		if cerr != nil || serr != nil {
			t.Errorf("%s: client %v, server %v", host, cerr, serr)
		}
	}
}

func TestLoadLabErrors(t *testing.T) {
	lab := certstest.Lab(t, certs.LabOptions{Now: testNow()})
	key, err := os.ReadFile(lab.Path(certs.LabNewServerKey))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lab.Path(certs.LabOldServerKey), key, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := certs.LoadLab(lab.Dir); !errors.Is(err, certs.ErrKeyMismatch) {
		t.Errorf("swapped key: %v, want ErrKeyMismatch", err)
	}
	if _, err := certs.LoadLab(t.TempDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("empty dir: %v, want ErrNotExist", err)
	}
}

func pool(cs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range cs {
		p.AddCert(c)
	}
	return p
}

// Issue 19 item 3: the factory roots are the installation's, made in its
// lab directory; a cloud of another installation issues from other roots
// of the same names, and a phone refuses its certificate in the handshake.
func TestFactoryRootsArePerInstallation(t *testing.T) {
	labA, err := labdir.Open(filepath.Join(t.TempDir(), "a"))
	if err != nil {
		t.Fatal(err)
	}
	labB, err := labdir.Open(filepath.Join(t.TempDir(), "b"))
	if err != nil {
		t.Fatal(err)
	}
	cloudA, err := certs.GenerateLab(t.TempDir(), certs.LabOptions{Now: testNow(), UseFactoryRoots: true, FactoryLab: labA})
	if err != nil {
		t.Fatal(err)
	}
	server := &tls.Config{Certificates: []tls.Certificate{cloudA.OldServer.TLSCertificate()}}
	for _, tc := range []struct {
		name  string
		phone *labdir.Dir
		trust bool
	}{
		{"same installation", labA, true},
		{"other installation", labB, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store, err := certs.OpenStoreIn(tc.phone, t.TempDir(), []string{certs.FactoryRoot2019, certs.FactoryRoot2022})
			if err != nil {
				t.Fatal(err)
			}
			client := store.ClientConfig("localhost", tls.VersionTLS12, tls.VersionTLS13)
			client.Time = testNow
			clientErr, _ := certstest.Handshake(t, server, client)
			switch {
			case tc.trust && clientErr != nil:
				t.Fatalf("handshake: %v", clientErr)
			case !tc.trust && certs.Classify(clientErr) != certs.FailureUnknownIssuer:
				t.Fatalf("handshake with another installation's cloud: %v (%v), want unknown issuer", clientErr, certs.Classify(clientErr))
			}
		})
	}
	a, errA := certs.FactoryRootIn(labA, certs.FactoryRoot2019)
	b, errB := certs.FactoryRootIn(labB, certs.FactoryRoot2019)
	if errA != nil || errB != nil || a.Equal(b) {
		t.Fatalf("two installations share lab-2019 (%v, %v)", errA, errB)
	}
	if a.Subject.CommonName != "Deskphone Lab Root CA 2019" || !a.NotAfter.Equal(time.Date(2055, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("lab-2019 is %q until %v", a.Subject.CommonName, a.NotAfter)
	}
}
