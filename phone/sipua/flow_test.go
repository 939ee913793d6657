package sipua_test

import (
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deskphone/deskphone/internal/siptest"
	"github.com/deskphone/deskphone/phone/sipua"
)

// When the connection the phone registered on is gone, the next request
// opens another, and the UA reports FlowChanged so the phone registers
// again: the registrar's binding still names the old flow. The first
// connection's registration reports no such thing.
func TestFlowChangedWhenTheConnectionIsReplaced(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var firstConn atomic.Value // the write of the first connection
	siptest.Server(t, ln, func(msg []string, write func(string)) {
		switch {
		case strings.HasPrefix(msg[0], "REGISTER "):
			firstConn.CompareAndSwap(nil, write)
			write(siptest.OK(msg, "expires=3600"))
		case strings.HasPrefix(msg[0], "INVITE "):
			// Busy: the call ends at once.
			write(strings.Replace(siptest.OK(msg, ""), "200 OK", "486 Busy Here", 1))
		}
	})
	events := make(chan sipua.Event, 16)
	ua, err := sipua.New(sipua.Config{Server: "sip:" + ln.Addr().String() + ";transport=tcp", User: "alice"},
		func(ev sipua.Event) { events <- ev })
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	ua.Register(time.Hour)
	next := func(what string) sipua.Event {
		t.Helper()
		select {
		case ev := <-events:
			return ev
		case <-time.After(10 * time.Second):
			t.Fatalf("no event: want %s", what)
		}
		return nil
	}
	if ev := next("Registered"); ev != (sipua.Registered{}) {
		if _, ok := ev.(sipua.Registered); !ok {
			t.Fatalf("event %T %+v, want Registered", ev, ev)
		}
	}
	first := ua.LocalAddr()
	// What no parser can frame: the phone drops the connection.
	firstConn.Load().(func(string))("NOT SIP AT ALL\r\nX\r\n\r\n")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := ua.Invite("sip:bob@" + ln.Addr().String()); err != nil {
			t.Fatal(err)
		}
		ev := next("FlowChanged")
		if _, ok := ev.(sipua.FlowChanged); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no FlowChanged; last event %T %+v", ev, ev)
		}
	}
	if ua.LocalAddr() == first {
		t.Errorf("the contact still names %s", first)
	}
}
