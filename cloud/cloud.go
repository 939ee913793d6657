// Package cloud assembles the embedded mock cloud: the SIP backend with
// its identity provider and policy, the media its service users answer
// with, the device update service and, when asked, a provisioning server.
// `deskphone run`, scenarios and tests start it here, the one place that
// knows how the parts fit (which certificate the update service shows,
// where each keeps its state).
package cloud

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/deskphone/deskphone/backend"
	"github.com/deskphone/deskphone/backend/updatesvc"
	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/driver"
	"github.com/deskphone/deskphone/internal/inflight"
	"github.com/deskphone/deskphone/media"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/statedir"
)

// Config says which parts of the cloud to start.
type Config struct {
	// Dir is where the cloud keeps its state (the backend's, voicemail,
	// update/ and provisioning/); the caller owns and removes it.
	Dir string
	// Backend is the SIP backend's configuration. What it leaves empty
	// is filled: TLS on a free loopback port, Dir, Clock, Inflight, and
	// the media of Media.
	Backend backend.Config
	Clock   clock.Clock
	// Inflight, when set, tracks what the cloud has in flight (scenarios
	// on virtual time).
	Inflight *inflight.Tracker
	// Media is the engine the service users answer with; nil makes one
	// of the cloud's own (SRTP when offered, the default codecs), closed
	// with it.
	Media *media.Engine
	// Silent: the service users answer without audio (no engine).
	Silent bool
	// Admin serves the admin API and the identity provider on a free
	// loopback port (phones sign in there).
	Admin bool
	// NoGateway runs no Teams SIP Gateway; otherwise, unless
	// Backend.Gateway says where, it serves on a free loopback port
	// (Cloud.GatewayURL).
	NoGateway bool
	// Users are added once the backend runs.
	Users []backend.User
	// Update starts the device update service, Provisioning a
	// provisioning server beside it; nil: none.
	Update, Provisioning *Update
	// Catalog describes the firmware the update services build; nil: the
	// built-in one.
	Catalog *catalog.Catalog
}

// Update configures an update authority.
type Update struct {
	// Addr is where it listens: "" a free loopback port; when Addr is
	// busy, a free port too.
	Addr string
	// TLS serves it with the backend's certificate, as the real in-band
	// service shares the cloud's PKI: a phone that no longer trusts the
	// cloud cannot reach it either.
	TLS bool
	// ImageSize of the images it builds; 0: the firmware default.
	ImageSize int64
}

// Cloud is a running embedded cloud.
type Cloud struct {
	*backend.Backend
	// Update and Provisioning are the update authorities started (nil
	// otherwise), at UpdateURL and ProvisioningURL.
	Update, Provisioning       *updatesvc.Service
	UpdateURL, ProvisioningURL string
	servers                    []*updatesvc.Server
	engine                     *media.Engine
}

// Start starts the cloud of cfg; Close stops it (as does the end of ctx,
// for the backend).
func Start(ctx context.Context, cfg Config) (_ *Cloud, err error) {
	if cfg.Dir == "" {
		return nil, errors.New("mock cloud: no state directory")
	}
	bc := cfg.Backend
	if len(bc.Listen) == 0 {
		bc.Listen = []string{"tls:127.0.0.1:0"}
	}
	if bc.StateDir == "" {
		bc.StateDir = cfg.Dir
	}
	if bc.Clock == nil {
		bc.Clock = cfg.Clock
	}
	if bc.Inflight == nil {
		bc.Inflight = cfg.Inflight
	}
	if cfg.Admin && bc.AdminListen == "" {
		bc.AdminListen = "127.0.0.1:0"
	}
	if !cfg.NoGateway && bc.Gateway == "" {
		bc.Gateway = "127.0.0.1:0"
	}
	c := &Cloud{}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	if bc.Media == nil && !cfg.Silent {
		engine := cfg.Media
		if engine == nil {
			md, err := driver.CloudMedia()
			if err != nil {
				return nil, fmt.Errorf("mock cloud: %w", err)
			}
			c.engine, engine = md.Engine, md.Engine
		}
		bc.Media = backend.EngineMedia(engine, filepath.Join(cfg.Dir, "voicemail"))
	}
	b, err := backend.New(bc)
	if err != nil {
		return nil, fmt.Errorf("mock cloud: %w", err)
	}
	if err := b.Start(ctx); err != nil {
		b.Close()
		return nil, fmt.Errorf("mock cloud: %w", err)
	}
	c.Backend = b
	for _, u := range cfg.Users {
		if err := b.AddUser(u); err != nil {
			return nil, fmt.Errorf("mock cloud: %w", err)
		}
	}
	if cfg.Update != nil {
		if c.Update, c.UpdateURL, err = c.startUpdate(cfg, "update service", "update", cfg.Update); err != nil {
			return nil, fmt.Errorf("update service: %w", err)
		}
	}
	if cfg.Provisioning != nil {
		if c.Provisioning, c.ProvisioningURL, err = c.startUpdate(cfg, "provisioning server", "provisioning", cfg.Provisioning); err != nil {
			return nil, fmt.Errorf("provisioning server: %w", err)
		}
	}
	return c, nil
}

// startUpdate starts one update authority named name, its state in dir.
func (c *Cloud) startUpdate(cfg Config, name, dir string, u *Update) (*updatesvc.Service, string, error) {
	cat := cfg.Catalog
	if cat == nil {
		var err error
		if cat, err = catalog.Builtin(); err != nil {
			return nil, "", err
		}
	}
	svc, err := updatesvc.New(updatesvc.Config{Dir: filepath.Join(cfg.Dir, dir), Name: name, Clock: cfg.Clock,
		Describe: driver.FirmwareDescriber(cat), ImageSize: u.ImageSize})
	if err != nil {
		return nil, "", err
	}
	listen := func(addr string) (*updatesvc.Server, error) {
		if u.TLS {
			return svc.ListenTLS(addr, c.GetCertificate)
		}
		return svc.Listen(addr)
	}
	addr := u.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	srv, err := listen(addr)
	if err != nil && addr != "127.0.0.1:0" {
		srv, err = listen("127.0.0.1:0")
	}
	if err != nil {
		return nil, "", err
	}
	c.servers = append(c.servers, srv)
	return svc, srv.URL(), nil
}

// Account is the account of user on the cloud, as a phone registers with
// it.
func (c *Cloud) Account(user string) (statedir.Account, error) {
	for _, u := range c.Users() {
		if u.User == user {
			return statedir.Account{Server: "sips:" + c.Addr("tls"), User: u.User, Password: u.Password,
				Domain: c.Domain(), DisplayName: u.DisplayName}, nil
		}
	}
	return statedir.Account{}, fmt.Errorf("mock cloud: %w %q", backend.ErrUnknownUser, user)
}

// Close stops every part the cloud started.
func (c *Cloud) Close() error {
	var err error
	if c.Backend != nil {
		err = c.Backend.Close()
	}
	for _, s := range c.servers {
		err = errors.Join(err, s.Close())
	}
	if c.engine != nil {
		c.engine.Close()
	}
	return err
}
