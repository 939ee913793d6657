package backend

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// The cloud is the caller's proxy: a callee's 302 makes it call the
// Contact instead, telling the new callee why (Diversion, History-Info)
// and the caller where its call went (History-Info in the responses).
func TestRedirectFollowed(t *testing.T) {
	b := startBackend(t, nil)
	ctx := ctxT(t)
	alice, bob, carol := newPhone(t, b, "alice"), newPhone(t, b, "bob"), newPhone(t, b, "carol")
	// carol answers once alice heard her ring (set before she connects).
	carol.answerGate = make(chan struct{})
	for _, p := range []*testPhone{alice, bob, carol} {
		p.mustRegister(ctx)
	}
	to := "1003" // carol's extension, as a phone's forwarding holds it
	bob.redirectTo.Store(&to)

	var ringing *sip.Response
	sess, err := alice.callObserved(ctx, "bob", func(res *sip.Response) {
		if res.StatusCode == sip.StatusRinging && ringing == nil {
			ringing = res
			close(carol.answerGate)
		}
	})
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	defer sess.Ack(ctx)
	in := recv(t, carol.invites, "INVITE at carol").InviteRequest
	div := in.GetHeader("Diversion")
	if div == nil || !strings.Contains(div.Value(), "<sip:bob@") || !strings.Contains(div.Value(), "reason=user-busy") || !strings.Contains(div.Value(), "counter=1") {
		t.Errorf("Diversion at carol: %v", div)
	}
	hi := in.GetHeaders("History-Info")
	if len(hi) != 2 || !strings.Contains(hi[0].Value(), "sip:bob@") || !strings.Contains(hi[1].Value(), "sip:carol@") || !strings.Contains(hi[1].Value(), "cause=302") {
		t.Errorf("History-Info at carol: %v", hi)
	}
	for _, res := range []*sip.Response{ringing, sess.InviteResponse} {
		if res == nil || len(res.GetHeaders("History-Info")) != 2 {
			t.Errorf("the caller does not learn where its call went: %v", res)
		}
	}
}

// A forwarding back to a party the call went through is a loop: 482.
func TestRedirectLoopRefused(t *testing.T) {
	b := startBackend(t, nil)
	ctx := ctxT(t)
	alice, bob, carol := newPhone(t, b, "alice"), newPhone(t, b, "bob"), newPhone(t, b, "carol")
	for _, p := range []*testPhone{alice, bob, carol} {
		p.mustRegister(ctx)
	}
	toCarol, toBob := "carol", "bob"
	bob.redirectTo.Store(&toCarol)
	carol.redirectTo.Store(&toBob)
	_, err := alice.call(ctx, "bob")
	if got := statusOf(err); got != sip.StatusLoopDetected {
		t.Fatalf("call through a forwarding loop: %v, want 482", err)
	}
}
