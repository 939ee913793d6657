package certs

import (
	"crypto/x509"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Factory root ids. Firmware catalogs name the roots they ship by these.
const (
	// FactoryRoot2019 is "Deskphone Lab Root CA 2019", the old root that
	// every firmware ships.
	FactoryRoot2019 = "lab-2019"
	// FactoryRoot2022 is "Deskphone Lab Root CA 2022", the new root that
	// only newer firmware ships (seed 002).
	FactoryRoot2022 = "lab-2022"
)

// factoryFS holds factory/<id>.pem and factory/<id>.key: long-lived lab
// roots (2015-01-01 to 2055-01-01) generated once and committed, so that
// every build of the emulator and the mock backend agree on them.
//
//go:embed factory/*.pem factory/*.key
var factoryFS embed.FS

// FactoryRootIDs lists the embedded factory roots, sorted.
func FactoryRootIDs() []string {
	matches, err := fs.Glob(factoryFS, "factory/*.pem")
	if err != nil {
		return nil // the pattern is constant and valid
	}
	ids := make([]string, 0, len(matches))
	for _, m := range matches {
		ids = append(ids, strings.TrimSuffix(path.Base(m), ".pem"))
	}
	sort.Strings(ids)
	return ids
}

// FactoryRoot returns the certificate of an embedded factory root. Each
// call parses afresh, so callers may not share or mutate state through it.
func FactoryRoot(id string) (*x509.Certificate, error) {
	certPEM, err := readFactory(id, ".pem")
	if err != nil {
		return nil, err
	}
	certs, err := parsePEMCerts(certPEM)
	if err != nil {
		return nil, fmt.Errorf("factory root %q: %w", id, err)
	}
	return certs[0], nil
}

// FactoryCA returns an embedded factory root with its private key, so the
// mock backend can issue server certificates that firmware shipping that
// root trusts.
func FactoryCA(id string) (*CA, error) {
	certPEM, err := readFactory(id, ".pem")
	if err != nil {
		return nil, err
	}
	keyPEM, err := readFactory(id, ".key")
	if err != nil {
		return nil, err
	}
	ca, err := parseCA(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("factory root %q: %w", id, err)
	}
	return ca, nil
}

func readFactory(id, ext string) ([]byte, error) {
	if id == "" || strings.ContainsAny(id, `/\`) || strings.HasPrefix(id, ".") {
		return nil, fmt.Errorf("%q: %w", id, ErrUnknownFactoryRoot)
	}
	data, err := factoryFS.ReadFile("factory/" + id + ext)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", id, ErrUnknownFactoryRoot)
	}
	return data, nil
}

// factorySet is the parsed factory roots of one firmware and the pool of
// exactly those roots. It is built once per list of ids and shared by every
// store opened with that list, so a fleet of phones on one firmware holds
// one copy; nothing modifies it after it is built.
type factorySet struct {
	roots []stored // firmware order, repeats dropped
	pool  *x509.CertPool
}

// factorySets caches the sets by their id list. Firmware catalogs name a
// handful of lists, so the cache stays small.
var factorySets struct {
	mu    sync.Mutex
	byIDs map[string]*factorySet
}

// sharedFactorySet returns the set for ids, building it on first use.
// Unknown ids are an error and cache nothing.
func sharedFactorySet(ids []string) (*factorySet, error) {
	key := strings.Join(ids, "\x00")
	factorySets.mu.Lock()
	defer factorySets.mu.Unlock()
	if set, ok := factorySets.byIDs[key]; ok {
		return set, nil
	}
	set := &factorySet{pool: x509.NewCertPool()}
	for _, id := range ids {
		cert, err := FactoryRoot(id)
		if err != nil {
			return nil, err
		}
		fp := Fingerprint(cert)
		if slices.ContainsFunc(set.roots, func(f stored) bool { return f.fp == fp }) {
			continue
		}
		set.roots = append(set.roots, stored{cert: cert, fp: fp, source: SourceFactory})
		set.pool.AddCert(cert)
	}
	if factorySets.byIDs == nil {
		factorySets.byIDs = map[string]*factorySet{}
	}
	factorySets.byIDs[key] = set
	return set, nil
}
