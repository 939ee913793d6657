package certs

import (
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/deskphone/deskphone/internal/labdir"
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

// factoryRoot is what a factory root is: its name and its validity. The
// key and the certificate are made once per installation, in its lab
// directory (package labdir), so only the clouds of that installation can
// issue certificates its phones trust.
type factoryRoot struct {
	cn                  string
	notBefore, notAfter time.Time
}

// factoryRoots are the lab's long-lived roots, 2015-01-01 to 2055-01-01:
// the old one every firmware ships and the new one a cloud moves to
// (seed 002, root-CA rotation).
var factoryRoots = map[string]factoryRoot{
	FactoryRoot2019: {"Deskphone Lab Root CA 2019", factoryNotBefore, factoryNotAfter},
	FactoryRoot2022: {"Deskphone Lab Root CA 2022", factoryNotBefore, factoryNotAfter},
}

var (
	factoryNotBefore = time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	factoryNotAfter  = time.Date(2055, 1, 1, 0, 0, 0, 0, time.UTC)
)

// FactoryRootIDs lists the factory roots, sorted.
func FactoryRootIDs() []string {
	ids := make([]string, 0, len(factoryRoots))
	for id := range factoryRoots {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// FactoryRoot returns the certificate of a factory root of the default lab
// directory (labdir.Default).
func FactoryRoot(id string) (*x509.Certificate, error) { return FactoryRootIn(nil, id) }

// FactoryCA returns a factory root of the default lab directory with its
// private key, so the mock backend can issue server certificates that
// firmware shipping that root trusts.
func FactoryCA(id string) (*CA, error) { return FactoryCAIn(nil, id) }

// FactoryRootIn is FactoryRoot of the lab directory lab (nil: the default).
func FactoryRootIn(lab *labdir.Dir, id string) (*x509.Certificate, error) {
	ca, err := FactoryCAIn(lab, id)
	if err != nil {
		return nil, err
	}
	return ca.Cert, nil
}

// FactoryCAIn is FactoryCA of the lab directory lab (nil: the default).
// The root is made on first use: an ECDSA P-256 key and a self-signed
// certificate, kept together in tls-<id>.pem (mode 0600). Each call
// parses afresh, so callers may not share or mutate state through it.
func FactoryCAIn(lab *labdir.Dir, id string) (*CA, error) {
	spec, ok := factoryRoots[id]
	if !ok {
		return nil, fmt.Errorf("%q: %w", id, ErrUnknownFactoryRoot)
	}
	lab, err := labdir.Or(lab)
	if err != nil {
		return nil, fmt.Errorf("factory root %q: %w", id, err)
	}
	data, err := lab.File("tls-"+id+".pem", func() ([]byte, error) { return newFactoryRoot(spec) })
	if err != nil {
		return nil, fmt.Errorf("factory root %q: %w", id, err)
	}
	ca, err := parseCA(data, data)
	if err != nil {
		return nil, fmt.Errorf("factory root %q in %s: %w", id, lab.Path(), err)
	}
	return ca, nil
}

// newFactoryRoot makes a root as spec says: the certificate, then its key.
func newFactoryRoot(spec factoryRoot) ([]byte, error) {
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	tmpl, err := caTemplate(spec.cn, spec.notBefore, spec.notAfter)
	if err != nil {
		return nil, err
	}
	cert, err := sign(tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, err
	}
	return append(encodeCerts(cert), keyPEM...), nil
}

// factorySet is the parsed factory roots of one firmware and the pool of
// exactly those roots. It is built once per lab directory and list of ids
// and shared by every store opened with them, so a fleet of phones on one
// firmware holds one copy; nothing modifies it after it is built.
type factorySet struct {
	roots []stored // firmware order, repeats dropped
	pool  *x509.CertPool
}

// factorySets caches the sets by lab directory and id list. Firmware
// catalogs name a handful of lists, so the cache stays small.
var factorySets struct {
	mu    sync.Mutex
	byIDs map[string]*factorySet
}

// sharedFactorySet returns the set for ids, building it on first use.
// Unknown ids are an error and cache nothing.
func sharedFactorySet(lab *labdir.Dir, ids []string) (*factorySet, error) {
	lab, err := labdir.Or(lab)
	if err != nil {
		return nil, err
	}
	key := lab.Path() + "\x00" + strings.Join(ids, "\x00")
	factorySets.mu.Lock()
	defer factorySets.mu.Unlock()
	if set, ok := factorySets.byIDs[key]; ok {
		return set, nil
	}
	set := &factorySet{pool: x509.NewCertPool()}
	for _, id := range ids {
		cert, err := FactoryRootIn(lab, id)
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
