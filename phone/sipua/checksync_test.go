package sipua_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/internal/siptest"
	"github.com/deskphone/deskphone/phone/sipua"
)

// An out-of-dialog NOTIFY with Event: check-sync, on the registration's
// connection, is answered 200 and reported as CheckSync.
func TestCheckSyncNotify(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	answered := make(chan string, 1)
	siptest.Server(t, ln, func(msg []string, write func(string)) {
		switch {
		case strings.HasPrefix(msg[0], "REGISTER "):
			write(siptest.OK(msg, "expires=3600"))
			write("NOTIFY sip:alice@127.0.0.1 SIP/2.0\r\n" +
				"Via: SIP/2.0/TCP " + ln.Addr().String() + ";branch=z9hG4bKcheck1\r\n" +
				"From: <sip:gateway@127.0.0.1>;tag=g1\r\nTo: <sip:alice@127.0.0.1>\r\n" +
				"Call-ID: check-sync-1\r\nCSeq: 1 NOTIFY\r\nMax-Forwards: 70\r\n" +
				"Event: check-sync\r\nSubscription-State: terminated\r\nContent-Length: 0\r\n\r\n")
		case strings.HasPrefix(msg[0], "SIP/2.0 "):
			answered <- msg[0]
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
	seen := map[string]bool{}
	for len(seen) < 2 {
		select {
		case ev := <-events:
			switch ev.(type) {
			case sipua.Registered:
				seen["registered"] = true
			case sipua.CheckSync:
				seen["check-sync"] = true
			default:
				t.Fatalf("event %T %+v", ev, ev)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("events so far %v", seen)
		}
	}
	select {
	case got := <-answered:
		if got != "SIP/2.0 200 OK" {
			t.Errorf("the NOTIFY was answered %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the NOTIFY was not answered")
	}
}
