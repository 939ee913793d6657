package backend

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/deskphone/deskphone/internal/testwait"
)

// TestNoRelayForStrangers: requests that claim a dialog (a To tag, a
// Route) from a client that never authenticated reach neither a
// registered phone nor an arbitrary address.
func TestNoRelayForStrangers(t *testing.T) {
	b := startBackend(t, nil)
	ctx := ctxT(t)
	bob := newPhone(t, b, "bob")
	bob.mustRegister(ctx)
	var bobContact sip.Uri
	if err := sip.ParseUri(b.Registrations()[0].Contact, &bobContact); err != nil {
		t.Fatal(err)
	}
	// The address an open relay would deliver to.
	victim, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer victim.Close()
	vhost, vport := splitAddr(victim.LocalAddr())
	victimURI := sip.Uri{Scheme: "sip", User: "x", Host: vhost, Port: vport}
	// mallory speaks from a connection nobody registered on, without
	// credentials.
	mallory := newPhoneOn(t, b, "carol", "wrong", "UDP")

	// A 2xx that matches no transaction, with our Via on top and below
	// it a connection the backend holds (anyone's): a proxy forwarding
	// it by its Via reflects it into that connection.
	held, err := net.Dial("tcp", b.Addr("tcp"))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	testwait.For(t, testTimeout, "connection accepted", func() bool { return healthOf(t, b, "tcp").Connections == 1 })
	raw, err := net.Dial("udp", b.Addr("udp"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	bh, bp := splitAddr(raw.RemoteAddr())
	hh, hp := splitAddr(held.LocalAddr())
	stray := "SIP/2.0 200 OK\r\n" +
		"Via: SIP/2.0/UDP " + bh + ":" + strconv.Itoa(bp) + ";branch=z9hG4bKstray\r\n" +
		"Via: SIP/2.0/TCP " + hh + ":" + strconv.Itoa(hp) + ";branch=z9hG4bKvictim\r\n" +
		"From: <sip:a@deskphone.test>;tag=a\r\nTo: <sip:b@deskphone.test>;tag=b\r\nCall-ID: stray\r\n" +
		"CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
	if _, err := raw.Write([]byte(stray)); err != nil {
		t.Fatal(err)
	}

	withTag := func(r *sip.Request) {
		to := r.To()
		to.Params = sip.NewParams()
		to.Params.Add("tag", "forged")
	}
	for _, tt := range []struct {
		name   string
		method sip.RequestMethod
		to     sip.Uri
		edit   func(*sip.Request)
		want   int
	}{
		{"NOTIFY in a forged dialog to bob's contact", sip.NOTIFY, bobContact, withTag, sip.StatusForbidden},
		{"NOTIFY outside a subscription to bob", sip.NOTIFY, sip.Uri{Scheme: "sip", User: "bob", Host: b.Domain()}, nil, sip.StatusForbidden},
		{"BYE in a forged dialog to bob's contact", sip.BYE, bobContact, withTag, sip.StatusForbidden},
		{"MESSAGE routed to another host", sip.MESSAGE, victimURI, func(r *sip.Request) {
			r.AppendHeader(&sip.RouteHeader{Address: sip.Uri{Scheme: "sip", Host: vhost, Port: vport, UriParams: sip.HeaderParams{{K: "lr"}}}})
		}, sip.StatusForbidden},
		{"MESSAGE in a forged dialog to another host", sip.MESSAGE, victimURI, withTag, sip.StatusForbidden},
		{"MESSAGE in a forged dialog with an alias to another host", sip.MESSAGE, sip.Uri{
			Scheme: "sip", User: "x", Host: "deskphone.test",
			UriParams: sip.HeaderParams{{K: aliasParam, V: vhost + "~" + strconv.Itoa(vport) + "~udp"}},
		}, withTag, sip.StatusForbidden},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := mallory.newRequest(tt.method, tt.to)
			if tt.method == sip.NOTIFY {
				req.AppendHeader(sip.NewHeader("Event", eventMWI))
				req.AppendHeader(sip.NewHeader("Subscription-State", "active"))
				req.AppendHeader(sip.NewHeader("Content-Type", "application/simple-message-summary"))
				req.SetBody([]byte("Messages-Waiting: yes\r\nVoice-Message: 9/0 (0/0)\r\n"))
			}
			if tt.edit != nil {
				tt.edit(req)
			}
			res, err := mallory.cli.Do(ctx, req)
			if err != nil {
				t.Fatalf("%s: %v", tt.method, err)
			}
			if res.StatusCode != tt.want {
				t.Errorf("%s: %s, want %d", tt.method, res.Short(), tt.want)
			}
		})
	}
	// What the backend relays it sends before it answers: by now it
	// would be in the victim's socket and bob's inbox.
	recvNone(t, bob.notifies)
	recvNone(t, bob.byes)
	_ = victim.SetReadDeadline(time.Now().Add(time.Millisecond))
	if n, _, err := victim.ReadFrom(make([]byte, 4096)); err == nil {
		t.Errorf("the backend relayed %d bytes to an arbitrary address", n)
	}
	_ = held.SetReadDeadline(time.Now().Add(time.Millisecond))
	if n, err := held.Read(make([]byte, 4096)); err == nil {
		t.Errorf("the backend reflected a stray response into another connection: %d bytes", n)
	}
}

