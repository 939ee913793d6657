package backend

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo"

	"github.com/deskphone/deskphone/certs"
	"github.com/deskphone/deskphone/internal/testwait"
)

// closedWithin reads from c until the server closes it; it fails when
// that takes longer than bound.
func closedWithin(t *testing.T, c net.Conn, bound time.Duration, what string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(bound))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("%s: still open after %v", what, bound)
	}
}

func healthOf(t *testing.T, b *Backend, transport string) ListenerHealth {
	t.Helper()
	for _, l := range b.Health().Listeners {
		if strings.EqualFold(l.Transport, transport) {
			return l
		}
	}
	t.Fatalf("no %s listener in %+v", transport, b.Health())
	return ListenerHealth{}
}

// TestStalledConnectionsAreClosed: connections that never finish the TLS
// handshake or never send a whole request are closed after the
// configured deadlines, while a connection a phone registered on stays.
func TestStalledConnectionsAreClosed(t *testing.T) {
	b := startBackend(t, func(c *Config) {
		c.HandshakeTimeout = 300 * time.Millisecond
		c.UnregisteredIdleTimeout = 600 * time.Millisecond
	})
	ctx := ctxT(t)
	phone := newPhoneOn(t, b, "alice", "secret", "TCP")
	phone.mustRegister(ctx)
	reg := b.Registrations()[0]
	const bound = 5 * time.Second

	drip := func(c net.Conn) {
		// Slowloris: a request a byte at a time, never finished.
		go func() {
			for _, ch := range []byte(strings.Repeat("OPTIONS sip:deskphone.test SIP/2.0\r\n", 10)) {
				if _, err := c.Write([]byte{ch}); err != nil {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
	}
	tlsConf := &tls.Config{RootCAs: rootPool(t, certs.FactoryRoot2019), ServerName: b.ServerName()}
	for _, tt := range []struct {
		name string
		dial func() (net.Conn, error)
		then func(net.Conn)
	}{
		{"half-open TCP", func() (net.Conn, error) { return net.Dial("tcp", b.Addr("tcp")) }, nil},
		{"no ClientHello", func() (net.Conn, error) { return net.Dial("tcp", b.Addr("tls")) }, nil},
		{"stalled ClientHello", func() (net.Conn, error) { return net.Dial("tcp", b.Addr("tls")) }, func(c net.Conn) {
			_, _ = c.Write([]byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01})
		}},
		{"slowloris over TCP", func() (net.Conn, error) { return net.Dial("tcp", b.Addr("tcp")) }, drip},
		{"slowloris over TLS", func() (net.Conn, error) { return tls.Dial("tcp", b.Addr("tls"), tlsConf) }, drip},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.dial()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if tt.then != nil {
				tt.then(c)
			}
			closedWithin(t, c, bound, tt.name)
		})
	}
	// A handshake that times out closes the socket before it is counted.
	testwait.For(t, testTimeout, "2 idle TCP connections counted", func() bool { return healthOf(t, b, "tcp").IdleClosed == 2 })
	testwait.For(t, testTimeout, "2 failed TLS handshakes and 1 idle TLS connection counted", func() bool {
		h := healthOf(t, b, "tls")
		return h.HandshakeFailures == 2 && h.IdleClosed == 1
	})
	// Every stalled connection came after the REGISTER and has gone: the
	// phone's, idle as long, is still there.
	if !b.connected(flow{transport: "TCP", addr: reg.Source}) {
		t.Error("the registered phone's connection was closed")
	}
}

// TestConnectionCaps: connections beyond the per-source and total caps
// are closed at once and counted; the others stay.
func TestConnectionCaps(t *testing.T) {
	for _, tt := range []struct {
		name          string
		total, perSrc int
		held, extra   []string // source addresses
	}{
		{"per source", 10, 2, []string{"127.0.0.1", "127.0.0.1", "127.0.0.2"}, []string{"127.0.0.1"}},
		{"total", 2, 10, []string{"127.0.0.1", "127.0.0.2"}, []string{"127.0.0.3"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := startBackend(t, func(c *Config) {
				c.MaxConnections, c.MaxConnectionsPerSource = tt.total, tt.perSrc
				c.UnregisteredIdleTimeout = -1
			})
			dial := func(src string) net.Conn {
				t.Helper()
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
				c, err := d.Dial("tcp", b.Addr("tcp"))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				return c
			}
			var held []net.Conn
			for i, src := range tt.held {
				held = append(held, dial(src))
				testwait.For(t, testTimeout, "connection accepted", func() bool { return healthOf(t, b, "tcp").Connections == i+1 })
			}
			for _, src := range tt.extra {
				closedWithin(t, dial(src), testTimeout, "connection beyond the cap")
			}
			h := healthOf(t, b, "tcp")
			if h.Refused != int64(len(tt.extra)) || h.Connections != len(tt.held) {
				t.Errorf("refused %d, open %d; want %d, %d", h.Refused, h.Connections, len(tt.extra), len(tt.held))
			}
			// The admin API shows the same.
			res, err := http.Get("http://" + b.AdminAddr() + "/admin/health")
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var got Health
			if err := json.NewDecoder(res.Body).Decode(&got); err != nil || res.StatusCode != http.StatusOK || !got.OK {
				t.Fatalf("GET /admin/health: %s %+v %v", res.Status, got, err)
			}
			for _, l := range got.Listeners {
				if l.Transport == "TCP" && l.Refused != int64(len(tt.extra)) {
					t.Errorf("admin health: TCP refused %d", l.Refused)
				}
			}
			// Closing the held connections frees their places.
			for _, c := range held {
				c.Close()
			}
			testwait.For(t, testTimeout, "connections released", func() bool { return healthOf(t, b, "tcp").Connections == 0 })
		})
	}
}

