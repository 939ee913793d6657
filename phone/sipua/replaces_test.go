package sipua_test

import (
	"testing"
	"time"

	"github.com/deskphone/deskphone/internal/inflight"
	"github.com/deskphone/deskphone/phone/sipua"
)

// connect has a call b and b answer: the caller's id and the callee's.
func connect(t *testing.T, a, b *agent, user string) (string, string) {
	t.Helper()
	id, err := a.ua.Invite(user)
	if err != nil {
		t.Fatal(err)
	}
	in := b.next(t, "sipua.IncomingCall").(sipua.IncomingCall)
	a.next(t, "sipua.CallProgress")
	if err := b.ua.Answer(in.ID); err != nil {
		t.Fatal(err)
	}
	b.next(t, "sipua.CallAnswered")
	a.next(t, "sipua.CallAnswered")
	return id, in.ID
}

// An attended transfer through the cloud (RFC 5589 §7): alice holds bob,
// consults carol, then REFERs bob with Replaces. Bob calls carol with
// Replaces and Referred-By, carol takes the call over and BYEs alice's
// dialog, and alice hears the 200 in the NOTIFY sipfrag.
func TestAttendedTransferThroughTheCloud(t *testing.T) {
	b := tcpCloud(t)
	tr := inflight.New()
	alice, bob, carol := newAgent(t, b, "alice", tr), newAgent(t, b, "bob", tr), newAgent(t, b, "carol", tr)
	toBob, fromAlice := connect(t, alice, bob, "bob")
	if err := alice.ua.Hold(toBob, true); err != nil {
		t.Fatal(err)
	}
	alice.next(t, "sipua.CallHoldChanged")
	toCarol, atCarol := connect(t, alice, carol, "carol")

	if err := alice.ua.TransferReplacing(toBob, toCarol); err != nil {
		t.Fatal(err)
	}
	moved := bob.next(t, "sipua.Transferred").(sipua.Transferred)
	if moved.ID != fromAlice || moved.Target != "carol" {
		t.Fatalf("bob: %+v", moved)
	}
	rep := carol.next(t, "sipua.Replaced").(sipua.Replaced)
	if rep.ID != atCarol || rep.Remote != "bob" || rep.ReferredBy != "alice" {
		t.Fatalf("carol: %+v, want %s replaced by bob, referred by alice", rep, atCarol)
	}
	if ev := bob.next(t, "sipua.CallAnswered").(sipua.CallAnswered); ev.ID != moved.NewID {
		t.Fatalf("bob's new call: %+v", ev)
	}
	// Carol's BYE of the replaced dialog and bob's NOTIFY come in either
	// order.
	var ended, result bool
	for !ended || !result {
		select {
		case ev := <-alice.events:
			switch ev := ev.(type) {
			case sipua.CallEnded:
				ended = ev.ID == toCarol
			case sipua.TransferResult:
				result = ev.ID == toBob && ev.Code == 200
				if !result {
					t.Fatalf("transfer result %+v", ev)
				}
			default:
				t.Fatalf("alice: %T %+v", ev, ev)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("alice: ended=%v result=%v", ended, result)
		}
	}
	must(t, alice.ua.Hangup(toBob))
	if ev := bob.next(t, "sipua.CallEnded").(sipua.CallEnded); ev.ID != fromAlice {
		t.Fatalf("bob: %+v", ev)
	}
	must(t, carol.ua.Hangup(rep.NewID))
	if ev := bob.next(t, "sipua.CallEnded").(sipua.CallEnded); ev.ID != moved.NewID {
		t.Fatalf("bob: %+v", ev)
	}
	if err := tr.WaitIdle(10 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// A REFER naming a dialog the target does not have fails with the
// target's 481 in the sipfrag, and the transferor keeps both calls.
func TestAttendedTransferToAStrangerDialog(t *testing.T) {
	b := tcpCloud(t)
	tr := inflight.New()
	alice, bob, carol := newAgent(t, b, "alice", tr), newAgent(t, b, "bob", tr), newAgent(t, b, "carol", tr)
	toBob, _ := connect(t, alice, bob, "bob")
	toCarol, atCarol := connect(t, alice, carol, "carol")
	// Carol's side of the dialog goes without her telling alice: the
	// Replaces alice sends names nothing carol has.
	carol.ua.ForgetCall(atCarol)
	must(t, alice.ua.TransferReplacing(toBob, toCarol))
	bob.next(t, "sipua.Transferred")
	if ev := bob.next(t, "sipua.CallFailed").(sipua.CallFailed); ev.Code != 481 {
		t.Fatalf("bob's INVITE: %+v", ev)
	}
	ev := alice.next(t, "sipua.TransferResult").(sipua.TransferResult)
	if ev.ID != toBob || ev.Code != 481 || ev.Reason == "" {
		t.Fatalf("alice: %+v, want 481 with its reason", ev)
	}
	if err := tr.WaitIdle(10 * time.Second); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