// TestDialogOnlyBetweenItsParties: a call's in-dialog requests pass
// between its two phones (REFER, BYE, the REFER's NOTIFY after the BYE),
// while a third registered phone that knows the dialog's identifiers
// cannot use it.
func TestDialogOnlyBetweenItsParties(t *testing.T) {
	b := startBackend(t, nil)
	ctx := ctxT(t)
	alice, bob, carol := newPhone(t, b, "alice"), newPhone(t, b, "bob"), newPhone(t, b, "carol")
	for _, p := range []*testPhone{alice, bob, carol} {
		p.mustRegister(ctx)
	}
	sess, err := alice.call(ctx, "bob")
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	if err := sess.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	callee := recv(t, bob.invites, "INVITE at bob")
	testwait.For(t, testTimeout, "bob's dialog confirmed", func() bool { return callee.LoadState() == sip.DialogStateConfirmed })
	if n := b.dialogs.count(); n != 1 {
		t.Errorf("%d dialogs held, want 1", n)
	}

	// carol forges alice's BYE.
	forged := carol.newRequest(sip.BYE, sess.InviteResponse.Contact().Address)
	forged.ReplaceHeader(sip.HeaderClone(sess.InviteRequest.From()))
	forged.ReplaceHeader(sip.HeaderClone(sess.InviteResponse.To()))
	forged.AppendHeader(sip.HeaderClone(sess.InviteRequest.CallID()))
	forged.AppendHeader(&sip.CSeqHeader{SeqNo: 99, MethodName: sip.BYE})
	if res, err := carol.cli.Do(ctx, forged); err != nil || res.StatusCode != sip.StatusForbidden {
		t.Fatalf("forged BYE: %v %v, want 403", res, err)
	}
	recvNone(t, bob.byes)

	refer := sip.NewRequest(sip.REFER, sess.InviteResponse.Contact().Address)
	refer.AppendHeader(sip.NewHeader("Refer-To", "<sip:carol@"+b.Domain()+">"))
	res, err := sess.Do(ctx, refer)
	if err != nil {
		t.Fatalf("REFER: %v", err)
	}
	if res.StatusCode == sip.StatusForbidden || res.StatusCode == sip.StatusCallTransactionDoesNotExists {
		t.Fatalf("REFER stopped by the backend: %s", res.Short())
	}
	if err := sess.Bye(ctx); err != nil {
		t.Fatalf("alice hangs up: %v", err)
	}
	recv(t, bob.byes, "BYE at bob")

	// The transferee reports on the REFER after the transferor hung up.
	notify := func(state string) *sip.Response {
		t.Helper()
		n := sip.NewRequest(sip.NOTIFY, callee.InviteRequest.Contact().Address)
		n.AppendHeader(sip.NewHeader("Event", "refer"))
		n.AppendHeader(sip.NewHeader("Subscription-State", state))
		n.AppendHeader(sip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
		n.SetBody([]byte("SIP/2.0 200 OK\r\n"))
		res, err := callee.Do(ctx, n)
		if err != nil {
			t.Fatalf("NOTIFY: %v", err)
		}
		return res
	}
	if res := notify("terminated;reason=noresource"); res.StatusCode != sip.StatusOK {
		t.Fatalf("REFER's NOTIFY after BYE: %s, want 200", res.Short())
	}
	recv(t, alice.notifies, "NOTIFY at alice")
	if res := notify("active"); res.StatusCode != sip.StatusCallTransactionDoesNotExists {
		t.Errorf("NOTIFY after the subscription ended: %s, want 481", res.Short())
	}
	if n := b.dialogs.count(); n != 0 {
		t.Errorf("%d dialogs held after the call, want 0", n)
	}
}

// TestLocalDialogsOnlyFromTheirParty: a stranger who knows the
// identifiers of a phone's echo call or MWI subscription can neither end
// the call nor take over or end the subscription.
func TestLocalDialogsOnlyFromTheirParty(t *testing.T) {
	b := startBackend(t, nil)
	ctx := ctxT(t)
	alice := newPhone(t, b, "alice")
	alice.mustRegister(ctx)
	mallory := newPhoneOn(t, b, "carol", "wrong", "UDP")

	sub := alice.newRequest(sip.SUBSCRIBE, alice.aor())
	sub.AppendHeader(sip.NewHeader("Event", eventMWI))
	sub.AppendHeader(sip.NewHeader("Expires", "3600"))
	subRes, err := alice.cli.Do(ctx, sub)
	if err != nil || subRes.StatusCode != sip.StatusOK {
		t.Fatalf("SUBSCRIBE: %v %v", subRes, err)
	}
	recv(t, alice.notifies, "first NOTIFY")
	sess, err := alice.call(ctx, "echo")
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Ack(ctx); err != nil {
		t.Fatal(err)
	}

	forge := func(method sip.RequestMethod, to sip.Uri, from *sip.FromHeader, toH *sip.ToHeader, callID *sip.CallIDHeader) *sip.Request {
		r := mallory.newRequest(method, to)
		r.ReplaceHeader(sip.HeaderClone(from))
		r.ReplaceHeader(sip.HeaderClone(toH))
		r.AppendHeader(sip.HeaderClone(callID))
		r.AppendHeader(&sip.CSeqHeader{SeqNo: 1000, MethodName: method})
		return r
	}
	for _, tt := range []struct {
		name string
		req  *sip.Request
	}{
		{"BYE in alice's echo call", forge(sip.BYE, sess.InviteResponse.Contact().Address, sess.InviteRequest.From(), sess.InviteResponse.To(), sess.InviteRequest.CallID())},
		{"SUBSCRIBE refresh of alice's MWI", func() *sip.Request {
			r := forge(sip.SUBSCRIBE, subRes.Contact().Address, sub.From(), subRes.To(), sub.CallID())
			r.AppendHeader(sip.NewHeader("Event", eventMWI))
			r.AppendHeader(sip.NewHeader("Expires", "0"))
			return r
		}()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, err := mallory.cli.Do(ctx, tt.req)
			if err != nil || res.StatusCode != sip.StatusForbidden {
				t.Fatalf("forged %s: %v %v, want 403", tt.req.Method, res, err)
			}
		})
	}
	b.mu.Lock()
	calls, subs := len(b.calls), len(b.subs)
	b.mu.Unlock()
	if calls != 1 || subs != 1 {
		t.Errorf("%d calls, %d subscriptions left, want 1 and 1", calls, subs)
	}
	// alice herself still can.
	if err := sess.Bye(ctx); err != nil {
		t.Fatalf("alice hangs up: %v", err)
	}
}
