// Package updatesvc is the mock cloud's device update service, standing for
// the vendor-neutral update web service phones poll: per-model rules
// (approved, restore and pending versions), firmware images published as
// TUF targets in one repository per vendor, and downloads that resume with
// HTTP Range. The same service run on its own is a provisioning server: a
// second update authority.
package updatesvc

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/firmware"
	"github.com/deskphone/deskphone/internal/httpguard"
	"github.com/deskphone/deskphone/internal/jsonhttp"
	"github.com/deskphone/deskphone/internal/labdir"
)

// CheckPath is where phones post their check.
const CheckPath = firmware.CheckPath

// DefaultMaxPublish is the largest image Publish takes by default: well
// above the catalog's images (firmware.DefaultSize, 4 MiB) and far below
// what fills a disk. A service building larger images (Config.ImageSize)
// takes those plus publishHeadroom.
const DefaultMaxPublish = 64 << 20

// publishHeadroom is room for an image's header above its payload.
const publishHeadroom = 1 << 20

// ErrTooLarge means a published image exceeds the service's limit.
var ErrTooLarge = errors.New("image too large")

// Describe tells the service what a catalog firmware is: its manifest
// without the payload fields (vendor, traits), or an error when the
// catalog does not know the model or version. The program running the
// service supplies it, since the cloud does not link the firmware.
type Describe func(model, version string) (firmware.Manifest, error)

// Config configures a Service.
type Config struct {
	// Dir keeps the images. Required.
	Dir string
	// Name is the authority phones see ("update service", "provisioning
	// server").
	Name string
	// Clock signs metadata and paces downloads. Default: clock.Real{}.
	Clock clock.Clock
	// Describe lets approve build any catalog firmware; nil: only
	// published images can be approved.
	Describe Describe
	// ImageSize is the payload size of the images the service builds.
	// Default: firmware.DefaultSize.
	ImageSize int64
	// RateLimit caps each download in bytes per second; 0: none.
	RateLimit int64
	// MaxPublish is the largest image Publish takes, in bytes. Default:
	// DefaultMaxPublish, or ImageSize plus 1 MiB when that is larger.
	MaxPublish int64
	// Roots names the lab update root of each vendor; a vendor not listed
	// uses "<vendor>-1".
	Roots map[string]string
	// Lab is the lab directory holding the update roots' keys
	// (internal/labdir); nil: the installation's default. Phones accept
	// firmware signed by a service of their own installation only.
	Lab *labdir.Dir
}

// Rule is the update rule of one model.
type Rule struct {
	Model    string `json:"model"`
	Vendor   string `json:"vendor,omitempty"`
	Approved string `json:"approved,omitempty"`
	Restore  string `json:"restore,omitempty"`
	Pending  string `json:"pending,omitempty"`
	// PendingMACs are the test devices the pending version is for.
	PendingMACs []string `json:"pending_macs,omitempty"`
}

// CheckRequest and CheckResponse are the wire format, shared with phones.
type (
	CheckRequest  = firmware.CheckRequest
	CheckResponse = firmware.CheckResponse
)

// Service is the update service. Its methods are safe for concurrent use.
type Service struct {
	cfg Config

	mu    sync.Mutex
	rules map[string]*Rule          // by model
	repos map[string]*firmware.Repo // by vendor
	down  bool                      // answering 503, to test a phone's patience

	// Counters for the benchmark and the admin API.
	stats Stats
}

// Stats counts what the service served.
type Stats struct {
	Checks    int64 `json:"checks"`
	Downloads int64 `json:"downloads"`
	Bytes     int64 `json:"bytes"`
}

// New makes a service keeping its images in cfg.Dir.
func New(cfg Config) (*Service, error) {
	if cfg.Dir == "" {
		return nil, errors.New("update service: no directory")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Name == "" {
		cfg.Name = "update service"
	}
	if cfg.ImageSize <= 0 {
		cfg.ImageSize = firmware.DefaultSize
	}
	if cfg.MaxPublish <= 0 {
		cfg.MaxPublish = max(DefaultMaxPublish, cfg.ImageSize+publishHeadroom)
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, "images"), 0o700); err != nil {
		return nil, fmt.Errorf("update service: %w", err)
	}
	return &Service{cfg: cfg, rules: map[string]*Rule{}, repos: map[string]*firmware.Repo{}}, nil
}

