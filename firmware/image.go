// Package firmware is the phone's firmware image and its signing: the image
// format (a manifest and a payload), and The Update Framework repository
// the update service publishes and the client the phone verifies with. The
// phone and the mock cloud share it, so it imports neither.
package firmware

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Magic opens every image.
const Magic = "DPFW1\n"

// Format names the manifest layout.
const Format = "deskphone-firmware/1"

// DefaultSize is the payload size of an image when none is given.
const DefaultSize = 4 << 20

// maxManifest bounds the manifest a reader accepts, so a garbage length
// cannot make it allocate.
const maxManifest = 64 << 10

// Errors an image check wraps.
var (
	ErrCorrupt    = errors.New("corrupt image")
	ErrTruncated  = errors.New("truncated image")
	ErrWrongModel = errors.New("image for another model")
)

// Traits are what a firmware brings, as the catalog has them: recorded in
// the manifest so an image says what it carries.
type Traits struct {
	TLSMin       string   `json:"tls_min,omitempty"`
	TLSMax       string   `json:"tls_max,omitempty"`
	FactoryRoots []string `json:"factory_roots,omitempty"`
	SignIn       []string `json:"sign_in,omitempty"`
	Lock         string   `json:"lock,omitempty"`
	ClientID     string   `json:"client_id,omitempty"`
	UpdateRoot   string   `json:"update_root,omitempty"`
	// Mode is the firmware's stream: 3pip, sip or lpe.
	Mode string `json:"mode,omitempty"`
}

// Manifest describes an image: what it is for and what its payload is.
type Manifest struct {
	Format        string    `json:"format"`
	Vendor        string    `json:"vendor"`
	Model         string    `json:"model"`
	Version       string    `json:"version"`
	Built         time.Time `json:"built"`
	PayloadSize   int64     `json:"payload_size"`
	PayloadSHA256 string    `json:"payload_sha256"`
	Traits        Traits    `json:"traits"`
}

// ErrBadName is wrapped by a manifest whose vendor, model or version is not
// a plain name.
var ErrBadName = errors.New("not a plain name")

// maxName bounds a vendor, model or version name.
const maxName = 64

// ValidName checks a vendor, model or version name: a letter or digit, then
// letters, digits, '.', '_' or '-', at most 64 in all (vvx601, 5.4.0A,
// UCC450HD_3.4.6.537). Names become paths of the update service's store
// and URLs, so nothing else (a slash, "..", a space) is taken.
func ValidName(kind, s string) error {
	if s == "" || len(s) > maxName {
		return fmt.Errorf("%s %q: %w: want 1 to %d letters, digits, '.', '_' or '-'", kind, s, ErrBadName, maxName)
	}
	for i, c := range s {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return fmt.Errorf("%s %q: %w: want a letter or digit first, then letters, digits, '.', '_' or '-'", kind, s, ErrBadName)
		}
	}
	return nil
}

// validNames checks the names of m that are set (the vendor may be empty).
func (m Manifest) validNames() error {
	if err := ValidName("model", m.Model); err != nil {
		return err
	}
	if err := ValidName("version", m.Version); err != nil {
		return err
	}
	if m.Vendor != "" {
		return ValidName("vendor", m.Vendor)
	}
	return nil
}

// TargetName is the name an image is published under in the update
// repository: one per model and version.
func (m Manifest) TargetName() string { return TargetName(m.Model, m.Version) }

// TargetName is the repository name of the image of model at version.
func TargetName(model, version string) string { return model + "/" + version + ".img" }

// payload is the deterministic content of an image: a keystream of SHA-256
// over the model, version and a counter, so two builds of one firmware are
// byte-identical and any change of a byte is detected.
type payload struct {
	seed  [32]byte
	block [32]byte
	ctr   uint64
	off   int
	left  int64
}

func newPayload(model, version string, size int64) *payload {
	return &payload{seed: sha256.Sum256([]byte(model + "\x00" + version)), off: 32, left: size}
}

func (p *payload) Read(b []byte) (int, error) {
	if p.left <= 0 {
		return 0, io.EOF
	}
	n := 0
	for n < len(b) && p.left > 0 {
		if p.off == 32 {
			var in [40]byte
			copy(in[:], p.seed[:])
			binary.BigEndian.PutUint64(in[32:], p.ctr)
			p.block = sha256.Sum256(in[:])
			p.ctr++
			p.off = 0
		}
		c := copy(b[n:], p.block[p.off:])
		if int64(c) > p.left {
			c = int(p.left)
		}
		p.off += c
		n += c
		p.left -= int64(c)
	}
	return n, nil
}

