package certs

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"github.com/deskphone/deskphone/internal/atomicfile"
	"github.com/deskphone/deskphone/internal/labdir"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// MaxImportSize bounds what Import accepts; real phones refuse large
// uploads too, and it keeps a hostile file from exhausting memory.
const MaxImportSize = 1 << 20

// Source says where a trusted root came from.
type Source string

// Sources of trusted roots.
const (
	SourceFactory  Source = "factory"  // ships with the firmware
	SourceImported Source = "imported" // added by an administrator
)

// Entry describes one trusted root in a Store.
type Entry struct {
	Fingerprint string // lower-case hex SHA-256 of the DER
	Subject     string // common name, or the whole subject without one
	NotAfter    time.Time
	Source      Source
	// Active reports whether the root is in the pool the phone booted
	// with. Imports become active at the next Reload (reboot).
	Active bool
}

// Store is a phone's root-CA store: the factory roots of its firmware
// plus imported roots persisted under <dir>/ca/imported/<fingerprint>.pem.
// Like a real phone it applies changes at boot: Pool serves the roots as of
// the last Reload. It never consults the host's system roots.
//
// A Store is safe for concurrent use.
type Store struct {
	importDir string

	// factory is shared with every store of the same firmware: read only.
	factory *factorySet

	mu       sync.Mutex
	imported map[string]stored // by fingerprint; what is on disk
	active   map[string]bool   // fingerprints in pool
	// pool is never modified once built, so it can be handed out without
	// a copy; Reload replaces it.
	pool *x509.CertPool
	// list is what List returns, built on first use after a change.
	list []Entry
	// damaged are the imported files the last Reload could not read back.
	damaged []Damaged
}

// Damaged is an imported file that cannot be read back as the root its name
// promises. It is listed so a person can see it and remove it; it is never
// trusted.
type Damaged struct {
	Name   string // the file name under ca/imported
	Reason string
}

type stored struct {
	cert   *x509.Certificate
	fp     string
	source Source
}

func (s stored) entry(active bool) Entry {
	return Entry{
		Fingerprint: s.fp,
		Subject:     subjectName(s.cert),
		NotAfter:    s.cert.NotAfter,
		Source:      s.source,
		Active:      active,
	}
}

// OpenStore opens (creating if needed) the store under the state directory
// dir, trusting the given factory root ids, and performs the first Reload.
//
// If only some imported files are unreadable, OpenStore returns a usable
// Store together with an error wrapping ErrCorrupt, so a damaged file does
// not leave the phone unable to boot; callers may log it and carry on.
func OpenStore(dir string, factory []string) (*Store, error) {
	return OpenStoreIn(nil, dir, factory)
}

// OpenStoreIn is OpenStore with the factory roots of the lab directory lab
// (nil: the default), the installation whose clouds the phone trusts.
func OpenStoreIn(lab *labdir.Dir, dir string, factory []string) (*Store, error) {
	set, err := sharedFactorySet(lab, factory)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s := &Store{importDir: filepath.Join(dir, "ca", "imported"), factory: set}
	if err := moveLegacyImports(dir, s.importDir); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := os.MkdirAll(s.importDir, 0o755); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := s.Reload(); err != nil {
		if errors.Is(err, ErrCorrupt) {
			return s, fmt.Errorf("open store: %w", err)
		}
		return nil, fmt.Errorf("open store: %w", err)
	}
	return s, nil
}

// moveLegacyImports moves imported roots from ca/ca/imported, where phones
// kept them before the store was opened on the state directory itself, to
// ca/imported, so no acknowledged import is lost to the layout change.
func moveLegacyImports(dir, importDir string) error {
	legacy := filepath.Join(dir, "ca", "ca", "imported")
	if _, err := os.Stat(legacy); err != nil {
		return nil
	}
	if _, err := os.Stat(importDir); err == nil {
		return nil // both exist: leave the old one for a person to look at
	}
	if err := os.Rename(legacy, importDir); err != nil {
		return fmt.Errorf("move imported roots from %s: %w", legacy, err)
	}
	os.Remove(filepath.Dir(legacy)) // ca/ca, now empty
	return atomicfile.SyncDir(filepath.Join(dir, "ca"))
}