// Name is the authority's name.
func (s *Service) Name() string { return s.cfg.Name }

func (s *Service) repo(vendor string) (*firmware.Repo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.repos[vendor]; ok {
		return r, nil
	}
	name := s.cfg.Roots[vendor]
	if name == "" {
		name = vendor + "-1"
	}
	r, err := firmware.NewRepo(s.cfg.Lab, name, s.cfg.Clock.Now())
	if err != nil {
		return nil, fmt.Errorf("update repository %s: %w", vendor, err)
	}
	s.repos[vendor] = r
	return r, nil
}

// store opens the folder of images. Every file the service writes or
// serves is reached through it, so no name, however it came, leads
// outside (os.Root refuses "..", absolute paths and symlinks out).
func (s *Service) store() (*os.Root, error) {
	return os.OpenRoot(filepath.Join(s.cfg.Dir, "images"))
}

// createTemp creates a new file for an image being received or built,
// named prefix and a random suffix, in the store's top folder.
func createTemp(root *os.Root, prefix string) (*os.File, string, error) {
	for range 100 {
		name := prefix + rand.Text()[:12]
		f, err := root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, name, err
	}
	return nil, "", fmt.Errorf("no free temporary name for %s", prefix)
}

// Publish adds an image built elsewhere: it is checked, stored and signed
// as a target of its vendor's repository.
func (s *Service) Publish(r io.Reader) (firmware.Manifest, error) {
	root, err := s.store()
	if err != nil {
		return firmware.Manifest{}, fmt.Errorf("publish: %w", err)
	}
	defer root.Close()
	tmp, name, err := createTemp(root, "publish-")
	if err != nil {
		return firmware.Manifest{}, fmt.Errorf("publish: %w", err)
	}
	defer root.Remove(name)
	defer tmp.Close()
	n, err := io.Copy(tmp, io.LimitReader(r, s.cfg.MaxPublish+1))
	if err != nil {
		return firmware.Manifest{}, fmt.Errorf("publish: %w", err)
	}
	if n > s.cfg.MaxPublish {
		return firmware.Manifest{}, fmt.Errorf("publish: %w: over %d bytes", ErrTooLarge, s.cfg.MaxPublish)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return firmware.Manifest{}, fmt.Errorf("publish: %w", err)
	}
	m, err := firmware.Check(tmp, "")
	if err != nil {
		return m, fmt.Errorf("publish: %w", err)
	}
	if m.Vendor == "" {
		return m, errors.New("publish: the image names no vendor")
	}
	if err := tmp.Close(); err != nil {
		return m, fmt.Errorf("publish: %w", err)
	}
	return m, s.sign(root, name, m)
}

// sign moves the checked image at name (in root) into place and
// publishes it.
func (s *Service) sign(root *os.Root, name string, m firmware.Manifest) error {
	f, err := root.Open(name)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	f.Close()
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	dst := m.TargetName()
	if err := root.MkdirAll(path.Dir(dst), 0o700); err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	if err := root.Rename(name, dst); err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	repo, err := s.repo(m.Vendor)
	if err != nil {
		return err
	}
	return repo.AddTarget(m.TargetName(), n, h.Sum(nil), m, s.cfg.Clock.Now())
}

