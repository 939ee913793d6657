package backend

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/deskphone/deskphone/media/sdp"
)

func TestCallOutcomes(t *testing.T) {
	b := startBackend(t, nil)
	ctx := ctxT(t)
	alice := newPhone(t, b, "alice")
	alice.mustRegister(ctx)
	tests := []struct {
		target string
		want   int
	}{
		{"busy", sip.StatusBusyHere},
		{"8002", sip.StatusBusyHere},
		{"nobody", sip.StatusNotFound},
		{"carol", sip.StatusTemporarilyUnavailable}, // known, not registered
		{"echo", sip.StatusOK},
		{"8001", sip.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			sess, err := alice.call(ctx, tt.target)
			if tt.want != sip.StatusOK {
				if got := statusOf(err); got != tt.want {
					t.Fatalf("call %s: %v, want %d", tt.target, err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("call %s: %v", tt.target, err)
			}
			if err := sess.Ack(ctx); err != nil {
				t.Fatal(err)
			}
			if err := sess.Bye(ctx); err != nil {
				t.Fatalf("BYE: %v", err)
			}
		})
	}
}

func TestEchoAnswersSDPAndHold(t *testing.T) {
	b := startBackend(t, nil)
	ctx := ctxT(t)
	alice := newPhone(t, b, "alice")
	alice.mustRegister(ctx)
	sess, err := alice.call(ctx, "echo")
	if err != nil {
		t.Fatal(err)
	}
	res := sess.InviteResponse
	if ct := res.ContentType(); ct == nil || ct.Value() != "application/sdp" {
		t.Fatalf("Content-Type %v", ct)
	}
	ans, err := sdp.Parse(res.Body())
	if err != nil {
		t.Fatalf("answer: %v\n%s", err, res.Body())
	}
	// The offer was G722, PCMU, telephone-event: all supported, offerer's order.
	names := []string{}
	for _, f := range ans.Media.Formats {
		names = append(names, f.Name)
	}
	if strings.Join(names, ",") != "G722,PCMU,telephone-event" || ans.Media.Direction != sdp.SendRecv || ans.Media.Port != PlaceholderRTPPort {
		t.Errorf("answer %v %v port %d", names, ans.Media.Direction, ans.Media.Port)
	}
	if err := sess.Ack(ctx); err != nil {
		t.Fatal(err)
	}

	// Hold: re-offer sendonly, echo answers recvonly with a newer version.
	offer, _ := sdp.Parse(sess.InviteRequest.Body())
	hold := offer.Reoffer(sdp.SendOnly)
	reinvite := sip.NewRequest(sip.INVITE, res.Contact().Address)
	reinvite.SetBody(hold.Marshal())
	reinvite.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	reres, err := sess.Do(ctx, reinvite)
	if err != nil || reres.StatusCode != sip.StatusOK {
		t.Fatalf("re-INVITE: %v %v", reres, err)
	}
	held, err := sdp.Parse(reres.Body())
	if err != nil {
		t.Fatal(err)
	}
	if held.Media.Direction != sdp.RecvOnly || held.SessionID != ans.SessionID || held.SessionVersion != ans.SessionVersion+1 {
		t.Errorf("hold answer %v o=%d %d, first answer o=%d %d", held.Media.Direction, held.SessionID, held.SessionVersion, ans.SessionID, ans.SessionVersion)
	}
	if err := sess.Bye(ctx); err != nil {
		t.Fatalf("BYE: %v", err)
	}
	b.mu.Lock()
	n := len(b.calls)
	b.mu.Unlock()
	if n != 0 {
		t.Errorf("%d service calls left after BYE", n)
	}
}

func TestEchoRejectsUnsupportedCodecs(t *testing.T) {
	b := startBackend(t, nil)
	ctx := ctxT(t)
	alice := newPhone(t, b, "alice")
	alice.mustRegister(ctx)
	req := alice.newRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "echo", Host: alice.domain})
	offer := sdp.NewOffer("127.0.0.1", 4000, []sdp.Format{{PT: 18, Name: "G729", Rate: 8000}}, sdp.SendRecv)
	req.SetBody(offer.Marshal())
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	res, err := alice.cli.Do(ctx, req)
	if err != nil || res.StatusCode != sip.StatusNotAcceptableHere {
		t.Fatalf("G.729-only call to echo: %v %v, want 488", res, err)
	}
}

