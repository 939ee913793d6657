package btoe_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/btoe"
	"github.com/deskphone/deskphone/driver"
	"github.com/deskphone/deskphone/driver/drivertest"
	"github.com/deskphone/deskphone/internal/labdir"
)

// TestMain gives the tests a lab directory of their own (see labdir).
func TestMain(m *testing.M) { os.Exit(labdir.RunTests(m)) }

// The PC's command reaches the phone's pc verb and its refusal comes
// back; a socket a killed phone left is replaced; after Close nothing
// answers and the socket is gone.
func TestSendAndClose(t *testing.T) {
	p := drivertest.Phone(t, driver.Spec{Model: "t46g"})
	dir := p.StateDir()
	if err := os.WriteFile(filepath.Join(dir, btoe.Socket), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := btoe.Listen(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := btoe.Send(dir, "frob"); err == nil || !strings.Contains(err.Error(), "pc needs") {
		t.Errorf("frob: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, btoe.Socket)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket after close: %v", err)
	}
	if _, err := btoe.Send(dir, "lock"); !errors.Is(err, btoe.ErrNoPhone) {
		t.Errorf("send after close: %v", err)
	}
}

// Close ends a connection that never sends its command, rather than
// waiting out its timeout.
func TestCloseEndsIdleConnection(t *testing.T) {
	p := drivertest.Phone(t, driver.Spec{Model: "t46g"})
	s, err := btoe.Listen(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("unix", filepath.Join(p.StateDir(), btoe.Socket))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The command line is not finished: the server is reading.
	if _, err := conn.Write([]byte("lo")); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case <-closed:
	case <-time.After(btoe.Timeout / 2):
		t.Fatal("Close waited for an idle connection")
	}
}
