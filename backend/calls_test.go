package backend

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/deskphone/deskphone/internal/testwait"
)

// TestCallAcrossTransports calls between phones on different transports
// (double Record-Route, RFC 5658) and has the callee hang up, so the BYE
// travels back to the caller over the caller's own flow.
func TestCallAcrossTransports(t *testing.T) {
	b := startBackend(t, nil)
	for _, tt := range []struct{ caller, callee string }{
		{"UDP", "TLS"},
		{"TCP", "UDP"},
		{"TLS", "TCP"},
	} {
		t.Run(tt.caller+" to "+tt.callee, func(t *testing.T) {
			ctx := ctxT(t)
			alice := newPhoneOn(t, b, "alice", "secret", tt.caller)
			bob := newPhoneOn(t, b, "bob", "secret", tt.callee)
			alice.mustRegister(ctx)
			bob.mustRegister(ctx)
			sess, err := alice.call(ctx, "bob")
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			rr := sess.InviteResponse.GetHeaders("Record-Route")
			if len(rr) != 2 {
				t.Errorf("Record-Route %v, want one entry per transport", rr)
			}
			if err := sess.Ack(ctx); err != nil {
				t.Fatal(err)
			}
			callee := recv(t, bob.invites, "INVITE at bob")
			testwait.For(t, testTimeout, "bob's dialog confirmed", func() bool { return callee.LoadState() == sip.DialogStateConfirmed })
			if err := callee.Bye(ctx); err != nil {
				t.Fatalf("bob hangs up: %v", err)
			}
			recv(t, alice.byes, "BYE at alice")
			waitDone(t, sess.Context(), "alice's dialog to end")

			// Unregister so the next case starts clean.
			for _, p := range []*testPhone{alice, bob} {
				if res, err := p.register(ctx, "MD5", 0); err != nil || res.StatusCode != sip.StatusOK {
					t.Fatalf("unregister %s: %v %v", p.user, res, err)
				}
			}
		})
	}
}

// TestUnregisteredCallerIsChallenged: a phone that has not registered on
// its connection must answer a 407 digest challenge to place a call.
func TestUnregisteredCallerIsChallenged(t *testing.T) {
	b := startBackend(t, nil)
	ctx := ctxT(t)
	bob := newPhone(t, b, "bob")
	bob.mustRegister(ctx)
	carol := newPhoneOn(t, b, "carol", "secret", "TLS")

	if _, err := carol.call(ctx, "bob"); statusOf(err) != sip.StatusProxyAuthRequired {
		t.Fatalf("unauthenticated call: %v, want 407", err)
	}
	recvNone(t, bob.invites)

	sess, err := carol.callWith(ctx, "bob", sipgo.AnswerOptions{Username: "carol", Password: "secret"})
	if err != nil {
		t.Fatalf("call with credentials: %v", err)
	}
	if err := sess.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sess.Bye(ctx); err != nil {
		t.Fatal(err)
	}
}

// recvNone checks nothing is waiting on ch.
func recvNone[T any](t *testing.T, ch <-chan T) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("unexpected %v", v)
	default:
	}
}

// TestCloseStopsEverything runs a call, a subscription and a ringing call
// that is never answered, closes the backend and checks every goroutine
// it started has stopped.
func TestCloseStopsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		b, err := New(Config{Listen: []string{"tls:127.0.0.1:0", "udp:127.0.0.1:0"}, StateDir: t.TempDir(), AdminListen: "127.0.0.1:0", Logger: testLogger()})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Start(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		ctx := ctxT(t)
		alice, bob := newPhone(t, b, "alice"), newPhone(t, b, "bob")
		alice.mustRegister(ctx)
		bob.mustRegister(ctx)
		sess, err := alice.call(ctx, "bob")
		if err != nil {
			t.Fatal(err)
		}
		_ = sess.Ack(ctx)
		if _, err := alice.call(ctx, "echo"); err != nil {
			t.Fatal(err)
		}
		sub := alice.newRequest(sip.SUBSCRIBE, alice.aor())
		sub.AppendHeader(sip.NewHeader("Event", "message-summary"))
		if res, err := alice.cli.Do(ctx, sub); err != nil || res.StatusCode != sip.StatusOK {
			t.Fatalf("SUBSCRIBE: %v %v", res, err)
		}
		recv(t, alice.notifies, "NOTIFY")
		bob.mode.Store(int32(answerRing))
		go func() { _, _ = alice.call(ctx, "bob") }()
		go func() { _, _ = alice.call(ctx, "noanswer") }()
		recv(t, bob.invites, "the first INVITE")
		recv(t, bob.invites, "the ringing INVITE")

		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		// Close waits for the backend's own goroutines: none may be left
		// running backend code. A handler that has signed off may still be
		// returning into sipgo's goroutine for an instant, so the check
		// waits for the stacks to clear, with a deadline; a goroutine
		// really left behind stays and fails it. (sipgo's connection
		// readers end as their connections close; the count below catches
		// them.)
		var left string
		testwait.Poll(5*time.Second, func() bool { left = backendGoroutines(); return left == "" })
		if left != "" {
			t.Errorf("goroutines left after Close:\n%s", left)
		}
		if err := b.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if err := b.Start(ctx); err == nil {
			t.Error("Start after Close succeeded")
		}
		alice.ua.Close()
		bob.ua.Close()
	}()
	testwait.For(t, testTimeout, "goroutines to return to the baseline", func() bool {
		return runtime.NumGoroutine() <= before
	})
}

// backendGoroutines are the stacks of the goroutines running backend code.
func backendGoroutines() string {
	buf := make([]byte, 1<<20)
	var left []string
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "deskphone/backend.(*Backend)") || strings.Contains(g, "deskphone/backend.pump") {
			left = append(left, g)
		}
	}
	return strings.Join(left, "\n\n")
}
