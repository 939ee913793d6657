package headless_test

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/driver"
	"github.com/deskphone/deskphone/driver/drivertest"
	"github.com/deskphone/deskphone/headless"
	"github.com/deskphone/deskphone/internal/labdir"
)

func TestMain(m *testing.M) {
	sip.SetDefaultLogger(slog.New(slog.DiscardHandler))
	os.Exit(labdir.RunTests(m))
}

func session(t *testing.T) *headless.Session {
	t.Helper()
	return sessionWith(t, driver.Spec{Model: "c450hd"})
}

// sessionWith is a session on the phone of spec, on a fake clock.
func sessionWith(t *testing.T, spec driver.Spec) *headless.Session {
	t.Helper()
	clk := clock.NewFake(drivertest.Start)
	spec.Clock = clk
	return &headless.Session{Target: driver.Target{Phone: drivertest.Phone(t, spec), Clock: clk}}
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

// A line over MaxLine gets an error reply and the session goes on; so does
// a dial of a million digits, refused before any key is pressed.
func TestOverlongInput(t *testing.T) {
	s := session(t)
	var out strings.Builder
	in := strings.NewReader(strings.Repeat("x", 1<<20) + "\ndial " + strings.Repeat("1", 60000) + "\nstatus\nquit\n")
	if err := s.Run(context.Background(), in, &out); err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(out.String(), "--\n")
	if len(blocks) != 4 {
		t.Fatalf("want 3 replies, got %d:\n%.2000s", len(blocks)-1, out.String())
	}
	if !strings.HasPrefix(blocks[0], "error: line longer than") || !strings.Contains(blocks[1], "error: dial: 60000 characters is too long") ||
		!strings.Contains(blocks[2], "call=idle") {
		t.Fatalf("replies:\n%.2000s", out.String())
	}
}

// A last word that reads as a timeout must be one; anything else in the
// value is part of it.
func TestWaitTimeoutArgument(t *testing.T) {
	s := session(t)
	tests := []struct {
		line, wantErr string
	}{
		{"wait call=idle 3x", `timeout "3x" is not a duration`},
		{"wait call=idle 0s", `timeout "0s" is not a duration`},
		{"wait call=idle 1h2", `timeout "1h2" is not a duration`},
		{"wait call=idle 20ms", ""},
		{"wait registration_error= 20ms", ""},
		{"wait remote=Bob 1002 20ms", "remote= after 20ms, not Bob 1002"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			_, err := s.Exec(tt.line)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// Call commands without a call say so instead of showing the idle screen.
func TestNoCall(t *testing.T) {
	s := session(t)
	for _, cmd := range []string{"answer", "hold", "resume", "transfer 1002"} {
		t.Run(cmd, func(t *testing.T) {
			name, _, _ := strings.Cut(cmd, " ")
			reply, err := s.Exec(cmd)
			if err == nil || !strings.Contains(err.Error(), "no call to "+name) {
				t.Fatalf("reply %q, error %v; want no call to %s", reply, err, name)
			}
		})
	}
}

// The reply to answer shows the call answered, not the ringing screen.
func TestAnswerRepliesWithTheCall(t *testing.T) {
	cloud := drivertest.Cloud(t, nil)
	alice := sessionWith(t, driver.Spec{Model: "vvx601", Account: drivertest.Account(cloud, "alice")})
	bob := sessionWith(t, driver.Spec{Model: "t48g", Account: drivertest.Account(cloud, "bob")})
	for _, s := range []*headless.Session{alice, bob} {
		if _, err := s.Exec("wait registered=yes 20s"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := alice.Exec("dial bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Exec("wait call=ringing 20s"); err != nil {
		t.Fatal(err)
	}
	reply, err := bob.Exec("answer")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(reply, "Incoming call") {
		t.Fatalf("answer replied with the ringing screen:\n%s", reply)
	}
	if _, err := bob.Exec("expect call=connected"); err != nil {
		t.Fatalf("after answer: %v\n%s", err, reply)
	}
	// A second answer has no call left to answer.
	if _, err := bob.Exec("answer"); err == nil || !strings.Contains(err.Error(), "no call to answer") {
		t.Fatalf("second answer: %v", err)
	}
}
