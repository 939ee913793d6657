package idp

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/clock"
)

var testUsers = map[string]User{
	"alice": {Name: "alice", Password: "secret", DisplayName: "Alice Smith"},
	"bob":   {Name: "bob", Password: "hunter2", DisplayName: "Bob Jones"},
}

func testDirectory(name string) (User, bool) {
	u, ok := testUsers[strings.ToLower(name)]
	return u, ok
}

// env is an IdP on a fake clock behind an httptest server.
type env struct {
	t   *testing.T
	s   *Server
	clk *clock.Fake
	ts  *httptest.Server
}

func newEnv(t *testing.T, mod func(*Config)) *env {
	t.Helper()
	clk := clock.NewFake(time.Date(2019, 6, 30, 9, 0, 0, 0, time.UTC))
	cfg := Config{Tenant: "deskphone.test", Users: testDirectory, Clock: clk}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	s.SetBaseURL(ts.URL)
	return &env{t: t, s: s, clk: clk, ts: ts}
}

// reply is a decoded JSON answer.
type reply struct {
	status int
	body   map[string]any
}

func (r reply) str(k string) string {
	v, _ := r.body[k].(string)
	return v
}

func (e *env) post(endpoint string, form url.Values) reply {
	e.t.Helper()
	res, err := http.PostForm(endpoint, form)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		e.t.Fatalf("POST %s: status %d, body not JSON: %v", endpoint, res.StatusCode, err)
	}
	return reply{res.StatusCode, body}
}

// deviceCode starts a device authorization for client.
func (e *env) deviceCode(client string) reply {
	e.t.Helper()
	r := e.post(e.s.DeviceAuthorizationURL(), url.Values{"client_id": {client}, "scope": {"openid offline_access sip"},
		"manufacturer": {"Poly"}, "model": {"VVX 601"}})
	if r.status != http.StatusOK {
		e.t.Fatalf("device authorization: %d %v", r.status, r.body)
	}
	return r
}

func (e *env) poll(client, deviceCode string) reply {
	e.t.Helper()
	return e.post(e.s.TokenURL(), url.Values{"client_id": {client}, "grant_type": {GrantDeviceCode}, "device_code": {deviceCode}})
}

func (e *env) password(client, user, password string) reply {
	e.t.Helper()
	return e.post(e.s.TokenURL(), url.Values{"client_id": {client}, "grant_type": {GrantPassword},
		"username": {user}, "password": {password}, "scope": {"sip"}})
}

func (e *env) approve(code, user, password string, allow bool) error {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return Approve(ctx, e.ts.URL, code, user, password, allow)
}

// wantError checks an RFC 6749 error answer.
func wantError(t *testing.T, r reply, status int, code string) {
	t.Helper()
	if r.status != status || r.str("error") != code {
		t.Fatalf("got %d %v, want %d error=%s", r.status, r.body, status, code)
	}
}

func jsonDecode(res *http.Response, v any) error { return json.NewDecoder(res.Body).Decode(v) }

func newJar(t *testing.T) http.CookieJar {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return jar
}

// newEnvReal is an IdP on the real clock with a 1 s interval, for
// clients that poll on wall time.
func newEnvReal(t *testing.T) *env {
	t.Helper()
	s, err := New(Config{Tenant: "deskphone.test", Users: testDirectory, Interval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	s.SetBaseURL(ts.URL)
	return &env{t: t, s: s, ts: ts}
}
