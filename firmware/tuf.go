package firmware

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/deskphone/deskphone/internal/labdir"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// RootExpires is when every lab root expires: fixed, so the root a
// firmware ships and the one the service signs are the same bytes.
var RootExpires = time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)

// How long the other roles' metadata stays valid. The timestamp is short
// so that a frozen mirror is noticed within a day.
const (
	TargetsTTL   = 365 * 24 * time.Hour
	SnapshotTTL  = 7 * 24 * time.Hour
	TimestampTTL = 24 * time.Hour
)

var roles = []string{metadata.ROOT, metadata.TARGETS, metadata.SNAPSHOT, metadata.TIMESTAMP}

// Keys are the signing keys of the four roles of one root.
type Keys map[string]ed25519.PrivateKey

// RootKeys returns the keys of the update root name of the lab directory
// lab (nil: the default): they stand for a vendor's offline keys. They are
// made on first use, one ed25519 key per role, and kept in
// update-<name>.keys (mode 0600), so only the update services of this
// installation sign firmware its phones accept.
func RootKeys(lab *labdir.Dir, name string) (Keys, error) {
	if name == "" {
		return nil, fmt.Errorf("update root: no name")
	}
	lab, err := labdir.Or(lab)
	if err != nil {
		return nil, fmt.Errorf("update root %s: %w", name, err)
	}
	data, err := lab.File("update-"+name+".keys", newRootKeys)
	if err != nil {
		return nil, fmt.Errorf("update root %s: %w", name, err)
	}
	k := Keys{}
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type != keyPEMType || len(b.Bytes) != ed25519.SeedSize || !slices.Contains(roles, b.Headers["Role"]) {
			return nil, fmt.Errorf("update root %s in %s: damaged key file", name, lab.Path())
		}
		k[b.Headers["Role"]] = ed25519.NewKeyFromSeed(b.Bytes)
	}
	if len(k) != len(roles) {
		return nil, fmt.Errorf("update root %s in %s: damaged key file", name, lab.Path())
	}
	return k, nil
}

// keyPEMType is the PEM type of a role's key: its ed25519 seed.
const keyPEMType = "DESKPHONE UPDATE ROLE KEY"

// newRootKeys makes the keys of a new root, one PEM block per role.
func newRootKeys() ([]byte, error) {
	var out []byte
	for _, r := range roles {
		seed := make([]byte, ed25519.SeedSize)
		if _, err := rand.Read(seed); err != nil {
			return nil, fmt.Errorf("update root key: %w", err)
		}
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: keyPEMType, Headers: map[string]string{"Role": r}, Bytes: seed})...)
	}
	return out, nil
}

// LabRoot is version 1 of the root metadata of the update root name of
// the lab directory lab (nil: the default), as a firmware ships it.
func LabRoot(lab *labdir.Dir, name string) ([]byte, error) {
	keys, err := RootKeys(lab, name)
	if err != nil {
		return nil, err
	}
	root, err := newRoot(1, keys)
	if err != nil {
		return nil, err
	}
	return signRoot(root, keys)
}

func newRoot(version int64, keys Keys) (*metadata.Metadata[metadata.RootType], error) {
	root := metadata.Root(RootExpires)
	root.Signed.Version = version
	for _, r := range roles {
		key, err := metadata.KeyFromPublicKey(keys[r].Public())
		if err != nil {
			return nil, fmt.Errorf("update root: %w", err)
		}
		if err := root.Signed.AddKey(key, r); err != nil {
			return nil, fmt.Errorf("update root: %w", err)
		}
	}
	return root, nil
}

// signRoot signs root with the root keys of every key set given (a new
// root is signed by the old root's key and its own).
func signRoot(root *metadata.Metadata[metadata.RootType], keySets ...Keys) ([]byte, error) {
	root.ClearSignatures()
	for _, k := range keySets {
		if err := sign(root, k[metadata.ROOT]); err != nil {
			return nil, err
		}
	}
	return root.ToBytes(false)
}

type signable interface {
	Sign(signature.Signer) (*metadata.Signature, error)
}

func sign(m signable, key ed25519.PrivateKey) error {
	s, err := signature.LoadSigner(key, crypto.Hash(0))
	if err != nil {
		return fmt.Errorf("update metadata: %w", err)
	}
	if _, err := m.Sign(s); err != nil {
		return fmt.Errorf("update metadata: %w", err)
	}
	return nil
}

// Repo is one update repository (one vendor's): the four roles' metadata
// over the images published, signed with the keys of its current root.
// Its methods are safe for concurrent use.
type Repo struct {
	mu        sync.Mutex
	lab       *labdir.Dir // where RotateRoot finds the next root's keys
	keys      Keys
	root      *metadata.Metadata[metadata.RootType]
	roots     [][]byte // signed roots, version i+1 at i
	targets   *metadata.Metadata[metadata.TargetsType]
	snapshot  *metadata.Metadata[metadata.SnapshotType]
	timestamp *metadata.Metadata[metadata.TimestampType]
	files     map[string][]byte // published metadata by file name
	now       time.Time         // when the metadata was last signed
}

