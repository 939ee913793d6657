package certs_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deskphone/deskphone/certs"
)

func TestImport(t *testing.T) {
	root := mustRoot(t, "Imported Root")
	other := mustRoot(t, "Other Root")
	leaf := mustIssue(t, root, certs.ServerOptions{DNSNames: []string{"leaf.test"}})
	factory2019, err := certs.FactoryRoot(certs.FactoryRoot2019)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")

	tests := []struct {
		name    string
		data    []byte
		wantErr error
		want    []string // subjects
		source  certs.Source
	}{
		{name: "PEM", data: pemOf(root.Cert), want: []string{"Imported Root"}, source: certs.SourceImported},
		{name: "DER", data: root.Cert.Raw, want: []string{"Imported Root"}, source: certs.SourceImported},
		{name: "bundle with comments", data: append(append([]byte("# lab roots\n"), pemOf(root.Cert)...), append([]byte("junk between\n"), pemOf(other.Cert)...)...), want: []string{"Imported Root", "Other Root"}, source: certs.SourceImported},
		{name: "bundle repeating a cert", data: pemOf(root.Cert, root.Cert), want: []string{"Imported Root"}, source: certs.SourceImported},
		{name: "concatenated DER", data: append(append([]byte(nil), root.Cert.Raw...), other.Cert.Raw...), want: []string{"Imported Root", "Other Root"}, source: certs.SourceImported},
		{name: "factory root again", data: pemOf(factory2019), want: []string{"Deskphone Lab Root CA 2019"}, source: certs.SourceFactory},
		{name: "garbage", data: []byte("hello, phone"), wantErr: certs.ErrNotCertificate},
		{name: "empty", data: nil, wantErr: certs.ErrNotCertificate},
		{name: "whitespace", data: []byte(" \n\t"), wantErr: certs.ErrNotCertificate},
		{name: "private key only", data: keyPEM, wantErr: certs.ErrNotCertificate},
		{name: "broken PEM body", data: []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), wantErr: certs.ErrNotCertificate},
		{name: "truncated DER", data: root.Cert.Raw[:len(root.Cert.Raw)/2], wantErr: certs.ErrNotCertificate},
		{name: "server cert", data: pemOf(leaf.Cert), wantErr: certs.ErrNotCA},
		{name: "bundle with a server cert", data: pemOf(other.Cert, leaf.Cert), wantErr: certs.ErrNotCA},
		{name: "too large", data: bytes.Repeat([]byte{'A'}, certs.MaxImportSize+1), wantErr: certs.ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := mustOpen(t, dir, certs.FactoryRoot2019)
			entries, err := s.Import(tc.data)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Import error = %v, want %v", err, tc.wantErr)
				}
				if n := len(s.List()); n != 1 {
					t.Errorf("failed import left %d entries, want the factory root only", n)
				}
				files, _ := os.ReadDir(filepath.Join(dir, "ca", "imported"))
				if len(files) != 0 {
					t.Errorf("failed import wrote %d files", len(files))
				}
				return
			}
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			var got []string
			for _, e := range entries {
				got = append(got, e.Subject)
				if e.Source != tc.source {
					t.Errorf("%s source = %q, want %q", e.Subject, e.Source, tc.source)
				}
				if wantActive := e.Source == certs.SourceFactory; e.Active != wantActive {
					t.Errorf("%s active = %v right after import, want %v", e.Subject, e.Active, wantActive)
				}
				if tc.source == certs.SourceImported {
					if _, err := os.Stat(filepath.Join(dir, "ca", "imported", e.Fingerprint+".pem")); err != nil {
						t.Errorf("not persisted: %v", err)
					}
				}
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("imported %v, want %v", got, tc.want)
			}
			again, err := s.Import(tc.data)
			if err != nil {
				t.Fatalf("second import: %v", err)
			}
			if len(again) != len(entries) || again[0] != entries[0] {
				t.Errorf("second import = %+v, want unchanged %+v", again, entries)
			}
		})
	}
}

func TestImportFile(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	root := mustRoot(t, "File Root")
	good := filepath.Join(dir, "root.pem")
	bad := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(good, pemOf(root.Cert), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("not a cert"), 0o644); err != nil {
		t.Fatal(err)
	}
	if entries, err := s.ImportFile(good); err != nil || len(entries) != 1 {
		t.Fatalf("ImportFile(good) = %v, %v", entries, err)
	}
	_, err := s.ImportFile(bad)
	if !errors.Is(err, certs.ErrNotCertificate) || !strings.Contains(err.Error(), "notes.txt") {
		t.Errorf("ImportFile(bad) error = %v, want ErrNotCertificate naming the file", err)
	}
	if _, err := s.ImportFile(filepath.Join(dir, "missing.pem")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ImportFile(missing) error = %v", err)
	}
}

