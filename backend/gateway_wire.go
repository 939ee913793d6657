package backend

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/deskphone/deskphone/backend/gateway"
	"github.com/deskphone/deskphone/backend/idp"
	"github.com/deskphone/deskphone/internal/httpguard"
)

// DefaultGateway is where `deskphone backend` serves the Teams SIP
// Gateway's provisioning unless told otherwise.
const DefaultGateway = "127.0.0.1:8064"

// newGateway builds the gateway on the cloud: its clock, its directory
// (a user's number is the extension), pairing by the identity provider,
// check-sync and the location service of the SIP side (gateway_sip.go).
func (b *Backend) newGateway() error {
	gw, err := gateway.New(gateway.Config{
		Now:           b.clock.Now,
		Lookup:        b.gatewayUser,
		StartPairing:  b.gatewayPairing,
		CheckSync:     b.gatewayCheckSync,
		Registered:    b.gatewayRegistered,
		Domain:        b.cfg.Domain,
		AddCommonArea: b.addCommonArea,
		BatchDelay:    b.cfg.GatewayBatchDelay,
		After: func(d time.Duration, f func()) func() bool {
			return b.clock.AfterFunc(d, f).Stop
		},
	})
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	b.gw = gw
	return nil
}

// Gateway is the Teams SIP Gateway, nil without Config.Gateway.
func (b *Backend) Gateway() *gateway.Service { return b.gw }

// GatewayURL is the gateway's base URL, http://HOST:PORT (a phone's
// provisioning URL adds /REGION[/tenantid/GUID]); "" when there is none
// or the backend has not started.
func (b *Backend) GatewayURL() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.gwAddr == "" {
		return ""
	}
	return "http://" + b.gwAddr
}

// gatewayUser finds a user by name (not by extension: a sign-in name).
func (b *Backend) gatewayUser(name string) (gateway.User, bool) {
	if _, ok := lookupService(name); ok {
		return gateway.User{}, false
	}
	u, ok := b.lookupUser(name)
	if !ok || !strings.EqualFold(u.User, name) {
		return gateway.User{}, false
	}
	return gateway.User{Name: u.User, DisplayName: u.DisplayName, Number: u.Extension}, true
}

// gatewayPairing asks the identity provider for a device code on a SIP
// device's behalf.
func (b *Backend) gatewayPairing(label string) (gateway.Pairing, error) {
	p, err := b.idp.StartDevicePairing(label)
	if err != nil {
		return gateway.Pairing{}, err
	}
	return gateway.Pairing{
		Code: p.UserCode, VerificationURI: p.VerificationURI, Expires: p.Expires, Interval: p.Interval,
		Poll: func() (string, error) {
			user, err := p.Poll()
			switch {
			case errors.Is(err, idp.ErrDeviceDenied):
				return "", gateway.ErrPairingDenied
			case errors.Is(err, idp.ErrDeviceExpired):
				return "", gateway.ErrPairingExpired
			}
			return user, err
		},
		Cancel: p.Cancel,
	}, nil
}

// addCommonArea finds or adds the directory user of a common-area phone,
// with the first free extension from gateway.CommonAreaFirst and a random
// password (the phone registers with the gateway's credential).
func (b *Backend) addCommonArea(name, location string) (gateway.User, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if u, ok := b.users.lookup(name); ok && strings.EqualFold(u.User, name) {
		return gateway.User{Name: u.User, DisplayName: u.DisplayName, Number: u.Extension}, nil
	}
	for n := gateway.CommonAreaFirst; n <= gateway.CommonAreaLast; n++ {
		ext := strconv.Itoa(n)
		if _, taken := b.users.lookup(ext); taken {
			continue
		}
		if _, svc := lookupService(ext); svc {
			continue
		}
		u := User{User: name, Password: rand.Text(), DisplayName: location, Extension: ext}
		if err := u.Validate(); err != nil {
			return gateway.User{}, err
		}
		if err := b.users.add(u); err != nil {
			return gateway.User{}, err
		}
		b.log.Info("common-area account added", "user", name, "extension", ext, "location", location)
		return gateway.User{Name: u.User, DisplayName: u.DisplayName, Number: ext}, nil
	}
	return gateway.User{}, errors.New("no free common-area extension")
}

// listenGateway opens the gateway's listener; serve runs it. Called from
// Start with b.mu held.
func (b *Backend) listenGateway(ctx context.Context, lc net.ListenConfig) (net.Listener, func(), error) {
	ln, err := lc.Listen(ctx, "tcp", b.cfg.Gateway)
	if err != nil && b.cfg.GatewayFallback {
		b.log.Info("gateway address busy, using a free port", "addr", b.cfg.Gateway, "error", err)
		ln, err = lc.Listen(ctx, "tcp", "127.0.0.1:0")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("gateway listen %s: %w", b.cfg.Gateway, err)
	}
	addr := ln.Addr().String()
	// Phones are no browsers: the guard keeps pages out (foreign
	// Origin, form bodies); on loopback it checks the Host too.
	var opts []httpguard.Option
	if host, _, _ := net.SplitHostPort(addr); !net.ParseIP(host).IsLoopback() {
		opts = append(opts, httpguard.AnyHost())
	}
	guard, err := httpguard.New(addr, opts...)
	if err != nil {
		ln.Close()
		return nil, nil, fmt.Errorf("gateway: %w", err)
	}
	srv := &http.Server{
		Handler:           guard.Wrap(b.gw.Handler(), httpguard.JSON),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(b.log.Handler(), slog.LevelWarn),
	}
	b.gwAddr, b.gwServer = addr, srv
	return ln, func() { _ = srv.Serve(ln) }, nil
}

// gatewayRegistrar is the SIP server the gateway's devices register to:
// the TLS listener. Called with b.mu held.
func (b *Backend) gatewayRegistrar() string {
	for _, l := range b.listeners {
		if l.transport == "TLS" {
			return "sips:" + l.addr()
		}
	}
	return ""
}
