package phone_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/internal/testwait"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/statedir"
)

// silentRegistrar accepts registrations and never answers an unregister.
func silentRegistrar(t *testing.T) string {
	t.Helper()
	ua, err := sipgo.NewUA()
	must(t, err)
	srv, err := sipgo.NewServer(ua)
	must(t, err)
	stop := make(chan struct{})
	srv.OnRegister(func(req *sip.Request, tx sip.ServerTransaction) {
		if h := req.GetHeader("Expires"); h != nil && strings.TrimSpace(h.Value()) == "0" {
			<-stop
			return
		}
		res := sip.NewResponseFromRequest(req, 200, "OK", nil)
		res.AppendHeader(sip.NewHeader("Expires", "3600"))
		tx.Respond(res)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	go srv.ServeTCP(ln)
	t.Cleanup(func() { close(stop); ln.Close(); ua.Close() })
	return ln.Addr().String()
}

// Rebooting unregisters without holding up the phone: the loop moves on at
// once and the unanswered unregister gives up on its own, bounded, with a
// syslog line.
func TestUnregisterDoesNotBlockTheLoop(t *testing.T) {
	addr := silentRegistrar(t)
	cat, err := catalog.Builtin()
	must(t, err)
	m, err := cat.Model("t46g")
	must(t, err)
	p, err := phone.New(m, "", phone.WithClock(clock.NewFake(start)), phone.WithStateDir(t.TempDir()),
		phone.WithAccount(statedir.Account{Server: "sip:" + addr + ";transport=tcp", User: "alice", Password: "secret"}))
	must(t, err)
	p.Start(context.Background())
	t.Cleanup(func() { p.Close() })
	waitStatus(t, p, "registered", "yes")

	must(t, p.Reboot())
	// Had the loop waited for the unregister, its failure would be logged
	// by now.
	if logged(p, "unregister:") {
		t.Fatalf("reboot waited for the unregister:\n%v", logTexts(p))
	}
	if !testwait.Poll(10*time.Second, func() bool { return logged(p, "unregister:") }) {
		t.Fatalf("the unanswered unregister never gave up:\n%v", logTexts(p))
	}
}