// Reload re-reads the imported roots from disk and rebuilds the pool, as a
// phone does at boot. Files that cannot be read back are skipped and
// reported with an error wrapping ErrCorrupt; the rest still load.
func (s *Store) Reload() error {
	// Hold the lock across the disk read so a concurrent Import cannot
	// land between reading the directory and swapping the maps.
	s.mu.Lock()
	defer s.mu.Unlock()
	dirEntries, err := os.ReadDir(s.importDir)
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	imported := make(map[string]stored)
	var problems []error
	var damaged []Damaged
	for _, de := range dirEntries {
		name := de.Name()
		if !de.Type().IsRegular() || strings.HasPrefix(name, ".") || filepath.Ext(name) != ".pem" {
			continue // temp files of interrupted writes, strangers
		}
		st, err := s.readImported(name)
		if err != nil {
			problems = append(problems, err)
			damaged = append(damaged, Damaged{Name: name, Reason: damageReason(err)})
			continue
		}
		imported[st.fp] = st
	}

	// Without imports the pool is the firmware's shared one; with them, a
	// copy of it that this store alone extends.
	pool := s.factory.pool
	if len(imported) > 0 {
		pool = pool.Clone()
	}
	active := make(map[string]bool, len(s.factory.roots)+len(imported))
	for _, f := range s.factory.roots {
		active[f.fp] = true
	}
	for fp, st := range imported {
		pool.AddCert(st.cert)
		active[fp] = true
	}

	s.imported, s.active, s.pool, s.list, s.damaged = imported, active, pool, nil, damaged
	if len(problems) > 0 {
		return fmt.Errorf("reload: %w", errors.Join(problems...))
	}
	return nil
}

// damageReason is the part of a readImported error that says what is wrong.
func damageReason(err error) string {
	msg := err.Error()
	if _, after, ok := strings.Cut(msg, ErrCorrupt.Error()+": "); ok {
		return after
	}
	return msg
}

// Damaged lists the imported files the last Reload skipped.
func (s *Store) Damaged() []Damaged {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.damaged)
}

func (s *Store) readImported(name string) (stored, error) {
	path := filepath.Join(s.importDir, name)
	data, err := os.ReadFile(path)
	if err != nil {
		return stored{}, fmt.Errorf("%s: %w: %w", path, ErrCorrupt, err)
	}
	certs, err := parsePEMCerts(data)
	if err != nil {
		return stored{}, fmt.Errorf("%s: %w: %w", path, ErrCorrupt, err)
	}
	cert := certs[0]
	fp := Fingerprint(cert)
	if len(certs) != 1 || name != fp+".pem" || checkCA(cert) != nil {
		return stored{}, fmt.Errorf("%s: %w: content does not match its name", path, ErrCorrupt)
	}
	return stored{cert: cert, fp: fp, source: SourceImported}, nil
}

// Import adds the CA certificates in data: PEM (one or more CERTIFICATE
// blocks, as in a bundle; other blocks are ignored) or DER. Every
// certificate is checked before any is stored, so a bundle with one bad
// certificate imports nothing; only a disk error part-way can leave a
// prefix stored, and the returned entries then say which. A certificate
// already present is not an error; its entry is returned unchanged. New
// imports show Active=false until the next Reload.
func (s *Store) Import(data []byte) ([]Entry, error) {
	certs, err := parseImport(data)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	for i, c := range certs {
		if err := checkCA(c); err != nil {
			return nil, fmt.Errorf("import: certificate %d (%s): %w", i+1, subjectName(c), err)
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	entries := make([]Entry, 0, len(certs))
	seen := make(map[string]bool)
	for _, c := range certs {
		fp := Fingerprint(c)
		if seen[fp] {
			continue
		}
		seen[fp] = true
		if st, ok := s.lookupLocked(fp); ok {
			entries = append(entries, st.entry(s.active[fp]))
			continue
		}
		st := stored{cert: c, fp: fp, source: SourceImported}
		if err := atomicfile.Write(filepath.Join(s.importDir, fp+".pem"), encodeCerts(c), 0o644); err != nil {
			return entries, fmt.Errorf("import %s: %w", subjectName(c), err)
		}
		s.imported[fp] = st
		s.list = nil
		entries = append(entries, st.entry(s.active[fp]))
	}
	return entries, nil
}

// ImportFile imports the certificates in the file at path.
func (s *Store) ImportFile(path string) ([]Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxImportSize+1))
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", path, err)
	}
	entries, err := s.Import(data)
	if err != nil {
		return entries, fmt.Errorf("%s: %w", path, err)
	}
	return entries, nil
}

// List returns every stored root: factory roots in firmware order, then
// imported ones by subject. A root removed since the last Reload is no
// longer listed although it stays in Pool until then. The list is built
// once per change of the store: a phone shows it on idle screens.
func (s *Store) List() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.list == nil {
		s.list = s.buildListLocked()
	}
	return slices.Clone(s.list)
}

func (s *Store) buildListLocked() []Entry {
	out := make([]Entry, 0, len(s.factory.roots)+len(s.imported))
	for _, f := range s.factory.roots {
		out = append(out, f.entry(s.active[f.fp]))
	}
	imported := make([]Entry, 0, len(s.imported))
	for _, st := range s.imported {
		imported = append(imported, st.entry(s.active[st.fp]))
	}
	slices.SortFunc(imported, func(a, b Entry) int {
		if c := strings.Compare(a.Subject, b.Subject); c != 0 {
			return c
		}
		return strings.Compare(a.Fingerprint, b.Fingerprint)
	})
	return append(out, imported...)
}

