package phone_test

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/statedir"
)

// slowRegistrar accepts registrations at once and answers an unregister
// after delay; unregistered is set just before that answer goes out.
func slowRegistrar(t *testing.T, delay time.Duration) (addr string, unregistered *atomic.Bool) {
	t.Helper()
	ua, err := sipgo.NewUA()
	must(t, err)
	srv, err := sipgo.NewServer(ua)
	must(t, err)
	unregistered = new(atomic.Bool)
	srv.OnRegister(func(req *sip.Request, tx sip.ServerTransaction) {
		res := sip.NewResponseFromRequest(req, 200, "OK", nil)
		if h := req.GetHeader("Expires"); h != nil && strings.TrimSpace(h.Value()) == "0" {
			time.Sleep(delay) // the server's own pace, not a wait for the phone
			unregistered.Store(true)
			tx.Respond(res)
			return
		}
		res.AppendHeader(sip.NewHeader("Expires", "3600"))
		tx.Respond(res)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	go srv.ServeTCP(ln)
	t.Cleanup(func() { ln.Close(); ua.Close() })
	return ln.Addr().String(), unregistered
}

// When its context ends (SIGTERM to `deskphone run` or a fleet), a phone
// unregisters as on Close: its loop ends once the REGISTER with Expires: 0
// has its answer, and no later than that answer: a server that answers at
// once lets the phone go at once.
func TestContextEndUnregistersThenStops(t *testing.T) {
	cat, err := catalog.Builtin()
	must(t, err)
	m, err := cat.Model("t46g")
	must(t, err)
	for _, delay := range []time.Duration{0, 300 * time.Millisecond} {
		t.Run(delay.String(), func(t *testing.T) {
			addr, unregistered := slowRegistrar(t, delay)
			p, err := phone.New(m, "", phone.WithClock(clock.NewFake(start)), phone.WithStateDir(t.TempDir()),
				phone.WithAccount(statedir.Account{Server: "sip:" + addr + ";transport=tcp", User: "alice", Password: "secret"}))
			must(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			p.Start(ctx)
			t.Cleanup(func() { p.Close() })
			waitStatus(t, p, "registered", "yes")

			began := time.Now()
			cancel()
			select {
			case <-p.Done():
			case <-time.After(10 * time.Second):
				t.Fatal("the phone still runs 10 s after its context ended")
			}
			took := time.Since(began)
			if !unregistered.Load() {
				t.Fatalf("the phone stopped after %v without waiting for its unregister's answer", took)
			}
			// Far under the 2 s an unanswered unregister may take, with
			// room for a loaded machine.
			if took > delay+time.Second {
				t.Errorf("the phone took %v to stop, the server answering after %v", took, delay)
			}
		})
	}
}