// Build writes the image of m with a payload of size bytes to w, calling
// progress (if not nil) with the bytes written so far. It fills in the
// manifest's format, size and payload hash and returns it.
func Build(w io.Writer, m Manifest, size int64, progress func(done, total int64)) (Manifest, error) {
	if size < 0 {
		return m, fmt.Errorf("build image: negative size %d", size)
	}
	if err := m.validNames(); err != nil {
		return m, fmt.Errorf("build image: %w", err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, newPayload(m.Model, m.Version, size)); err != nil {
		return m, fmt.Errorf("build image: %w", err)
	}
	m.Format = Format
	m.PayloadSize = size
	m.PayloadSHA256 = hex.EncodeToString(h.Sum(nil))
	head, err := json.Marshal(m)
	if err != nil {
		return m, fmt.Errorf("build image: %w", err)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(head)))
	bw.WriteString(Magic)
	bw.Write(n[:])
	bw.Write(head)
	total := HeaderSize(head) + size
	written := HeaderSize(head)
	buf := make([]byte, 64<<10)
	src := newPayload(m.Model, m.Version, size)
	for {
		k, rerr := src.Read(buf)
		if k > 0 {
			if _, err := bw.Write(buf[:k]); err != nil {
				return m, fmt.Errorf("build image: %w", err)
			}
			written += int64(k)
			if progress != nil {
				progress(written, total)
			}
		}
		if rerr == io.EOF {
			break
		}
	}
	if err := bw.Flush(); err != nil {
		return m, fmt.Errorf("build image: %w", err)
	}
	if progress != nil {
		progress(total, total)
	}
	return m, nil
}

// HeaderSize is the length of an image's header for a manifest encoding.
func HeaderSize(manifest []byte) int64 { return int64(len(Magic) + 4 + len(manifest)) }

// ReadManifest reads an image's header from r, leaving r at the payload.
func ReadManifest(r io.Reader) (Manifest, error) {
	var m Manifest
	head := make([]byte, len(Magic)+4)
	if _, err := io.ReadFull(r, head); err != nil {
		return m, fmt.Errorf("%w: no header: %v", ErrTruncated, err)
	}
	if string(head[:len(Magic)]) != Magic {
		return m, fmt.Errorf("%w: not a firmware image", ErrCorrupt)
	}
	n := binary.BigEndian.Uint32(head[len(Magic):])
	if n == 0 || n > maxManifest {
		return m, fmt.Errorf("%w: manifest length %d", ErrCorrupt, n)
	}
	mb := make([]byte, n)
	if _, err := io.ReadFull(r, mb); err != nil {
		return m, fmt.Errorf("%w: manifest: %v", ErrTruncated, err)
	}
	if err := json.Unmarshal(mb, &m); err != nil {
		return m, fmt.Errorf("%w: manifest: %v", ErrCorrupt, err)
	}
	if m.Format != Format {
		return m, fmt.Errorf("%w: format %q, want %q", ErrCorrupt, m.Format, Format)
	}
	if m.PayloadSize < 0 {
		return m, fmt.Errorf("%w: payload size %d", ErrCorrupt, m.PayloadSize)
	}
	if err := m.validNames(); err != nil {
		return m, fmt.Errorf("%w: manifest: %w", ErrCorrupt, err)
	}
	return m, nil
}

// Check reads a whole image from r and checks it is sound and, when model
// is not empty, made for model: the manifest, the payload's length and its
// hash. It streams, holding no more than a buffer.
func Check(r io.Reader, model string) (Manifest, error) {
	m, err := ReadManifest(r)
	if err != nil {
		return m, err
	}
	if model != "" && m.Model != model {
		return m, fmt.Errorf("%w: image is for %s %s, this phone is a %s", ErrWrongModel, m.Model, m.Version, model)
	}
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(r, m.PayloadSize+1))
	if err != nil {
		return m, fmt.Errorf("%w: payload: %v", ErrCorrupt, err)
	}
	switch {
	case n < m.PayloadSize:
		return m, fmt.Errorf("%w: payload has %d of %d bytes", ErrTruncated, n, m.PayloadSize)
	case n > m.PayloadSize:
		return m, fmt.Errorf("%w: payload longer than %d bytes", ErrCorrupt, m.PayloadSize)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != m.PayloadSHA256 {
		return m, fmt.Errorf("%w: payload hash %s, manifest says %s", ErrCorrupt, got[:12], short(m.PayloadSHA256))
	}
	return m, nil
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
