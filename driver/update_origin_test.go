package driver_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/driver"
	"github.com/deskphone/deskphone/driver/drivertest"
	"github.com/deskphone/deskphone/firmware"
	"github.com/deskphone/deskphone/internal/testwait"
	"github.com/deskphone/deskphone/phone"
)

// Issue 19 (low): a check answer whose image_url is absolute on another
// host sends the phone there. The probe: a service whose answers name a
// second loopback server (which would serve the genuine image); the phone
// must not connect to it unless the service lists it as a mirror.
func TestUpdateImageFromAnotherHost(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mirror bool
	}{
		{"unlisted host", false},
		{"listed mirror", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewFake(drivertest.Start)
			cloud := drivertest.Cloud(t, clk)
			svc, real := updateService(t, clk, "")
			if err := svc.Approve("c450hd", "UCC450HD_3.4.6.537"); err != nil {
				t.Fatal(err)
			}
			target, err := url.Parse(real)
			if err != nil {
				t.Fatal(err)
			}
			var foreignHits atomic.Int64
			foreign := loopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				foreignHits.Add(1)
				httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
			}))
			proxy := httputil.NewSingleHostReverseProxy(target)
			proxy.ModifyResponse = func(res *http.Response) error {
				if res.Request.URL.Path != firmware.CheckPath || res.StatusCode != http.StatusOK {
					return nil
				}
				var ans firmware.CheckResponse
				if err := json.NewDecoder(res.Body).Decode(&ans); err != nil {
					return err
				}
				res.Body.Close()
				if ans.ImageURL != "" {
					ans.ImageURL = foreign.URL + ans.ImageURL
				}
				if tc.mirror {
					ans.Mirrors = []string{foreign.URL}
				}
				b, err := json.Marshal(ans)
				if err != nil {
					return err
				}
				res.Body = io.NopCloser(bytes.NewReader(b))
				res.ContentLength = int64(len(b))
				res.Header.Set("Content-Length", strconv.Itoa(len(b)))
				return nil
			}
			answering := loopbackServer(t, proxy)

			p := drivertest.Phone(t, driver.Spec{Model: "c450hd", Firmware: "UCC450HD_3.2.0.1003.61", Clock: clk,
				Account: drivertest.Account(cloud, "alice"), Options: []phone.Option{phone.WithUpdateService(answering.URL)}})
			drivertest.Status(t, p, "registered", "yes")
			if tc.mirror {
				if err := run(t, p, "update now"); err != nil {
					t.Fatal(err)
				}
				drivertest.Wait(t, p, driver.Cond{Status: map[string]string{"firmware": "UCC450HD_3.4.6.537", "registered": "yes"}})
				if foreignHits.Load() == 0 {
					t.Error("the image did not come from the listed mirror")
				}
				return
			}
			if err := run(t, p, "update check"); err != nil {
				t.Fatal(err)
			}
			waitErr(t, p, "image_url "+foreign.URL)
			waitErr(t, p, "not on the update service nor a mirror it lists")
			if err := run(t, p, "update now"); err != nil {
				t.Fatal(err)
			}
			waitErr(t, p, "not on the update service")
			drivertest.Status(t, p, "firmware", "UCC450HD_3.2.0.1003.61")
			if n := foreignHits.Load(); n != 0 {
				t.Fatalf("the phone made %d requests to a host the service did not list", n)
			}
		})
	}
}

// proxyTo is a reverse proxy to the update service at base, for test
// fronts that change or hold what it answers.
func proxyTo(t *testing.T, base string) *httputil.ReverseProxy {
	t.Helper()
	target, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	return httputil.NewSingleHostReverseProxy(target)
}

// loopbackServer serves h on 127.0.0.1 for the test.
func loopbackServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &httptest.Server{Listener: ln, Config: &http.Server{Handler: h}}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// A check asked for while another is in flight (sign-in while the
// power-on check waits for its answer) is made once that answer is in,
// not dropped: what a boot checks does not depend on which of the network's
// answers comes first.
func TestCheckAskedDuringACheckIsMadeAfterIt(t *testing.T) {
	clk := clock.NewFake(drivertest.Start)
	cloud := drivertest.Cloud(t, clk)
	_, real := updateService(t, clk, "")
	var checks atomic.Int64
	gate := make(chan struct{})
	proxy := proxyTo(t, real)
	front := loopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == firmware.CheckPath && checks.Add(1) == 1 {
			<-gate // the power-on check waits until the phone signed in
		}
		proxy.ServeHTTP(w, r)
	}))
	var open sync.Once
	release := func() { open.Do(func() { close(gate) }) }
	t.Cleanup(release) // before the server's Close, which waits for the handler
	p := drivertest.Phone(t, driver.Spec{Model: "c450hd", Firmware: "UCC450HD_3.2.0.1003.61", Clock: clk,
		Account: drivertest.Account(cloud, "alice"), Options: []phone.Option{phone.WithUpdateService(front.URL)}})
	drivertest.Status(t, p, "registered", "yes")
	testwait.Until(t, "the sign-in check logged and the power-on one at the service", func() bool {
		return logged(p, "checking for firmware (sign-in)") && checks.Load() >= 1
	})
	if n := checks.Load(); n != 1 {
		t.Fatalf("%d checks reached the service while the first waits, want 1", n)
	}
	release()
	testwait.Until(t, "the sign-in check made after the power-on one", func() bool { return checks.Load() == 2 })
}