// NewRepo starts a repository for the update root name of the lab
// directory lab (nil: the default) with no targets, signed at now.
func NewRepo(lab *labdir.Dir, name string, now time.Time) (*Repo, error) {
	keys, err := RootKeys(lab, name)
	if err != nil {
		return nil, err
	}
	root, err := newRoot(1, keys)
	if err != nil {
		return nil, err
	}
	signed, err := signRoot(root, keys)
	if err != nil {
		return nil, err
	}
	r := &Repo{lab: lab, keys: keys, root: root, roots: [][]byte{signed}, files: map[string][]byte{"1.root.json": signed}}
	r.targets = metadata.Targets(now.Add(TargetsTTL))
	r.snapshot = metadata.Snapshot(now.Add(SnapshotTTL))
	r.timestamp = metadata.Timestamp(now.Add(TimestampTTL))
	if err := r.publish(now, false); err != nil {
		return nil, err
	}
	return r, nil
}

// publish re-signs what changed: the targets (when targetsChanged), the
// snapshot naming them and the timestamp naming the snapshot, each with a
// new version.
func (r *Repo) publish(now time.Time, targetsChanged bool) error {
	r.now = now
	if targetsChanged {
		r.targets.Signed.Version++
		r.targets.Signed.Expires = now.Add(TargetsTTL)
	}
	r.targets.ClearSignatures()
	if err := sign(r.targets, r.keys[metadata.TARGETS]); err != nil {
		return err
	}
	tb, err := r.targets.ToBytes(false)
	if err != nil {
		return fmt.Errorf("update metadata: %w", err)
	}
	r.files[strconv.FormatInt(r.targets.Signed.Version, 10)+".targets.json"] = tb
	if r.files["timestamp.json"] != nil {
		r.snapshot.Signed.Version++
	}
	r.snapshot.Signed.Meta["targets.json"] = metadata.MetaFile(r.targets.Signed.Version)
	r.snapshot.Signed.Expires = now.Add(SnapshotTTL)
	r.snapshot.ClearSignatures()
	if err := sign(r.snapshot, r.keys[metadata.SNAPSHOT]); err != nil {
		return err
	}
	sb, err := r.snapshot.ToBytes(false)
	if err != nil {
		return fmt.Errorf("update metadata: %w", err)
	}
	r.files[strconv.FormatInt(r.snapshot.Signed.Version, 10)+".snapshot.json"] = sb
	return r.stamp(now)
}

// stamp signs a new timestamp valid from now.
func (r *Repo) stamp(now time.Time) error {
	if r.files["timestamp.json"] != nil {
		r.timestamp.Signed.Version++
	}
	r.timestamp.Signed.Meta["snapshot.json"] = metadata.MetaFile(r.snapshot.Signed.Version)
	r.timestamp.Signed.Expires = now.Add(TimestampTTL)
	r.timestamp.ClearSignatures()
	if err := sign(r.timestamp, r.keys[metadata.TIMESTAMP]); err != nil {
		return err
	}
	b, err := r.timestamp.ToBytes(false)
	if err != nil {
		return fmt.Errorf("update metadata: %w", err)
	}
	r.files["timestamp.json"] = b
	r.now = now
	return nil
}

// AddTarget publishes an image (its name, length and SHA-256) with its
// manifest as the target's custom data.
func (r *Repo) AddTarget(name string, length int64, sum []byte, m Manifest, now time.Time) error {
	custom, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("update target %s: %w", name, err)
	}
	raw := json.RawMessage(custom)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.targets.Signed.Targets[name] = &metadata.TargetFiles{
		Length: length,
		Hashes: metadata.Hashes{"sha256": sum},
		Custom: &raw,
		Path:   name,
	}
	return r.publish(now, true)
}

// Target is the published entry of name, if any.
func (r *Repo) Target(name string) (*metadata.TargetFiles, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.targets.Signed.Targets[name]
	return t, ok
}

// Targets lists the names published, sorted.
func (r *Repo) Targets() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, 0, len(r.targets.Signed.Targets))
	for n := range r.targets.Signed.Targets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// RotateRoot replaces the repository's keys with those of the update root
// name of its lab directory: a new root version signed by the old root key and the new one, so
// a client that trusts the old root follows the chain; every other role is
// signed again with the new keys.
func (r *Repo) RotateRoot(name string, now time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys, err := RootKeys(r.lab, name)
	if err != nil {
		return err
	}
	root, err := newRoot(r.root.Signed.Version+1, keys)
	if err != nil {
		return err
	}
	signed, err := signRoot(root, r.keys, keys)
	if err != nil {
		return err
	}
	r.root, r.keys = root, keys
	r.roots = append(r.roots, signed)
	r.files[strconv.FormatInt(root.Signed.Version, 10)+".root.json"] = signed
	return r.publish(now, true)
}

// RootVersion is the version of the current root.
func (r *Repo) RootVersion() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.root.Signed.Version
}

// Metadata is the metadata file name ("timestamp.json", "2.root.json",
// "3.snapshot.json", ...) as published at now: a timestamp with less than
// half its life left is signed again first, as a live service does.
func (r *Repo) Metadata(name string, now time.Time) ([]byte, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if name == "timestamp.json" && r.timestamp.Signed.Expires.Sub(now) < TimestampTTL/2 {
		if err := r.stamp(now); err != nil {
			return nil, false
		}
	}
	b, ok := r.files[name]
	return b, ok
}

// Freeze returns a copy of the repository as it is, which never signs
// again: a mirror an attacker froze, or one that serves old metadata.
func (r *Repo) Freeze() map[string][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string][]byte, len(r.files))
	for k, v := range r.files {
		out[k] = v
	}
	return out
}

// SHA256Hex is the hex form of the SHA-256 a target lists.
func SHA256Hex(tf *metadata.TargetFiles) string {
	return strings.ToLower(hex.EncodeToString(tf.Hashes["sha256"]))
}