func TestActiveAfterReload(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, certs.FactoryRoot2019)
	newRoot := mustFactoryCA(t, certs.FactoryRoot2022)
	leaf := mustIssue(t, newRoot, certs.ServerOptions{DNSNames: []string{"sip.lab.test"}})
	verify := func() error {
		t.Helper()
		_, err := leaf.Cert.Verify(s.VerifyOptions("sip.lab.test", testNow()))
		return err
	}

	if err := verify(); !errors.As(err, new(x509.UnknownAuthorityError)) {
		t.Fatalf("before import: %v, want unknown authority", err)
	}
	entries, err := s.Import(pemOf(newRoot.Cert))
	if err != nil {
		t.Fatal(err)
	}
	fp := entries[0].Fingerprint
	if findEntry(t, s.List(), fp).Active {
		t.Error("import active before reload")
	}
	if err := verify(); err == nil {
		t.Error("import trusted before reload")
	}
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if !findEntry(t, s.List(), fp).Active {
		t.Error("import not active after reload")
	}
	if err := verify(); err != nil {
		t.Errorf("after reload: %v", err)
	}

	// Persistence: a new Store on the same dir boots with the import.
	s2 := mustOpen(t, dir, certs.FactoryRoot2019)
	if e := findEntry(t, s2.List(), fp); !e.Active || e.Source != certs.SourceImported {
		t.Errorf("after reopen: %+v", e)
	}

	// Removal also waits for the reboot.
	if err := s.Remove(fp); err != nil {
		t.Fatal(err)
	}
	if err := verify(); err != nil {
		t.Errorf("removed root dropped before reload: %v", err)
	}
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if err := verify(); err == nil {
		t.Error("removed root still trusted after reload")
	}
	if n := len(s.List()); n != 1 {
		t.Errorf("List has %d entries, want the factory root", n)
	}
}

func TestRemove(t *testing.T) {
	s := mustOpen(t, t.TempDir(), certs.FactoryRoot2019)
	// Import roots until two fingerprints share a first hex digit, for
	// the ambiguous case; 17 roots always suffice.
	byDigit := map[byte][]string{}
	var shared byte
	for i := 0; shared == 0; i++ {
		e, err := s.Import(pemOf(mustRoot(t, "R").Cert))
		if err != nil {
			t.Fatal(err)
		}
		d := e[0].Fingerprint[0]
		byDigit[d] = append(byDigit[d], e[0].Fingerprint)
		if len(byDigit[d]) == 2 {
			shared = d
		}
	}
	factoryFP := s.List()[0].Fingerprint
	target := byDigit[shared][0]

	tests := []struct {
		name    string
		arg     string
		wantErr error
	}{
		{"empty", "", certs.ErrNotFound},
		{"unknown", "zz", certs.ErrNotFound},
		{"ambiguous", string(shared), certs.ErrAmbiguous},
		{"factory", factoryFP[:12], certs.ErrFactoryRoot},
		{"factory full", factoryFP, certs.ErrFactoryRoot},
		{"unique prefix, upper case with colons", strings.ToUpper(target[:2] + ":" + target[2:16]), nil},
		{"already removed", target, certs.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Remove(tc.arg)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("Remove(%q) = %v, want %v", tc.arg, err, tc.wantErr)
			}
		})
	}
	for _, e := range s.List() {
		if e.Fingerprint == target {
			t.Error("removed root still listed")
		}
	}
}