// A phone closed in the middle of a firmware download leaves nothing
// running: Close ends the download and waits for it, so no goroutine of
// the phone writes into its state directory after Close returns.
func TestCloseDuringDownloadLeavesNothingRunning(t *testing.T) {
	clk := clock.NewFake(drivertest.Start)
	cloud := drivertest.Cloud(t, clk)
	svc, real := updateService(t, clk, "")
	if err := svc.Approve("c450hd", "UCC450HD_3.4.6.537"); err != nil {
		t.Fatal(err)
	}
	proxy := proxyTo(t, real)
	started := make(chan struct{})
	var once sync.Once
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) }) // before the server's Close, which waits for the handler
	front := loopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/images/") {
			proxy.ServeHTTP(w, r)
			return
		}
		// A stalled image: a first chunk, then nothing until the test ends.
		w.Header().Set("Content-Length", "1048576")
		w.Write(make([]byte, 4096))
		w.(http.Flusher).Flush()
		once.Do(func() { close(started) })
		select {
		case <-hold:
		case <-r.Context().Done():
		}
	}))
	p := drivertest.Phone(t, driver.Spec{Model: "c450hd", Firmware: "UCC450HD_3.2.0.1003.61", Clock: clk,
		Account: drivertest.Account(cloud, "alice"), Options: []phone.Option{phone.WithUpdateService(front.URL)}})
	drivertest.Status(t, p, "registered", "yes")
	if err := run(t, p, "update now"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("the download never started")
	}
	// The download runs in the update agent's code: what the check after
	// Close looks for is there before it.
	testwait.Until(t, "the download goroutine in the update agent", func() bool { return len(agentGoroutines()) > 0 })
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if gs := agentGoroutines(); len(gs) > 0 {
		t.Fatalf("a download goroutine outlived Close:\n%s", gs[0])
	}
}

// agentGoroutines are the stacks of the goroutines running the update
// agent's code (package phone/update).
func agentGoroutines() []string {
	var out []string
	for _, g := range goroutines() {
		if strings.Contains(g, "deskphone/phone/update.") {
			out = append(out, g)
		}
	}
	return out
}

// Phones closed in the middle of a call leave nothing of theirs running:
// no loop, no SIP user agent, no media session of the call.
func TestCloseDuringCallLeavesNothingRunning(t *testing.T) {
	clk := clock.NewFake(drivertest.Start)
	cloud := drivertest.Cloud(t, clk)
	alice := drivertest.Phone(t, driver.Spec{Model: "vvx601", Clock: clk, Account: drivertest.Account(cloud, "alice")})
	bob := drivertest.Phone(t, driver.Spec{Model: "t48g", Clock: clk, Account: drivertest.Account(cloud, "bob")})
	drivertest.Status(t, alice, "registered", "yes")
	drivertest.Status(t, bob, "registered", "yes")
	if err := alice.Call("bob"); err != nil {
		t.Fatal(err)
	}
	drivertest.Status(t, bob, "call", "ringing")
	if err := bob.Answer(); err != nil {
		t.Fatal(err)
	}
	drivertest.Status(t, alice, "call", "connected")
	drivertest.Status(t, bob, "call", "connected")
	if len(phoneGoroutines()) == 0 {
		t.Fatal("no goroutine of the phones found before Close: the check below would pass for nothing")
	}
	for _, p := range []*phone.Phone{alice, bob} {
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// A loop's goroutine closes its done channel in its last deferred
	// call, so right after Close it may still be returning: that one may
	// linger a moment, nothing else may.
	var exiting []string
	for _, g := range phoneGoroutines() {
		if first := strings.SplitN(g, "\n", 3); len(first) > 1 && strings.HasPrefix(first[1], "github.com/deskphone/deskphone/phone.(*loop).run(") {
			exiting = append(exiting, g)
			continue
		}
		t.Fatalf("a goroutine of the phones outlived Close:\n%s", g)
	}
	if len(exiting) > 0 {
		testwait.For(t, 5*time.Second, "the loops to return", func() bool { return len(phoneGoroutines()) == 0 })
	}
}

// phoneGoroutines are the stacks of the goroutines running a phone's own
// code: its loop, its SIP user agent, its calls' media sessions.
func phoneGoroutines() []string {
	var out []string
	for _, g := range goroutines() {
		if strings.Contains(g, "deskphone/phone.") || strings.Contains(g, "deskphone/phone/sipua.") ||
			strings.Contains(g, "deskphone/media.(*Session)") {
			out = append(out, g)
		}
	}
	return out
}

// goroutines are the stacks of every goroutine.
func goroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Split(string(buf[:n]), "\n\n")
		}
		buf = make([]byte, 2*len(buf))
	}
}
