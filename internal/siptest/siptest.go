// Package siptest is for tests that stand in for a SIP server with a raw
// socket: one that answers what it likes, late, wrongly or not at all,
// which a real registrar would not do on purpose.
package siptest

import (
	"bufio"
	"net"
	"strings"
	"testing"
)

// Server accepts connections on ln until the test ends and hands every
// message each one carries to handle, as its start line and header lines
// (a body is not read: these servers read requests without one). Keep-alives
// are passed over. write sends on the message's connection; it may be kept
// and called later, from any goroutine.
func Server(t testing.TB, ln net.Listener, handle func(msg []string, write func(string))) {
	t.Helper()
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			go serve(c, handle)
		}
	}()
}

func serve(c net.Conn, handle func([]string, func(string))) {
	write := writer(c)
	r := bufio.NewReader(c)
	var msg []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if line = strings.TrimRight(line, "\r\n"); line != "" {
			msg = append(msg, line)
			continue
		}
		if len(msg) == 0 {
			continue // a keep-alive
		}
		handle(msg, write)
		msg = nil
	}
}

// writer serialises the writes on one connection.
func writer(c net.Conn) func(string) {
	ch := make(chan struct{}, 1)
	return func(s string) {
		ch <- struct{}{}
		defer func() { <-ch }()
		c.Write([]byte(s))
	}
}

// Silent accepts connections on ln until the test ends, reads what comes
// and never answers: a server that keeps its clients waiting.
func Silent(t testing.TB, ln net.Listener) {
	t.Helper()
	Server(t, ln, func([]string, func(string)) {})
}

// OK is a 200 to the request whose start and header lines are msg. With
// contactParams its Contact comes back with them (e.g. "expires=3600");
// without, it has no Contact.
func OK(msg []string, contactParams string) string {
	var b strings.Builder
	b.WriteString("SIP/2.0 200 OK\r\n")
	for _, l := range msg[1:] {
		name, _, _ := strings.Cut(l, ":")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "via", "from", "call-id", "cseq":
			b.WriteString(l + "\r\n")
		case "to":
			b.WriteString(l + ";tag=x1\r\n")
		case "contact":
			if contactParams != "" {
				b.WriteString(l + ";" + contactParams + "\r\n")
			}
		}
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return b.String()
}
