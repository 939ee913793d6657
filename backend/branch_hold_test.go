package backend

import (
	"sync/atomic"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// fakeClientTx is a client transaction whose responses and end a test
// sends.
type fakeClientTx struct {
	responses chan *sip.Response
	done      chan struct{}
}

func (f *fakeClientTx) Terminate()                             {}
func (f *fakeClientTx) OnTerminate(sip.FnTxTerminate) bool     { return true }
func (f *fakeClientTx) Done() <-chan struct{}                  { return f.done }
func (f *fakeClientTx) Err() error                             { return nil }
func (f *fakeClientTx) Responses() <-chan *sip.Response        { return f.responses }
func (f *fakeClientTx) OnRetransmission(sip.FnTxResponse) bool { return true }

// A forked branch is held from its sending until its first answer, once:
// before it, the request may still be on its way to the callee, whom
// nothing else then holds; the branch that ends unanswered lets go too.
func TestBranchHeldUntilItsFirstAnswer(t *testing.T) {
	b := &Backend{cfg: Config{}}
	for _, ending := range []string{"answered", "ended"} {
		t.Run(ending, func(t *testing.T) {
			tx := &fakeClientTx{responses: make(chan *sip.Response), done: make(chan struct{})}
			br := &branch{tx: tx}
			events := make(chan branchEvent, 4)
			stop := make(chan struct{})
			var released atomic.Int32
			finished := make(chan struct{})
			go func() {
				defer close(finished)
				b.pump(br, events, stop, func(r func()) { r() }, func() { released.Add(1) })
			}()
			if released.Load() != 0 {
				t.Fatal("let go before any answer")
			}
			if ending == "answered" {
				req := sip.NewRequest(sip.INVITE, sip.Uri{User: "bob", Host: "deskphone.test"})
				tx.responses <- sip.NewResponseFromRequest(req, sip.StatusRinging, "Ringing", nil)
				<-events
				if n := released.Load(); n != 1 {
					t.Fatalf("released %d times at the first answer, want 1", n)
				}
				tx.responses <- sip.NewResponseFromRequest(req, sip.StatusRinging, "Ringing", nil)
				<-events
			}
			close(tx.done)
			<-events
			<-finished
			if n := released.Load(); n != 1 {
				t.Fatalf("released %d times in all, want 1", n)
			}
			close(stop)
		})
	}
}