func TestOpenStoreErrors(t *testing.T) {
	if _, err := certs.OpenStore(t.TempDir(), []string{"lab-1999"}); !errors.Is(err, certs.ErrUnknownFactoryRoot) {
		t.Errorf("unknown factory id: %v", err)
	}

	dir := t.TempDir()
	s := mustOpen(t, dir)
	good, err := s.Import(pemOf(mustRoot(t, "Good").Cert))
	if err != nil {
		t.Fatal(err)
	}
	importDir := filepath.Join(dir, "ca", "imported")
	leaf := mustIssue(t, mustRoot(t, "X"), certs.ServerOptions{DNSNames: []string{"x"}})
	for name, data := range map[string][]byte{
		"0000.pem":                            []byte("garbage"),
		certs.Fingerprint(leaf.Cert) + ".pem": pemOf(leaf.Cert), // not a CA
		"1111.pem":                            pemOf(mustRoot(t, "Misnamed").Cert),
		".x.pem.tmp-1":                        []byte("temp of an interrupted write: ignored"),
		"README":                              []byte("ignored"),
	} {
		if err := os.WriteFile(filepath.Join(importDir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s2, err := certs.OpenStore(dir, []string{certs.FactoryRoot2022})
	if !errors.Is(err, certs.ErrCorrupt) || s2 == nil {
		t.Fatalf("OpenStore = %v, %v; want a store and ErrCorrupt", s2, err)
	}
	for _, name := range []string{"0000.pem", "1111.pem", certs.Fingerprint(leaf.Cert)} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
	if strings.Contains(err.Error(), "README") || strings.Contains(err.Error(), "tmp-1") {
		t.Errorf("error names ignored files: %v", err)
	}
	list := s2.List()
	if len(list) != 2 || !findEntry(t, list, good[0].Fingerprint).Active {
		t.Errorf("List = %+v, want factory + the good import", list)
	}
}

func TestNeverSystemRoots(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	if s.Pool() == nil {
		t.Fatal("Pool is nil: crypto/tls would fall back to system roots")
	}
	cfg := s.ClientConfig("example.com", tls.VersionTLS12, tls.VersionTLS13)
	if cfg.RootCAs == nil {
		t.Fatal("ClientConfig.RootCAs is nil: system roots would be used")
	}
	if cfg.ServerName != "example.com" || cfg.MinVersion != tls.VersionTLS12 || cfg.MaxVersion != tls.VersionTLS13 {
		t.Errorf("ClientConfig = %+v", cfg)
	}
	if cfg.InsecureSkipVerify {
		t.Error("verification disabled")
	}
	if p := s.VerifyOptions("example.com", testNow()).Roots; p == nil {
		t.Error("VerifyOptions.Roots is nil: system roots would be used")
	}
}

func TestListOrder(t *testing.T) {
	s := mustOpen(t, t.TempDir(), certs.FactoryRoot2022, certs.FactoryRoot2019, certs.FactoryRoot2022)
	for _, cn := range []string{"Zulu", "Alpha"} {
		if _, err := s.Import(pemOf(mustRoot(t, cn).Cert)); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, e := range s.List() {
		got = append(got, e.Subject)
	}
	want := "Deskphone Lab Root CA 2022|Deskphone Lab Root CA 2019|Alpha|Zulu"
	if strings.Join(got, "|") != want {
		t.Errorf("List order %v, want %s", got, want)
	}
}

// Stores of one firmware share its parsed roots and pool; an import into
// one store never reaches another's.
func TestFactoryRootsShared(t *testing.T) {
	const n = 8
	stores := make([]*certs.Store, n)
	errs := make(chan error, n)
	for i := range stores {
		dir := t.TempDir()
		go func() {
			s, err := certs.OpenStore(dir, []string{certs.FactoryRoot2019})
			stores[i] = s
			errs <- err
		}()
	}
	for range stores {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	roots := func(s *certs.Store) *x509.CertPool {
		return s.ClientConfig("sip.lab.test", tls.VersionTLS12, tls.VersionTLS13).RootCAs
	}
	for i, s := range stores[1:] {
		if roots(s) != roots(stores[0]) {
			t.Fatalf("store %d has a pool of its own", i+1)
		}
	}
	if other := mustOpen(t, t.TempDir(), certs.FactoryRoot2022); roots(other) == roots(stores[0]) {
		t.Fatal("stores of different factory roots share a pool")
	}

	newRoot := mustFactoryCA(t, certs.FactoryRoot2022)
	leaf := mustIssue(t, newRoot, certs.ServerOptions{DNSNames: []string{"sip.lab.test"}})
	verify := func(s *certs.Store) error {
		_, err := leaf.Cert.Verify(x509.VerifyOptions{Roots: roots(s), DNSName: "sip.lab.test", CurrentTime: testNow()})
		return err
	}
	a, b := stores[0], stores[1]
	if _, err := a.Import(pemOf(newRoot.Cert)); err != nil {
		t.Fatal(err)
	}
	if err := a.Reload(); err != nil {
		t.Fatal(err)
	}
	if err := verify(a); err != nil {
		t.Errorf("importing store: %v", err)
	}
	if err := verify(b); err == nil {
		t.Error("an import into one store is trusted by another")
	}
	if roots(b) != roots(stores[2]) {
		t.Error("an import into one store changed the pool the others share")
	}
}

// List hands out a copy: a caller changing it leaves the store's list alone.
func TestListIsACopy(t *testing.T) {
	s := mustOpen(t, t.TempDir(), certs.FactoryRoot2019)
	first := s.List()
	first[0].Subject, first[0].Active = "changed", false
	if e := s.List()[0]; e.Subject != "Deskphone Lab Root CA 2019" || !e.Active {
		t.Errorf("List after a caller's change: %+v", e)
	}
}

// Imports kept under ca/ca/imported by earlier versions move to
// ca/imported when the store opens, and stay trusted.
func TestLegacyImportsMove(t *testing.T) {
	dir := t.TempDir()
	lab, err := certs.GenerateLab(t.TempDir(), certs.LabOptions{})
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := certs.OpenStore(filepath.Join(dir, "ca"), []string{certs.FactoryRoot2019})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := legacy.ImportFile(lab.Path(certs.LabNewRootCert)); err != nil {
		t.Fatal(err)
	}
	s, err := certs.OpenStore(dir, []string{certs.FactoryRoot2019})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.List()); n != 2 {
		t.Fatalf("%d roots after the move, want the factory root and the import", n)
	}
	if _, err := os.Stat(filepath.Join(dir, "ca", "ca")); !os.IsNotExist(err) {
		t.Fatalf("legacy folder still there: %v", err)
	}
}
