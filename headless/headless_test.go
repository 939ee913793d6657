package headless_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/headless"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
)

func session(t *testing.T) *headless.Session {
	t.Helper()
	cat, _ := catalog.Builtin()
	m, _ := cat.Model("c450hd")
	clk := clock.NewFake(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	p, err := phone.New(m, "", phone.WithClock(clk), phone.WithStateDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	p.Start(context.Background())
	t.Cleanup(func() { p.Close() })
	return &headless.Session{Phone: p, Clock: clk}
}

func TestWait(t *testing.T) {
	s := session(t)
	if _, err := s.Exec("wait call=idle 1s"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Exec("wait registration_error= 1s"); err != nil {
		t.Fatalf("empty value: %v", err)
	}
	if _, err := s.Exec("press menu"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Exec("wait menu=Menu 1s"); err != nil {
		t.Fatal(err)
	}
	_, err := s.Exec("wait call=connected 50ms")
	if err == nil || !strings.Contains(err.Error(), "call=idle after 50ms, not connected") {
		t.Fatalf("timeout: %v", err)
	}
	for _, bad := range []string{"wait", "wait registered", "wait nosuchkey=1 10ms"} {
		if _, err := s.Exec(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestRunFraming(t *testing.T) {
	s := session(t)
	var out strings.Builder
	in := strings.NewReader("# a comment\n\nscreen\nbogus\nhelp\nquit\nscreen\n")
	if err := s.Run(context.Background(), in, &out); err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(out.String(), "--\n")
	if len(blocks) != 4 || blocks[3] != "" {
		t.Fatalf("want 3 blocks, got %d:\n%s", len(blocks)-1, out.String())
	}
	if !strings.HasPrefix(blocks[1], "error: unknown command \"bogus\"") || !strings.Contains(blocks[2], "wait KEY=VALUE") {
		t.Fatalf("blocks:\n%s", out.String())
	}
}
