package firmware

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"
)

// Errors a download wraps.
var (
	ErrMismatch  = errors.New("image does not match its signed length and hash")
	ErrNoSpace   = errors.New("not enough space")
	ErrUntrusted = errors.New("update metadata not trusted")
)

// Client verifies an update repository's metadata the way the phone does:
// from the root its firmware ships (or a newer one it already followed),
// remembering in Dir what it has seen so that older metadata offered later
// is refused, with expiry checked at Now rather than the host's time.
type Client struct {
	// Root is the factory root metadata.
	Root []byte
	// MetadataURL is the repository's metadata base, ending in "/".
	MetadataURL string
	// Dir keeps the trusted metadata between checks.
	Dir string
	// Now is the reference time for expiry: the phone's clock.
	Now time.Time
	// HTTP fetches; nil is a client with a 30 s timeout.
	HTTP *http.Client
	// Ctx bounds the fetches; nil is Background.
	Ctx context.Context
}

func (c Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 30 * time.Second}
}

func (c Client) ctx() context.Context {
	if c.Ctx != nil {
		return c.Ctx
	}
	return context.Background()
}

// Target refreshes the metadata (root chain, timestamp, snapshot, targets)
// and returns the signed entry of the target name: the length and hash the
// image must have, and its manifest.
func (c Client) Target(name string) (*metadata.TargetFiles, Manifest, error) {
	var m Manifest
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return nil, m, fmt.Errorf("update metadata: %w", err)
	}
	up, err := c.updater(c.trustedRoot())
	if err != nil {
		// A cached root that no longer loads: start again from the
		// factory one.
		if up, err = c.updater(c.Root); err != nil {
			return nil, m, fmt.Errorf("%w: %v", ErrUntrusted, err)
		}
	}
	if err := up.Refresh(); err != nil {
		return nil, m, fmt.Errorf("%w: %v", ErrUntrusted, err)
	}
	tf, err := up.GetTargetInfo(name)
	if err != nil {
		return nil, m, fmt.Errorf("update target %s: %w", name, err)
	}
	if tf.Custom != nil {
		if err := json.Unmarshal(*tf.Custom, &m); err != nil {
			return nil, m, fmt.Errorf("update target %s: manifest: %w", name, err)
		}
	}
	return tf, m, nil
}

// trustedRoot is the newest root followed so far, else the factory root.
func (c Client) trustedRoot() []byte {
	if b, err := os.ReadFile(filepath.Join(c.Dir, "root.json")); err == nil && len(b) > 0 {
		return b
	}
	return c.Root
}

func (c Client) updater(root []byte) (*updater.Updater, error) {
	cfg, err := config.New(c.MetadataURL, root)
	if err != nil {
		return nil, err
	}
	cfg.LocalMetadataDir = c.Dir
	cfg.LocalTargetsDir = filepath.Join(c.Dir, "targets")
	cfg.Fetcher = fetcher{c}
	up, err := updater.New(cfg)
	if err != nil {
		return nil, err
	}
	up.UnsafeSetRefTime(c.Now)
	return up, nil
}

// fetcher gets metadata over the client's HTTP, bounded in length.
type fetcher struct{ c Client }

func (f fetcher) DownloadFile(url string, maxLength int64, _ time.Duration) ([]byte, error) {
	req, err := http.NewRequestWithContext(f.c.ctx(), http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	res, err := f.c.http().Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, &metadata.ErrDownloadHTTP{StatusCode: res.StatusCode, URL: url}
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, maxLength+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > maxLength {
		return nil, &metadata.ErrDownloadLengthMismatch{Msg: fmt.Sprintf("%s: longer than %d bytes", url, maxLength)}
	}
	return b, nil
}

// Download fetches url into path, resuming with an HTTP Range request from
// what path already holds, and checks the whole file against the signed
// length and SHA-256 of tf. It streams: memory use does not grow with the
// image. progress (if not nil) hears the bytes on disk so far; room is
// how many more bytes the disk takes (negative: no limit).
func Download(ctx context.Context, hc *http.Client, url, path string, tf *metadata.TargetFiles, room int64, progress func(done, total int64)) error {
	if hc == nil {
		hc = &http.Client{}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	defer f.Close()
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	if have > tf.Length {
		// Longer than the signed image: not ours to resume.
		if err := f.Truncate(0); err != nil {
			return fmt.Errorf("download: %w", err)
		}
		have, _ = f.Seek(0, io.SeekStart)
	}
	if room >= 0 && tf.Length-have > room {
		return fmt.Errorf("%w: the image needs %d bytes, %d free", ErrNoSpace, tf.Length-have, room)
	}
	if have < tf.Length {
		if err := fetchRange(ctx, hc, url, f, have, tf.Length, progress); err != nil {
			return err
		}
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("download: %w", err)
	}
	return verifyFile(f, tf)
}

func fetchRange(ctx context.Context, hc *http.Client, url string, f *os.File, have, total int64, progress func(done, total int64)) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	if have > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
	}
	res, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	defer res.Body.Close()
	switch {
	case res.StatusCode == http.StatusPartialContent && have > 0:
	case res.StatusCode == http.StatusOK:
		// The server ignored the range: start over.
		if err := f.Truncate(0); err != nil {
			return fmt.Errorf("download: %w", err)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("download: %w", err)
		}
		have = 0
	default:
		return fmt.Errorf("download %s: %s", url, res.Status)
	}
	w := &progressWriter{w: f, done: have, total: total, f: progress}
	// One byte more than the signed length tells a too-long image.
	if _, err := io.Copy(w, io.LimitReader(res.Body, total-have+1)); err != nil {
		return fmt.Errorf("download: %w", err)
	}
	return nil
}

type progressWriter struct {
	w           io.Writer
	done, total int64
	f           func(done, total int64)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.done += int64(n)
	if p.f != nil {
		p.f(p.done, p.total)
	}
	return n, err
}

// verifyFile checks f against the signed length and hash.
func verifyFile(f *os.File, tf *metadata.TargetFiles) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if n != tf.Length {
		return fmt.Errorf("%w: %d bytes, signed %d", ErrMismatch, n, tf.Length)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != SHA256Hex(tf) {
		return fmt.Errorf("%w: sha256 %s, signed %s", ErrMismatch, got[:12], short(SHA256Hex(tf)))
	}
	return nil
}

// VerifyFile checks the file at path against the signed entry tf.
func VerifyFile(path string, tf *metadata.TargetFiles) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	defer f.Close()
	return verifyFile(f, tf)
}

// Fetch streams url and checks it against the signed length and SHA-256
// of tf without keeping it: what a verifier that only needs the verdict
// (a fleet test, a mirror check) does.
func Fetch(ctx context.Context, hc *http.Client, url string, tf *metadata.TargetFiles) error {
	if hc == nil {
		hc = &http.Client{}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("fetch: %w", err)
	}
	res, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("fetch: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch %s: %s", url, res.Status)
	}
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(res.Body, tf.Length+1))
	if err != nil {
		return fmt.Errorf("fetch: %w", err)
	}
	if n != tf.Length {
		return fmt.Errorf("%w: %d bytes, signed %d", ErrMismatch, n, tf.Length)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != SHA256Hex(tf) {
		return fmt.Errorf("%w: sha256 %s, signed %s", ErrMismatch, short(got), short(SHA256Hex(tf)))
	}
	return nil
}
