package sipua_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deskphone/deskphone/backend"
	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/internal/inflight"
	"github.com/deskphone/deskphone/internal/siptest"
	"github.com/deskphone/deskphone/phone/sipua"
)

// agent is a UA with its events on a channel, as a phone's loop takes them.
type agent struct {
	ua     *sipua.UA
	events chan sipua.Event
}

func newAgent(t *testing.T, b *backend.Backend, user string, tr *inflight.Tracker, clk ...clock.Clock) *agent {
	t.Helper()
	a := &agent{events: make(chan sipua.Event, 64)}
	cfg := sipua.Config{Server: "sip:" + b.Addr("tcp") + ";transport=tcp", User: user, Password: "secret", Domain: b.Domain(), Inflight: tr}
	if len(clk) > 0 {
		cfg.Clock = clk[0]
	}
	ua, err := sipua.New(cfg,
		func(ev sipua.Event) { a.events <- ev })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	a.ua = ua
	ua.Register(time.Hour)
	a.next(t, "sipua.Registered")
	return a
}

// next waits for the next event and checks its type.
func (a *agent) next(t *testing.T, want string) sipua.Event {
	t.Helper()
	select {
	case ev := <-a.events:
		if got := fmt.Sprintf("%T", ev); got != want {
			t.Fatalf("event %s %+v, want %s", got, ev, want)
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s within 10 s", want)
	}
	return nil
}

// A call answered, held, resumed and hung up by the far end: the UA reports
// each outcome and keeps no call state of its own beyond the dialogs; under
// -race the callee's dialog is written and read under one lock. Every
// exchange is in flight on the shared tracker until its event is out.
func TestCallHoldAndRemoteHangup(t *testing.T) {
	b := tcpCloud(t)
	tr := inflight.New()
	alice, bob, carol := newAgent(t, b, "alice", tr), newAgent(t, b, "bob", tr), newAgent(t, b, "carol", tr)

	id, err := alice.ua.Invite("bob")
	if err != nil {
		t.Fatal(err)
	}
	in := bob.next(t, "sipua.IncomingCall").(sipua.IncomingCall)
	alice.next(t, "sipua.CallProgress")
	if err := bob.ua.Answer(in.ID); err != nil {
		t.Fatal(err)
	}
	bob.next(t, "sipua.CallAnswered")
	alice.next(t, "sipua.CallAnswered")

	// A second call rings at bob while alice's hold and resume reach him
	// in the first one's dialog: bob looks that dialog up among both.
	if _, err := carol.ua.Invite("bob"); err != nil {
		t.Fatal(err)
	}
	waiting := bob.next(t, "sipua.IncomingCall").(sipua.IncomingCall)
	carol.next(t, "sipua.CallProgress")
	for _, hold := range []bool{true, false} {
		if err := alice.ua.Hold(id, hold); err != nil {
			t.Fatal(err)
		}
		ev := alice.next(t, "sipua.CallHoldChanged").(sipua.CallHoldChanged)
		if ev.Hold != hold || ev.Err != nil {
			t.Fatalf("alice hold %v: %+v", hold, ev)
		}
	}
	if err := bob.ua.Reject(waiting.ID, 486); err != nil {
		t.Fatal(err)
	}
	if ev := carol.next(t, "sipua.CallFailed").(sipua.CallFailed); ev.Code != 486 {
		t.Fatalf("carol's call: %+v", ev)
	}

	for _, hold := range []bool{true, false} {
		if err := bob.ua.Hold(in.ID, hold); err != nil {
			t.Fatal(err)
		}
		ev := bob.next(t, "sipua.CallHoldChanged").(sipua.CallHoldChanged)
		if ev.Hold != hold || ev.Err != nil {
			t.Fatalf("hold %v: %+v", hold, ev)
		}
	}
	if err := alice.ua.Hangup(id); err != nil {
		t.Fatal(err)
	}
	ev := bob.next(t, "sipua.CallEnded").(sipua.CallEnded)
	if !ev.ByRemote || ev.ID != in.ID {
		t.Fatalf("CallEnded %+v", ev)
	}
	if err := tr.WaitIdle(10 * time.Second); err != nil {
		t.Fatal(err)
	}
}

func tcpCloud(t *testing.T) *backend.Backend {
	t.Helper()
	b, err := backend.New(backend.Config{Listen: []string{"tcp:127.0.0.1:0"}, StateDir: t.TempDir(), DigestAlgorithms: []string{"MD5"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// A call nobody answers gives up after three minutes of the callee's clock,
// not of the wall: the caller hears 480 the moment that clock gets there.
func TestUnansweredCallGivesUpOnTheUAsClock(t *testing.T) {
	b := tcpCloud(t)
	tr := inflight.New()
	clk := clock.NewFake(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	alice, bob := newAgent(t, b, "alice", tr), newAgent(t, b, "bob", tr, clk)
	if _, err := alice.ua.Invite("bob"); err != nil {
		t.Fatal(err)
	}
	in := bob.next(t, "sipua.IncomingCall").(sipua.IncomingCall)
	alice.next(t, "sipua.CallProgress")
	clk.Advance(3*time.Minute - time.Second)
	if err := tr.WaitIdle(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-bob.events:
		t.Fatalf("%T before the three minutes", ev)
	default:
	}
	clk.Advance(time.Second)
	if ev := bob.next(t, "sipua.IncomingCancelled").(sipua.IncomingCancelled); ev.ID != in.ID {
		t.Fatalf("cancelled %+v, want %s", ev, in.ID)
	}
	if ev := alice.next(t, "sipua.CallFailed").(sipua.CallFailed); ev.Code != 480 {
		t.Fatalf("caller: %+v, want 480", ev)
	}
	if err := tr.WaitIdle(10 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// A callee sends its 2xx again until our ACK reaches it (RFC 3261
// §13.3.1.4). Once the call is answered such a copy is not waited for: the
// network is quiet while the call goes on, so virtual time can move.
func TestRetransmitted2xxIsNotWaitedFor(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	answer := func(invite []string) string {
		sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
		res := strings.TrimSuffix(siptest.OK(invite, ""), "Content-Length: 0\r\n\r\n")
		return res + "Contact: <sip:bob@" + ln.Addr().String() + ";transport=tcp>\r\nContent-Type: application/sdp\r\n" +
			fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(sdp), sdp)
	}
	var invite []string
	var again sync.Once
	// reacked closes when the ACK of the copy comes: the UA has read it.
	reacked := make(chan struct{})
	acks := 0
	siptest.Server(t, ln, func(msg []string, write func(string)) {
		// The server reads no bodies: the INVITE's SDP comes first in
		// what it takes for the next message, the ACK.
		for _, l := range msg {
			switch {
			case strings.HasPrefix(l, "INVITE "):
				invite = msg
				write(answer(msg))
			case strings.HasPrefix(l, "ACK "):
				// The ACK crossed our retransmission.
				if acks++; acks == 2 {
					close(reacked)
				}
				again.Do(func() { write(answer(invite)) })
			}
		}
	})
	tr := inflight.New()
	events := make(chan sipua.Event, 16)
	ua, err := sipua.New(sipua.Config{Server: "sip:" + ln.Addr().String() + ";transport=tcp", User: "alice", Inflight: tr},
		func(ev sipua.Event) { events <- ev })
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	if _, err := ua.Invite("bob"); err != nil {
		t.Fatal(err)
	}
	a := &agent{ua: ua, events: events}
	a.next(t, "sipua.CallAnswered")
	select {
	case <-reacked:
	case <-time.After(10 * time.Second):
		t.Fatal("the copy of the 2xx was never ACKed")
	}
	if err := tr.WaitIdle(5 * time.Second); err != nil {
		t.Fatalf("answered call still in flight: %v", err)
	}
}

// A REFER the caller sends as soon as it has the callee's 200 (SIPp sends
// it right after its ACK) reaches the callee's phone after the answer:
// the callee's events for the call come in order, CallAnswered before
// Transferred, else the phone takes the REFER for one to a call still
// ringing, and ignores it while the UA calls the target.
func TestReferRightAfterTheAnswerComesAfterIt(t *testing.T) {
	b := tcpCloud(t)
	tr := inflight.New()
	alice, bob := newAgent(t, b, "alice", tr), newAgent(t, b, "bob", tr)
	id, err := alice.ua.Invite("bob")
	if err != nil {
		t.Fatal(err)
	}
	in := bob.next(t, "sipua.IncomingCall").(sipua.IncomingCall)
	alice.next(t, "sipua.CallProgress")
	if err := bob.ua.Answer(in.ID); err != nil {
		t.Fatal(err)
	}
	alice.next(t, "sipua.CallAnswered")
	if err := alice.ua.Transfer(id, "nobody"); err != nil {
		t.Fatal(err)
	}
	bob.next(t, "sipua.CallAnswered")
	if tf := bob.next(t, "sipua.Transferred").(sipua.Transferred); tf.ID != in.ID {
		t.Fatalf("Transferred %+v, want it for call %s", tf, in.ID)
	}
}
