package cloud_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/backend"
	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/cloud"
	"github.com/deskphone/deskphone/internal/labdir"
)

// TestMain gives the tests a lab directory of their own (see labdir).
func TestMain(m *testing.M) { os.Exit(labdir.RunTests(m)) }

// The whole cloud starts from one configuration: the backend with its
// admin API, users, the in-band update service over the cloud's TLS and
// a provisioning server; Close stops every part.
func TestStart(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	c, err := cloud.Start(context.Background(), cloud.Config{
		Dir: t.TempDir(), Clock: clk, Admin: true,
		Users:        []backend.User{{User: "erin", Password: "pw", DisplayName: "Erin"}},
		Update:       &cloud.Update{TLS: true, ImageSize: 64 << 10},
		Provisioning: &cloud.Update{ImageSize: 64 << 10},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.AdminAddr() == "" || c.Addr("tls") == "" {
		t.Errorf("admin %q, tls %q", c.AdminAddr(), c.Addr("tls"))
	}
	if !strings.HasPrefix(c.GatewayURL(), "http://127.0.0.1:") || c.Gateway() == nil {
		t.Errorf("gateway %q", c.GatewayURL())
	}
	if !strings.HasPrefix(c.UpdateURL, "https://") || !strings.HasPrefix(c.ProvisioningURL, "http://") {
		t.Errorf("update %q, provisioning %q", c.UpdateURL, c.ProvisioningURL)
	}
	if c.Update == nil || c.Provisioning == nil || c.Provisioning.Name() != "provisioning server" {
		t.Errorf("update authorities %v %v", c.Update, c.Provisioning)
	}
	acc, err := c.Account("erin")
	if err != nil || acc.Password != "pw" || acc.DisplayName != "Erin" || acc.Server != "sips:"+c.Addr("tls") {
		t.Errorf("account %+v, %v", acc, err)
	}
	if _, err := c.Account("nobody"); !errors.Is(err, backend.ErrUnknownUser) {
		t.Errorf("account of nobody: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

// A user the cloud cannot add, or no state directory, fails the start.
func TestStartFails(t *testing.T) {
	if _, err := cloud.Start(context.Background(), cloud.Config{}); err == nil {
		t.Error("started without a state directory")
	}
	_, err := cloud.Start(context.Background(), cloud.Config{Dir: t.TempDir(), Silent: true,
		Users: []backend.User{{User: "alice", Password: "x"}}})
	if !errors.Is(err, backend.ErrUserExists) {
		t.Errorf("a user twice: %v", err)
	}
}
