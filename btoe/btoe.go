// Package btoe is the phone's end of Better Together over Ethernet on one
// machine: a socket in a running phone's state directory that the user's
// PC (`deskphone pc`) talks to, one command a connection ("pair CODE",
// "lock", "unlock", "call TARGET"), answered "ok" or "error: REASON". The
// commands are the driver's pc verb.
package btoe

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/deskphone/deskphone/driver"
	"github.com/deskphone/deskphone/phone"
)

// Socket is the socket's name in the phone's state directory.
const Socket = "btoe.sock"

// Timeout bounds one command, on either end.
const Timeout = 30 * time.Second

// Server serves the socket of one phone until Close.
type Server struct {
	ln   net.Listener
	path string
	// ctx ends the commands running when Close is called.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]bool
}

// Listen serves p's socket, replacing one a killed phone left; the
// commands run until ctx ends or Close.
func Listen(ctx context.Context, p *phone.Phone) (*Server, error) {
	path := filepath.Join(p.StateDir(), Socket)
	_ = os.Remove(path) // a socket left by a phone that was killed
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("pc link: %w", err)
	}
	s := &Server{ln: ln, path: path, conns: map[net.Conn]bool{}}
	s.ctx, s.cancel = context.WithCancel(ctx)
	s.wg.Add(1)
	go s.accept(p)
	return s, nil
}

func (s *Server) accept(p *phone.Phone) {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		if !s.track(conn, true) {
			conn.Close()
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.track(conn, false)
			defer conn.Close()
			s.serve(conn, p)
		}()
	}
}

// track adds or removes an open connection; it refuses one once closed.
func (s *Server) track(c net.Conn, open bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !open {
		delete(s.conns, c)
		return true
	}
	if s.conns == nil {
		return false
	}
	s.conns[c] = true
	return true
}

// serve answers one connection's command.
func (s *Server) serve(conn net.Conn, p *phone.Phone) {
	_ = conn.SetDeadline(time.Now().Add(Timeout))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return
	}
	t := &driver.Target{Phone: p}
	if _, err := driver.Exec(s.ctx, t, "pc "+strings.TrimSpace(line)); err != nil {
		fmt.Fprintf(conn, "error: %v\n", err)
		return
	}
	fmt.Fprintln(conn, "ok")
}

// Close stops serving, ends the connections open, waits for them and
// removes the socket.
func (s *Server) Close() error {
	err := s.ln.Close()
	s.cancel()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.conns = nil
	s.mu.Unlock()
	s.wg.Wait()
	_ = os.Remove(s.path)
	return err
}

// ErrNoPhone means no phone serves the socket of a state directory.
var ErrNoPhone = errors.New("no phone running")

// Send is the PC's end: it sends one command to the phone running on
// the state directory dir and returns its reply; a refusal is an error.
func Send(dir, command string) (string, error) {
	conn, err := net.DialTimeout("unix", filepath.Join(dir, Socket), 5*time.Second)
	if err != nil {
		return "", fmt.Errorf("%w on %s: %w", ErrNoPhone, dir, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(Timeout))
	if _, err := fmt.Fprintln(conn, command); err != nil {
		return "", err
	}
	reply, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return "", err
	}
	reply = strings.TrimSpace(reply)
	if msg, failed := strings.CutPrefix(reply, "error: "); failed {
		return "", errors.New(msg)
	}
	return reply, nil
}
