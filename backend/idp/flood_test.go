package idp

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// clientFrom is an HTTP client whose connections come from the loopback
// address 127.0.0.n, as a prober with many source addresses sends.
func clientFrom(n int) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(n))}, Timeout: 10 * time.Second}
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 1}}
}

// postFrom posts form from client c and returns the status, the error
// code of the answer and its Retry-After.
func postFrom(t *testing.T, c *http.Client, endpoint string, form url.Values) (int, string, string) {
	t.Helper()
	res, err := c.PostForm(endpoint, form)
	if err != nil {
		t.Error(err)
		return 0, "", ""
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	code := ""
	if i := strings.Index(string(body), `"error":"`); i >= 0 {
		code, _, _ = strings.Cut(string(body[i+len(`"error":"`):]), `"`)
	}
	return res.StatusCode, code, res.Header.Get("Retry-After")
}

// The probe of issue 19, item 7: 10,050 device authorization requests
// from 201 source addresses filled the table and every sign-in got 503
// for 75 minutes. Now an address holds at most CodesPerAddress codes (429
// past them), a full table makes room by pushing out codes nobody has
// entered, and a code a person has entered survives the flood.
func TestDeviceCodeFlood(t *testing.T) {
	e := newEnv(t, nil)
	ask := url.Values{"client_id": {PolyClientID}, "scope": {"sip"}}
	// A person's sign-in, its code entered on the page before the flood.
	mine := e.deviceCode(PolyClientID)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := &http.Client{Jar: newJar(t)}
	_, body, err := fetch(ctx, c, http.MethodGet, e.s.VerificationURI(), nil)
	if err != nil {
		t.Fatal(err)
	}
	kind, _, err := fetch(ctx, c, http.MethodPost, e.s.VerificationURI(), url.Values{
		"csrf": {hiddenValue(body, "csrf")}, "step": {PageCode}, "code": {mine.str("user_code")}})
	if err != nil || kind != PageSignIn {
		t.Fatalf("entering the code: %q %v", kind, err)
	}

	const addrs, each = 201, DefaultCodesPerAddress // 10,050 requests
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	sem := make(chan struct{}, 8)
	for a := 2; a < 2+addrs; a++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cl := clientFrom(a)
			defer cl.CloseIdleConnections()
			for range each {
				st, _, _ := postFrom(t, cl, e.s.DeviceAuthorizationURL(), ask)
				mu.Lock()
				statuses[st]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if statuses[http.StatusOK] != addrs*each {
		t.Fatalf("flood answers %v, want %d × 200", statuses, addrs*each)
	}
	e.s.mu.Lock()
	held := len(e.s.devices)
	e.s.mu.Unlock()
	if held > MaxDeviceCodes {
		t.Fatalf("%d device codes held, the bound is %d", held, MaxDeviceCodes)
	}
	// One more from the last flooding address (whose codes, the newest,
	// were not pushed out): it is at its bound.
	if st, code, retry := postFrom(t, clientFrom(1+addrs), e.s.DeviceAuthorizationURL(), ask); st != http.StatusTooManyRequests || code != "temporarily_unavailable" || retry == "" {
		t.Fatalf("past the address's bound: %d %s Retry-After %q", st, code, retry)
	}
	// Anyone else still gets a code, and the entered one still works.
	if st, code, _ := postFrom(t, clientFrom(1), e.s.DeviceAuthorizationURL(), ask); st != http.StatusOK {
		t.Fatalf("a sign-in after the flood: %d %s", st, code)
	}
	if err := e.approve(mine.str("user_code"), "alice", "secret", true); err != nil {
		t.Fatalf("the entered code after the flood: %v", err)
	}
	if r := e.poll(PolyClientID, mine.str("device_code")); r.status != http.StatusOK {
		t.Fatalf("poll: %d %v", r.status, r.body)
	}
}

// Expired codes go first, and an address's own expired codes free its
// place at once.
func TestDeviceCodesExpiredGoFirst(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.CodesPerAddress = 3; c.MaxDeviceCodes = 6 })
	for range 3 {
		e.deviceCode(PolyClientID)
	}
	r := e.post(e.s.DeviceAuthorizationURL(), url.Values{"client_id": {PolyClientID}})
	wantError(t, r, http.StatusTooManyRequests, "temporarily_unavailable")
	e.clk.Advance(DefaultDeviceCodeLifetime)
	for i := range 3 {
		if r := e.post(e.s.DeviceAuthorizationURL(), url.Values{"client_id": {PolyClientID}}); r.status != http.StatusOK {
			t.Fatalf("code %d after the others expired: %d %v", i, r.status, r.body)
		}
	}
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	if n := len(e.s.devices); n != 3 {
		t.Fatalf("%d codes held, want the 3 live ones", n)
	}
	for _, d := range e.s.devices {
		if !e.clk.Now().Before(d.expires) {
			t.Fatal(fmt.Sprint("an expired code was kept over a live one: ", d.userCode))
		}
	}
}