// fdChildEnv makes the test binary run the body of
// TestAcceptSurvivesFdExhaustion in a child process, whose file
// descriptor limit it lowers without touching the parent's.
const fdChildEnv = "BACKEND_TEST_FD_CHILD"

// TestAcceptSurvivesFdExhaustion: when the process runs out of file
// descriptors, Accept fails with EMFILE; the listener reports it, backs
// off and accepts the waiting connection once descriptors are free.
func TestAcceptSurvivesFdExhaustion(t *testing.T) {
	if os.Getenv(fdChildEnv) == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestAcceptSurvivesFdExhaustion$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), fdChildEnv+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestAcceptSurvivesFdExhaustion") {
			t.Fatalf("child: %v\n%s", err, out)
		}
		return
	}
	b := startBackend(t, func(c *Config) { c.Listen = []string{"tcp:127.0.0.1:0"} })
	lim := syscall.Rlimit{Cur: 256, Max: 256}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("cannot lower the file descriptor limit: %v", err)
	}
	// Take every descriptor left, then give one back for the client.
	var fillers []*os.File
	for {
		f, err := os.Open(os.DevNull)
		if err != nil {
			if !errors.Is(err, syscall.EMFILE) {
				t.Fatalf("filling descriptors: %v", err)
			}
			break
		}
		fillers = append(fillers, f)
	}
	fillers[len(fillers)-1].Close()
	fillers = fillers[:len(fillers)-1]
	c, err := net.Dial("tcp", b.Addr("tcp"))
	if err != nil {
		t.Fatalf("dial with the last descriptor: %v", err)
	}
	defer c.Close()
	testwait.For(t, testTimeout, "accept to fail", func() bool { return healthOf(t, b, "tcp").AcceptErrors > 0 })
	h := b.Health()
	if h.OK || h.Listeners[0].Accepting || !strings.Contains(h.Listeners[0].LastError, "too many open files") {
		t.Errorf("health while out of descriptors: %+v", h)
	}
	for _, f := range fillers {
		f.Close()
	}
	testwait.For(t, testTimeout, "the waiting connection accepted", func() bool { return healthOf(t, b, "tcp").Connections == 1 })
	if !b.Health().OK {
		t.Errorf("health after recovery: %+v", b.Health())
	}
	// The connection is served.
	_ = c.SetDeadline(time.Now().Add(testTimeout))
	req := "OPTIONS sip:deskphone.test SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKfd\r\n" +
		"From: <sip:x@deskphone.test>;tag=1\r\nTo: <sip:deskphone.test>\r\nCall-ID: fd\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 512)
	n, err := c.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "SIP/2.0 200") {
		t.Fatalf("OPTIONS after recovery: %q %v", buf[:n], err)
	}
}

// TestUnregisteredKeepAliveIsClosed (issue 19, item 10): a connection
// that never registers but pings with OPTIONS (every 20 s in the probe;
// here faster than the shortened idle timeout) is closed at the bound. A
// connection party to a call stays while the call lasts.
func TestUnregisteredKeepAliveIsClosed(t *testing.T) {
	const idle = 500 * time.Millisecond
	b := startBackend(t, func(c *Config) { c.UnregisteredIdleTimeout = idle })
	tlsConf := &tls.Config{RootCAs: rootPool(t, certs.FactoryRoot2019), ServerName: b.ServerName()}

	t.Run("OPTIONS pings", func(t *testing.T) {
		c, err := tls.Dial("tcp", b.Addr("tls"), tlsConf)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			tick := time.NewTicker(idle / 5)
			defer tick.Stop()
			for i := 0; ; i++ {
				req := fmt.Sprintf("OPTIONS sip:deskphone.test SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:9;branch=z9hG4bKping%d\r\n"+
					"From: <sip:probe@deskphone.test>;tag=p\r\nTo: <sip:deskphone.test>\r\nCall-ID: ping\r\nCSeq: %d OPTIONS\r\n"+
					"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n", i, i+1)
				if _, err := c.Write([]byte(req)); err != nil {
					return
				}
				select {
				case <-tick.C:
				case <-stop:
					return
				}
			}
		}()
		closedWithin(t, c, 10*idle, "a connection pinging with OPTIONS")
	})

	t.Run("in a call", func(t *testing.T) {
		ctx := ctxT(t)
		// Authenticated per request (407), never registered.
		phone := newPhoneOn(t, b, "alice", "secret", "TLS")
		sess, err := phone.callWith(ctx, "echo", sipgo.AnswerOptions{Username: "alice", Password: "secret"})
		if err != nil {
			t.Fatalf("call echo: %v", err)
		}
		if err := sess.Ack(ctx); err != nil {
			t.Fatal(err)
		}
		var f flow
		b.mu.Lock()
		for _, c := range b.calls {
			f = c.flow
		}
		b.mu.Unlock()
		// A connection opened after the phone's is closed at the bound:
		// by then the phone's first period is over too.
		before := healthOf(t, b, "tls").IdleClosed
		probe, err := tls.Dial("tcp", b.Addr("tls"), tlsConf)
		if err != nil {
			t.Fatal(err)
		}
		defer probe.Close()
		closedWithin(t, probe, 10*idle, "an idle probe")
		testwait.For(t, testTimeout, "the probe counted as idle", func() bool { return healthOf(t, b, "tls").IdleClosed > before })
		if !b.connected(f) {
			t.Fatal("the connection of a call was closed for idling")
		}
		if err := sess.Bye(ctx); err != nil {
			t.Fatal(err)
		}
		testwait.For(t, testTimeout, "the connection closed once the call ended", func() bool { return !b.connected(f) })
	})
}