func TestNoAnswerCancel(t *testing.T) {
	b := startBackend(t, nil)
	ctx := ctxT(t)
	alice := newPhone(t, b, "alice")
	alice.mustRegister(ctx)
	callCtx, hangUp := context.WithCancel(ctx)
	defer hangUp()
	var codes []int
	sess, err := alice.callObserved(callCtx, "noanswer", func(res *sip.Response) {
		codes = append(codes, res.StatusCode)
		if res.StatusCode == sip.StatusRinging {
			hangUp() // WaitAnswer sends CANCEL
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitAnswer: %v (responses %v), want context.Canceled after CANCEL", err, codes)
	}
	if sess.InviteResponse == nil || sess.InviteResponse.StatusCode != sip.StatusRequestTerminated {
		t.Errorf("final response %v (responses %v), want 487", sess.InviteResponse, codes)
	}
}

func TestCancelForkedCall(t *testing.T) {
	b := startBackend(t, nil)
	ctx := ctxT(t)
	alice, bob1, bob2 := newPhone(t, b, "alice"), newPhone(t, b, "bob"), newPhone(t, b, "bob")
	for _, p := range []*testPhone{alice, bob1, bob2} {
		p.mode.Store(int32(answerRing))
		p.mustRegister(ctx)
	}
	callCtx, hangUp := context.WithCancel(ctx)
	defer hangUp()
	rang := 0
	sess, err := alice.callObserved(callCtx, "bob", func(res *sip.Response) {
		if res.StatusCode == sip.StatusRinging {
			if rang++; rang == 1 {
				hangUp()
			}
		}
	})
	if !errors.Is(err, context.Canceled) || sess.InviteResponse.StatusCode != sip.StatusRequestTerminated {
		t.Fatalf("cancelled call: %v, final %v", err, sess.InviteResponse)
	}
	for _, p := range []*testPhone{bob1, bob2} {
		s := recv(t, p.invites, "INVITE at "+p.user)
		waitDone(t, s.Context(), "fork at "+p.user+" to be cancelled")
	}
}

func TestVoicemailAndMWI(t *testing.T) {
	b := startBackend(t, nil)
	ctx := ctxT(t)
	alice, bob := newPhone(t, b, "alice"), newPhone(t, b, "bob")
	alice.mustRegister(ctx)
	bob.mustRegister(ctx)

	sub := alice.newRequest(sip.SUBSCRIBE, alice.aor())
	sub.AppendHeader(sip.NewHeader("Event", "message-summary"))
	sub.AppendHeader(sip.NewHeader("Expires", "3600"))
	res, err := alice.cli.Do(ctx, sub)
	if err != nil || res.StatusCode != sip.StatusOK {
		t.Fatalf("SUBSCRIBE: %v %v", res, err)
	}
	first := recv(t, alice.notifies, "first NOTIFY")
	if body := string(first.Body()); !strings.Contains(body, "Messages-Waiting: no") || !strings.Contains(body, "Voice-Message: 0/0 (0/0)") {
		t.Errorf("first NOTIFY body:\n%s", body)
	}
	if h := first.GetHeader("Subscription-State"); h == nil || !strings.HasPrefix(h.Value(), "active") {
		t.Errorf("Subscription-State %v", h)
	}
	if h := first.GetHeader("Event"); h == nil || h.Value() != "message-summary" {
		t.Errorf("Event %v", h)
	}

	if err := b.LeaveVoicemail("alice"); err != nil {
		t.Fatal(err)
	}
	n := recv(t, alice.notifies, "NOTIFY after LeaveVoicemail")
	if body := string(n.Body()); !strings.Contains(body, "Messages-Waiting: yes") || !strings.Contains(body, "Voice-Message: 1/0 (0/0)") {
		t.Errorf("NOTIFY body:\n%s", body)
	}
	if n.CSeq().SeqNo <= first.CSeq().SeqNo || n.CallID().Value() != sub.CallID().Value() {
		t.Errorf("NOTIFY CSeq %d after %d, Call-ID %s", n.CSeq().SeqNo, first.CSeq().SeqNo, n.CallID().Value())
	}

	// bob leaves a message by calling voicemail and hanging up.
	sess, err := bob.call(ctx, "voicemail")
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sess.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	if newMsgs, _, err := b.Voicemail("1002"); err != nil || newMsgs != 1 {
		t.Errorf("bob's voicemail: %d, %v; want 1", newMsgs, err)
	}

	// Someone else's mailbox is refused; so are other event packages.
	other := alice.newRequest(sip.SUBSCRIBE, bob.aor())
	other.AppendHeader(sip.NewHeader("Event", "message-summary"))
	if res, err := alice.cli.Do(ctx, other); err != nil || res.StatusCode != sip.StatusForbidden {
		t.Errorf("SUBSCRIBE to bob's mailbox: %v %v, want 403", res, err)
	}
	presence := alice.newRequest(sip.SUBSCRIBE, bob.aor())
	presence.AppendHeader(sip.NewHeader("Event", "presence"))
	if res, err := alice.cli.Do(ctx, presence); err != nil || res.StatusCode != 489 {
		t.Errorf("SUBSCRIBE presence: %v %v, want 489", res, err)
	}
	if err := b.LeaveVoicemail("nobody"); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("LeaveVoicemail(nobody) = %v", err)
	}
}