// ensure makes sure the image of model at version is published, building
// it from the catalog when it is not, and returns its vendor and the
// version as the catalog spells it.
func (s *Service) ensure(model, version string) (string, string, error) {
	if s.cfg.Describe != nil {
		m, err := s.cfg.Describe(model, version)
		if err != nil {
			return "", "", err
		}
		if m.Version != "" {
			version = m.Version
		}
	}
	s.mu.Lock()
	for vendor, r := range s.repos {
		if _, ok := r.Target(firmware.TargetName(model, version)); ok {
			s.mu.Unlock()
			return vendor, version, nil
		}
	}
	s.mu.Unlock()
	if s.cfg.Describe == nil {
		return "", "", fmt.Errorf("no image of %s %s: publish one first", model, version)
	}
	m, err := s.cfg.Describe(model, version)
	if err != nil {
		return "", "", err
	}
	m.Model, m.Version, m.Built = model, version, s.cfg.Clock.Now().UTC()
	root, err := s.store()
	if err != nil {
		return "", "", fmt.Errorf("build %s %s: %w", model, version, err)
	}
	defer root.Close()
	tmp, name, err := createTemp(root, "build-")
	if err != nil {
		return "", "", fmt.Errorf("build %s %s: %w", model, version, err)
	}
	defer root.Remove(name)
	m, err = firmware.Build(tmp, m, s.cfg.ImageSize, nil)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", "", err
	}
	return m.Vendor, version, s.sign(root, name, m)
}

func (s *Service) rule(model string) *Rule {
	r, ok := s.rules[model]
	if !ok {
		r = &Rule{Model: model}
		s.rules[model] = r
	}
	return r
}

// Approve makes version the one every phone of model runs, building and
// signing its image if needed.
func (s *Service) Approve(model, version string) error {
	vendor, version, err := s.ensure(model, version)
	if err != nil {
		return fmt.Errorf("approve: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rule(model)
	r.Vendor, r.Approved = vendor, version
	return nil
}

// Restore makes version the one phones of model go back to, whatever the
// approved one; an empty version clears it.
func (s *Service) Restore(model, version string) error {
	vendor := ""
	if version != "" {
		var err error
		if vendor, version, err = s.ensure(model, version); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rule(model)
	if vendor != "" {
		r.Vendor = vendor
	}
	r.Restore = version
	return nil
}

// Pending offers version to the test devices macs only.
func (s *Service) Pending(model, version string, macs []string) error {
	if len(macs) == 0 {
		return errors.New("pending: name at least one MAC address")
	}
	vendor, version, err := s.ensure(model, version)
	if err != nil {
		return fmt.Errorf("pending: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rule(model)
	r.Vendor, r.Pending = vendor, version
	r.PendingMACs = nil
	for _, m := range macs {
		r.PendingMACs = append(r.PendingMACs, strings.ToLower(m))
	}
	return nil
}

// RotateRoot moves vendor's repository to the lab root name.
func (s *Service) RotateRoot(vendor, name string) error {
	repo, err := s.repo(vendor)
	if err != nil {
		return err
	}
	return repo.RotateRoot(name, s.cfg.Clock.Now())
}

// SetDown makes the service answer 503 to phones (true) or serve again.
func (s *Service) SetDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
}

// Rules lists the rules, by model.
func (s *Service) Rules() []Rule {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Rule, 0, len(s.rules))
	for _, r := range s.rules {
		c := *r
		c.PendingMACs = slices.Clone(r.PendingMACs)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Model < out[j].Model })
	return out
}

// Stats is what the service has served so far.
func (s *Service) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Check answers a phone: the pending version for a listed test device, else
// the restore version, else the approved one.
func (s *Service) Check(req CheckRequest) CheckResponse {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Checks++
	res := CheckResponse{Source: s.cfg.Name}
	r, ok := s.rules[req.Model]
	if !ok {
		return res
	}
	switch {
	case r.Pending != "" && slices.Contains(r.PendingMACs, strings.ToLower(req.MAC)):
		res.Version = r.Pending
	case r.Restore != "":
		res.Version = r.Restore
	default:
		res.Version = r.Approved
	}
	if res.Version == "" {
		return res
	}
	res.Target = firmware.TargetName(req.Model, res.Version)
	res.MetadataURL = "/tuf/" + r.Vendor + "/"
	res.ImageURL = "/images/" + res.Target
	if repo := s.repos[r.Vendor]; repo != nil {
		if tf, ok := repo.Target(res.Target); ok {
			res.Length, res.SHA256 = tf.Length, firmware.SHA256Hex(tf)
		}
	}
	return res
}

// PublishType is the media type of POST /admin/firmware/publish's body,
// the image; the other admin verbs take JSON.
const PublishType = "application/octet-stream"

// handler serves phones (the check, the TUF metadata, the images) and, on
// /admin/firmware/, the admin API, which answers loopback clients only and
// which guard keeps web pages from (a foreign Origin, a Host that is not
// the listener's, a body of another type: see httpguard).
func (s *Service) handler(guard *httpguard.Guard) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+CheckPath, s.serveCheck)
	mux.HandleFunc("GET /tuf/{vendor}/{file}", s.serveMetadata)
	mux.HandleFunc("GET /images/", s.serveImage)
	mux.Handle("GET /admin/firmware/rules", guard.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		jsonhttp.Write(w, http.StatusOK, s.Rules())
	})))
	mux.Handle("GET /admin/firmware/stats", guard.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		jsonhttp.Write(w, http.StatusOK, s.Stats())
	})))
	// The image is the one body that is not JSON.
	publish, verbs := guard.Wrap(http.HandlerFunc(s.serveAdmin), PublishType), guard.Wrap(http.HandlerFunc(s.serveAdmin), httpguard.JSON)
	mux.HandleFunc("POST /admin/firmware/{verb}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("verb") == "publish" {
			publish.ServeHTTP(w, r)
			return
		}
		verbs.ServeHTTP(w, r)
	})
	return mux
}

