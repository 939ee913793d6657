package fleet_test

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deskphone/deskphone/fleet"
	"github.com/deskphone/deskphone/internal/siptest"
	"github.com/deskphone/deskphone/phone/statedir"
)

// registrar is a SIP server over TCP that holds every REGISTER until the
// test answers it, and notes how many it had answered when each arrived.
type registrar struct {
	addr     string
	pending  chan func() // answers the REGISTER it was queued for
	answered atomic.Int32
	mu       sync.Mutex
	arrivals []int32 // answered, as each REGISTER arrived
}

func newRegistrar(t *testing.T) *registrar {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &registrar{addr: ln.Addr().String(), pending: make(chan func(), 64)}
	siptest.Server(t, ln, func(req []string, write func(string)) {
		switch {
		case strings.HasPrefix(req[0], "SIP/2.0"):
		case strings.HasPrefix(req[0], "REGISTER"):
			r.mu.Lock()
			r.arrivals = append(r.arrivals, r.answered.Load())
			r.mu.Unlock()
			ok := siptest.OK(req, "expires=3600")
			r.pending <- func() { r.answered.Add(1); write(ok) }
		default:
			write(siptest.OK(req, ""))
		}
	})
	return r
}

// With Connecting: 2 and no pacing, at most two phones wait for the answer
// to their first REGISTER: the k-th REGISTER reaches the server only once
// k-2 were answered, and Start returns once every phone has its answer.
func TestConnectingBoundsFirstRegistrations(t *testing.T) {
	r := newRegistrar(t)
	cfg := &fleet.Config{Server: "sip:" + r.addr + ";transport=tcp", Groups: []fleet.Group{
		{Name: "desks", Count: 6, Model: "vvx501", User: "load{n:05d}", Password: "secret"},
	}}
	members, err := cfg.Members()
	if err != nil {
		t.Fatal(err)
	}
	f := fleet.New(members, fleet.Options{Connecting: 2})
	started := make(chan error, 1)
	go func() { started <- f.Start(context.Background()) }()
	defer func() {
		// The sign-out REGISTERs of Stop get their answers too.
		done := make(chan struct{})
		defer close(done)
		go func() {
			for {
				select {
				case answer := <-r.pending:
					answer()
				case <-done:
					return
				}
			}
		}()
		f.Stop(context.Background())
	}()
	next := func() func() {
		select {
		case answer := <-r.pending:
			return answer
		case <-time.After(20 * time.Second):
			t.Fatalf("a REGISTER never came; %d answered", r.answered.Load())
			return nil
		}
	}
	first, second := next(), next()
	// Unbounded, the other four would come within milliseconds; bounded,
	// none comes before an answer. (The wait only bounds how long a broken
	// bound has to show itself: a correct fleet passes however slow.)
	select {
	case <-r.pending:
		t.Fatal("a third REGISTER came while two were unanswered")
	case <-time.After(300 * time.Millisecond):
	}
	first()
	second()
	for range len(members) - 2 {
		next()()
	}
	select {
	case err := <-started:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Start did not return once every phone had its answer")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, answered := range r.arrivals {
		if int(answered) < k+1-2 {
			t.Fatalf("REGISTER %d came with %d answered: more than 2 phones were connecting (arrivals %v)", k+1, answered, r.arrivals)
		}
	}
	if got := f.Progress().Built; got != len(members) {
		t.Fatalf("built %d, want %d", got, len(members))
	}
	// Throw-away phones hold no lock file: one descriptor each.
	for _, ph := range f.Phones() {
		if _, err := os.Stat(filepath.Join(ph.Phone.StateDir(), statedir.LockFile)); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%s has a lock file (%v)", ph.ID, err)
		}
	}
}
