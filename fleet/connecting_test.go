package fleet_test

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deskphone/deskphone/fleet"
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
	t.Cleanup(func() { ln.Close() })
	r := &registrar{addr: ln.Addr().String(), pending: make(chan func(), 64)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			go r.serve(c)
		}
	}()
	return r
}

func (r *registrar) serve(c net.Conn) {
	var wmu sync.Mutex
	write := func(s string) { wmu.Lock(); c.Write([]byte(s)); wmu.Unlock() }
	rd := bufio.NewReader(c)
	var h []string
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			return
		}
		if line = strings.TrimRight(line, "\r\n"); line != "" {
			h = append(h, line)
			continue
		}
		if len(h) == 0 {
			continue // a keep-alive
		}
		req := h
		h = nil
		if strings.HasPrefix(req[0], "SIP/2.0") {
			continue
		}
		ok := okFor(req)
		if !strings.HasPrefix(req[0], "REGISTER") {
			write(ok)
			continue
		}
		r.mu.Lock()
		r.arrivals = append(r.arrivals, r.answered.Load())
		r.mu.Unlock()
		r.pending <- func() { r.answered.Add(1); write(ok) }
	}
}

// okFor is a 200 to the request whose header lines are h, keeping its
// binding for an hour.
func okFor(h []string) string {
	var b strings.Builder
	b.WriteString("SIP/2.0 200 OK\r\n")
	for _, l := range h[1:] {
		name, _, _ := strings.Cut(l, ":")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "via", "from", "call-id", "cseq":
			b.WriteString(l + "\r\n")
		case "to":
			b.WriteString(l + ";tag=x1\r\n")
		case "contact":
			b.WriteString(l + ";expires=3600\r\n")
		}
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return b.String()
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
}