func (s *Service) isDown(w http.ResponseWriter) bool {
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down {
		http.Error(w, "update service unavailable", http.StatusServiceUnavailable)
	}
	return down
}

func (s *Service) serveCheck(w http.ResponseWriter, r *http.Request) {
	if s.isDown(w) {
		return
	}
	var req CheckRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
		jsonhttp.Error(w, http.StatusBadRequest, fmt.Errorf("check: %w", err))
		return
	}
	if req.Model == "" {
		jsonhttp.Error(w, http.StatusBadRequest, errors.New("check: no model"))
		return
	}
	jsonhttp.Write(w, http.StatusOK, s.Check(req))
}

func (s *Service) serveMetadata(w http.ResponseWriter, r *http.Request) {
	if s.isDown(w) {
		return
	}
	s.mu.Lock()
	repo := s.repos[r.PathValue("vendor")]
	s.mu.Unlock()
	if repo == nil {
		http.NotFound(w, r)
		return
	}
	b, ok := repo.Metadata(r.PathValue("file"), s.cfg.Clock.Now())
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// serveImage streams an image from disk, with Range, paced by RateLimit.
func (s *Service) serveImage(w http.ResponseWriter, r *http.Request) {
	if s.isDown(w) {
		return
	}
	target := strings.TrimPrefix(r.URL.Path, "/images/")
	if target == "" || strings.Contains(target, "..") {
		http.NotFound(w, r)
		return
	}
	f, err := os.OpenInRoot(filepath.Join(s.cfg.Dir, "images"), target)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	s.mu.Lock()
	s.stats.Downloads++
	s.mu.Unlock()
	cw := &countingWriter{ResponseWriter: w}
	var out http.ResponseWriter = cw
	if s.cfg.RateLimit > 0 {
		out = &pacedWriter{ResponseWriter: cw, rate: s.cfg.RateLimit, clock: s.cfg.Clock, ctx: r.Context().Done()}
	}
	http.ServeContent(out, r, "", time.Time{}, f)
	s.mu.Lock()
	s.stats.Bytes += cw.n
	s.mu.Unlock()
}

type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n += int64(n)
	return n, err
}

// pacedWriter writes at most rate bytes per second of the service's clock.
type pacedWriter struct {
	http.ResponseWriter
	rate  int64
	clock clock.Clock
	ctx   <-chan struct{}
}

