package certs_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/deskphone/deskphone/certs"
)

// testNow is the fixed clock of these tests; the factory roots cover it.
func testNow() time.Time { return time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC) }

func pemOf(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

func mustRoot(t *testing.T, cn string) *certs.CA {
	t.Helper()
	ca, err := certs.NewRootCA(cn, testNow())
	if err != nil {
		t.Fatalf("NewRootCA(%q): %v", cn, err)
	}
	return ca
}

func mustFactoryCA(t *testing.T, id string) *certs.CA {
	t.Helper()
	ca, err := certs.FactoryCA(id)
	if err != nil {
		t.Fatalf("FactoryCA(%q): %v", id, err)
	}
	return ca
}

func mustIssue(t *testing.T, ca *certs.CA, opts certs.ServerOptions) *certs.Leaf {
	t.Helper()
	if opts.Now.IsZero() {
		opts.Now = testNow()
	}
	leaf, err := ca.IssueServer(opts)
	if err != nil {
		t.Fatalf("IssueServer: %v", err)
	}
	return leaf
}

func mustOpen(t *testing.T, dir string, factory ...string) *certs.Store {
	t.Helper()
	s, err := certs.OpenStore(dir, factory)
	if err != nil {
		t.Fatalf("OpenStore: %v", err)
	}
	return s
}

func serverConfig(leaf *certs.Leaf, minV, maxV uint16) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{leaf.TLSCertificate()},
		MinVersion:   minV,
		MaxVersion:   maxV,
		Time:         testNow,
	}
}

func findEntry(t *testing.T, entries []certs.Entry, fp string) certs.Entry {
	t.Helper()
	for _, e := range entries {
		if e.Fingerprint == fp {
			return e
		}
	}
	t.Fatalf("no entry %s in %+v", fp, entries)
	return certs.Entry{}
}