// Remove deletes the imported root whose fingerprint is fp or starts with
// it (case-insensitive, colons ignored). Factory roots cannot be removed.
// Like an import, a removal takes effect at the next Reload.
func (s *Store) Remove(fp string) error {
	prefix := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(fp), ":", ""))
	if prefix == "" {
		return fmt.Errorf("remove %q: %w", fp, ErrNotFound)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var matches []stored
	for _, f := range s.factory.roots {
		if strings.HasPrefix(f.fp, prefix) {
			matches = append(matches, f)
		}
	}
	for _, st := range s.imported {
		if strings.HasPrefix(st.fp, prefix) {
			matches = append(matches, st)
		}
	}
	if len(matches) == 0 {
		// A damaged file goes by the fingerprint in its name, so a store
		// with one can be repaired.
		for i, d := range s.damaged {
			if strings.HasPrefix(strings.ToLower(d.Name), prefix) {
				if err := os.Remove(filepath.Join(s.importDir, d.Name)); err != nil && !errors.Is(err, os.ErrNotExist) {
					return fmt.Errorf("remove damaged %s: %w", d.Name, err)
				}
				s.damaged = slices.Delete(s.damaged, i, i+1)
				return atomicfile.SyncDir(s.importDir)
			}
		}
	}
	switch {
	case len(matches) == 0:
		return fmt.Errorf("remove %q: %w", fp, ErrNotFound)
	case len(matches) > 1:
		return fmt.Errorf("remove %q: %d certificates match: %w", fp, len(matches), ErrAmbiguous)
	case matches[0].source == SourceFactory:
		return fmt.Errorf("remove %s: %w", subjectName(matches[0].cert), ErrFactoryRoot)
	}
	st := matches[0]
	if err := os.Remove(filepath.Join(s.importDir, st.fp+".pem")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", subjectName(st.cert), err)
	}
	if err := atomicfile.SyncDir(s.importDir); err != nil {
		return fmt.Errorf("remove %s: %w", subjectName(st.cert), err)
	}
	delete(s.imported, st.fp)
	s.list = nil
	return nil
}

// Pool returns a copy of the trusted roots as of the last Reload. It is
// never nil, so a tls.Config built from it never falls back to the host's
// system roots.
func (s *Store) Pool() *x509.CertPool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pool.Clone()
}

// ClientConfig is the TLS client configuration of a phone dialling
// serverName: the store's pool as RootCAs, serverName for SNI and the
// hostname check, and the firmware's TLS version range. crypto/tls then
// verifies the chain, the validity period, the name and the server-auth
// EKU; Classify explains a failure. A minVersion below TLS 1.2 must be set
// explicitly: Go's client refuses TLS 1.0/1.1 only by default.
//
// RootCAs is shared with the store and, without imports, with every phone
// of the same firmware: add roots through Import, never to RootCAs.
func (s *Store) ClientConfig(serverName string, minVersion, maxVersion uint16) *tls.Config {
	s.mu.Lock()
	pool := s.pool
	s.mu.Unlock()
	return &tls.Config{
		RootCAs:    pool,
		ServerName: serverName,
		MinVersion: minVersion,
		MaxVersion: maxVersion,
	}
}

// VerifyOptions verifies a server certificate outside crypto/tls (an
// HTTPS download inspected by hand, say) the way ClientConfig does. A zero
// now means the wall clock at verification.
func (s *Store) VerifyOptions(dnsName string, now time.Time) x509.VerifyOptions {
	return x509.VerifyOptions{
		DNSName:     dnsName,
		Roots:       s.Pool(),
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
}

func (s *Store) lookupLocked(fp string) (stored, bool) {
	for _, f := range s.factory.roots {
		if f.fp == fp {
			return f, true
		}
	}
	st, ok := s.imported[fp]
	return st, ok
}

// parseImport reads PEM if data holds any PEM block, DER otherwise.
func parseImport(data []byte) ([]*x509.Certificate, error) {
	if len(data) > MaxImportSize {
		return nil, fmt.Errorf("%d bytes, limit %d: %w", len(data), MaxImportSize, ErrTooLarge)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("empty input: %w", ErrNotCertificate)
	}
	if looksPEM(data) {
		return parsePEMCerts(data)
	}
	certs, err := x509.ParseCertificates(data)
	if err != nil {
		return nil, fmt.Errorf("neither PEM nor DER: %w: %w", ErrNotCertificate, err)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("no certificate in DER: %w", ErrNotCertificate)
	}
	return certs, nil
}

func looksPEM(data []byte) bool {
	return bytes.Contains(data, []byte("-----BEGIN "))
}

func checkCA(c *x509.Certificate) error {
	if !c.BasicConstraintsValid || !c.IsCA {
		return ErrNotCA
	}
	return nil
}
