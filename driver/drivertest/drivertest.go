// Package drivertest boots phones, and the mock cloud they register to,
// for tests: one helper instead of one per test package.
package drivertest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/backend"
	"github.com/deskphone/deskphone/backend/updatesvc"
	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/cloud"
	"github.com/deskphone/deskphone/driver"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/statedir"
)

// Start is where the tests' fake clocks begin: a Monday morning.
var Start = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// Timeout bounds the waits of a test in wall time: generous, as the
// machine is shared and TLS handshakes take CPU.
const Timeout = 20 * time.Second

// Phone builds and starts the phone of spec for the test, with a state
// directory of the test and, unless spec has one, a fake clock at Start.
// It is closed when the test ends; a failed test logs its screen and
// syslog.
func Phone(t testing.TB, spec driver.Spec) *phone.Phone {
	t.Helper()
	if spec.StateDir == "" {
		spec.StateDir = t.TempDir()
	}
	if spec.Clock == nil {
		spec.Clock = clock.NewFake(Start)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p, stop, err := driver.Build(ctx, spec)
	if err != nil {
		cancel()
		t.Fatalf("phone %s: %v", spec.Model, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			Show(t, p)
		}
		if err := stop(); err != nil {
			t.Errorf("phone %s: %v", spec.Model, err)
		}
		cancel()
	})
	return p
}

// Show logs the phone's screen and syslog.
func Show(t testing.TB, p *phone.Phone) {
	t.Helper()
	var b strings.Builder
	for _, l := range p.Logs(0) {
		b.WriteString(l.Text)
		b.WriteByte('\n')
	}
	t.Logf("----- phone %s (%s) -----\n%s\n%s", p.Model().ID, p.Firmware().Version, p.Screen().Text(), b.String())
}

// Cloud starts the mock cloud on a free loopback port for the test, with
// audio on its service users, on clk (nil: a fake clock standing at Start,
// the phones' default, so the certificate it issues is valid on their
// clocks).
func Cloud(t testing.TB, clk clock.Clock) *backend.Backend {
	t.Helper()
	if clk == nil {
		clk = clock.NewFake(Start)
	}
	return start(t, cloud.Config{Clock: clk})
}

// CloudWith starts the mock cloud configured by cfg for the test, its
// service users without audio unless cfg has media, and stops it at the
// end; without Listen it serves TLS on a free loopback port, without
// StateDir it keeps its state in the test's temporary folder.
func CloudWith(t testing.TB, cfg backend.Config) *backend.Backend {
	t.Helper()
	return start(t, cloud.Config{Backend: cfg, Clock: cfg.Clock, Silent: true})
}

// start starts the cloud of cfg in the test's temporary folder.
func start(t testing.TB, cfg cloud.Config) *backend.Backend {
	t.Helper()
	cfg.Dir = t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	c, err := cloud.Start(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); c.Close() })
	return c.Backend
}

// Account is user's account on the cloud (password "secret").
func Account(b *backend.Backend, user string) *statedir.Account {
	return &statedir.Account{Server: "sips:" + b.Addr("tls"), User: user, Password: "secret", Domain: b.Domain()}
}

// Wait waits until cond holds on p, failing the test after Timeout.
func Wait(t testing.TB, p *phone.Phone, cond driver.Cond) {
	t.Helper()
	if err := driver.Wait(context.Background(), p, cond.Check, driver.WaitOptions{Timeout: Timeout}); err != nil {
		t.Fatalf("%s: wait %s: %v\n%s", p.Model().ID, cond, err, p.Screen().Text())
	}
}

// Status waits until the status key has the value want.
func Status(t testing.TB, p *phone.Phone, key, want string) {
	t.Helper()
	Wait(t, p, driver.Cond{Status: map[string]string{key: want}})
}

// UpdateService starts an update service for the test: cfg with, where it
// leaves them unset, a folder of the test, a fake clock at Start, the
// builtin catalog's images and a small image size. It returns the service
// and its URL; it stops when the test ends.
func UpdateService(t testing.TB, cfg updatesvc.Config) (*updatesvc.Service, string) {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.NewFake(Start)
	}
	if cfg.Describe == nil {
		cat, err := catalog.Builtin()
		if err != nil {
			t.Fatal(err)
		}
		cfg.Describe = driver.FirmwareDescriber(cat)
	}
	if cfg.ImageSize == 0 {
		cfg.ImageSize = 256 << 10
	}
	s, err := updatesvc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return s, srv.URL()
}