func (p *pacedWriter) Write(b []byte) (int, error) {
	written := 0
	chunk := int(max(p.rate/10, 1))
	for written < len(b) {
		n := min(chunk, len(b)-written)
		k, err := p.ResponseWriter.Write(b[written : written+n])
		written += k
		if err != nil {
			return written, err
		}
		if f, ok := p.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		wake := make(chan struct{})
		t := p.clock.AfterFunc(time.Duration(int64(n)*int64(time.Second)/p.rate), func() { close(wake) })
		select {
		case <-wake:
		case <-p.ctx:
			t.Stop()
			return written, errors.New("client gone")
		}
	}
	return written, nil
}

func (p *pacedWriter) Flush() {
	if f, ok := p.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (c *countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// adminRequest is the body of the admin verbs.
func (s *Service) serveAdmin(w http.ResponseWriter, r *http.Request) {
	if !isLoopback(r.RemoteAddr) {
		jsonhttp.Error(w, http.StatusForbidden, errors.New("admin API on loopback only"))
		return
	}
	verb := r.PathValue("verb")
	if verb == "publish" {
		if r.ContentLength > s.cfg.MaxPublish {
			jsonhttp.Error(w, http.StatusRequestEntityTooLarge, fmt.Errorf("publish: %w: over %d bytes", ErrTooLarge, s.cfg.MaxPublish))
			return
		}
		m, err := s.Publish(http.MaxBytesReader(w, r.Body, s.cfg.MaxPublish+1))
		var mbe *http.MaxBytesError
		switch {
		case errors.Is(err, ErrTooLarge), errors.As(err, &mbe):
			jsonhttp.Error(w, http.StatusRequestEntityTooLarge, err)
			return
		case err != nil:
			jsonhttp.Error(w, http.StatusBadRequest, err)
			return
		}
		jsonhttp.Write(w, http.StatusOK, map[string]string{"published": m.TargetName(), "vendor": m.Vendor})
		return
	}
	c := commandOf(verb)
	if c == nil {
		jsonhttp.Error(w, http.StatusNotFound, fmt.Errorf("no admin verb %q (approve, restore, pending, publish, rotate, down)", verb))
		return
	}
	var req Request
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
		jsonhttp.Error(w, http.StatusBadRequest, fmt.Errorf("%s: %w", verb, err))
		return
	}
	if err := c.Do(s, req); err != nil {
		jsonhttp.Error(w, http.StatusBadRequest, err)
		return
	}
	jsonhttp.Write(w, http.StatusOK, s.Rules())
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Server is a running service listener.
type Server struct {
	srv          *http.Server
	addr, scheme string
	done         chan struct{}
}

// Listen serves the service over HTTP on addr (host:port, port 0 for a
// free one) until Close.
func (s *Service) Listen(addr string) (*Server, error) { return s.ListenTLS(addr, nil) }

// ListenTLS serves the service over HTTPS with the certificate cert gives
// (the cloud's, so phones check it against their CA store as they do
// for SIP); nil cert serves plain HTTP.
func (s *Service) ListenTLS(addr string, cert func(*tls.ClientHelloInfo) (*tls.Certificate, error)) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.cfg.Name, err)
	}
	scheme := "http"
	if cert != nil {
		ln = tls.NewListener(ln, &tls.Config{GetCertificate: cert, MinVersion: tls.VersionTLS12})
		scheme = "https"
	}
	guard, err := httpguard.New(ln.Addr().String())
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("%s: %w", s.cfg.Name, err)
	}
	// ReadTimeout bounds a slow body; a publish uploads a whole image.
	srv := &Server{srv: &http.Server{
		Handler:           s.handler(guard),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}, addr: ln.Addr().String(), scheme: scheme, done: make(chan struct{})}
	go func() {
		defer close(srv.done)
		_ = srv.srv.Serve(ln)
	}()
	return srv, nil
}

// Addr is the listener's host:port.
func (s *Server) Addr() string { return s.addr }

// URL is the service's base URL.
func (s *Server) URL() string { return s.scheme + "://" + s.addr }

// Close stops the listener and its connections.
func (s *Server) Close() error {
	err := s.srv.Close()
	<-s.done
	return err
}
