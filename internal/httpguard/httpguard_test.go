package httpguard

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestCheck(t *testing.T) {
	g, err := New("127.0.0.1:8061")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		method string
		host   string
		header map[string]string
		body   string
		want   int
		is     error
	}{
		{"curl GET", "GET", "127.0.0.1:8061", nil, "", 0, nil},
		{"localhost", "GET", "LOCALHOST:8061", nil, "", 0, nil},
		{"another loopback literal", "GET", "127.0.0.9:8061", nil, "", 0, nil},
		{"IPv6 loopback", "GET", "[::1]:8061", nil, "", 0, nil},
		{"JSON POST", "POST", "127.0.0.1:8061", map[string]string{"Content-Type": "application/json; charset=utf-8"}, `{}`, 0, nil},
		{"problem+json POST", "POST", "127.0.0.1:8061", map[string]string{"Content-Type": "application/merge-patch+json"}, `{}`, 0, nil},
		{"POST without a body", "POST", "localhost:8061", nil, "", 0, nil},
		{"own origin", "POST", "localhost:8061", map[string]string{"Origin": "http://localhost:8061", "Sec-Fetch-Site": "same-origin", "Content-Type": "application/json"}, `{}`, 0, nil},
		{"rebound name", "GET", "evil.example:8061", nil, "", 421, ErrHost},
		{"rebound name with own origin", "POST", "evil.example:8061", map[string]string{"Origin": "http://evil.example:8061", "Content-Type": "application/json"}, `{}`, 421, ErrHost},
		{"loopback on another port", "GET", "127.0.0.1:80", nil, "", 421, ErrHost},
		{"no port", "GET", "localhost", nil, "", 421, ErrHost},
		{"foreign origin", "POST", "127.0.0.1:8061", map[string]string{"Origin": "https://evil.example", "Content-Type": "text/plain"}, `{"user":"x"}`, 403, ErrCrossOrigin},
		{"origin of another port", "POST", "127.0.0.1:8061", map[string]string{"Origin": "http://127.0.0.1:9999"}, ``, 403, ErrCrossOrigin},
		{"https origin over http", "POST", "127.0.0.1:8061", map[string]string{"Origin": "https://127.0.0.1:8061"}, ``, 403, ErrCrossOrigin},
		{"null origin", "POST", "127.0.0.1:8061", map[string]string{"Origin": "null"}, ``, 403, ErrCrossOrigin},
		{"cross-site fetch", "POST", "127.0.0.1:8061", map[string]string{"Sec-Fetch-Site": "cross-site"}, ``, 403, ErrCrossOrigin},
		{"text/plain body", "POST", "127.0.0.1:8061", map[string]string{"Content-Type": "text/plain"}, `{"user":"x"}`, 415, ErrMediaType},
		{"form body", "POST", "127.0.0.1:8061", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, `a=b`, 415, ErrMediaType},
		{"body without type", "POST", "127.0.0.1:8061", nil, `{}`, 415, ErrMediaType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "http://"+tt.host+"/admin/users", strings.NewReader(tt.body))
			r.Host = tt.host
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			status, err := g.Check(r, JSON)
			if status != tt.want || !errors.Is(err, tt.is) || (tt.is == nil) != (err == nil) {
				t.Fatalf("Check = %d %v, want %d %v", status, err, tt.want, tt.is)
			}
		})
	}
}

// A page's text/plain POST with a foreign Origin never reaches the
// handler, and the refusal names why in JSON.
func TestWrapRefusesCrossSitePost(t *testing.T) {
	var reached atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Add(1); w.WriteHeader(http.StatusCreated) })
	srv := httptest.NewUnstartedServer(nil)
	g, err := New(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = g.Wrap(h, JSON)
	srv.Start()
	defer srv.Close()

	req, _ := http.NewRequest("POST", srv.URL+"/admin/users", strings.NewReader(`{"user":"mallory","password":"x"}`))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Origin", "https://evil.example")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden || !strings.Contains(string(body), `"error": "cross-origin request refused: Origin \"https://evil.example\"`) {
		t.Fatalf("%d %s", res.StatusCode, body)
	}
	if reached.Load() != 0 {
		t.Fatal("the handler ran")
	}
	req, _ = http.NewRequest("POST", srv.URL+"/admin/users", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	if res, err = http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("a JSON POST from curl: %v %v", res, err)
	}
	res.Body.Close()
}

func TestAnyHost(t *testing.T) {
	g, err := New("0.0.0.0:8070", AnyHost())
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "http://10.0.0.5:8070/v1/phones", nil)
	if status, err := g.Check(r); err != nil {
		t.Fatalf("%d %v", status, err)
	}
	r.Header.Set("Origin", "http://10.0.0.5:8070")
	if status, err := g.Check(r); err != nil {
		t.Fatalf("own origin: %d %v", status, err)
	}
	r.Header.Set("Origin", "http://evil.example")
	if _, err := g.Check(r); !errors.Is(err, ErrCrossOrigin) {
		t.Fatalf("foreign origin: %v", err)
	}
}

func TestNewNeedsABoundPort(t *testing.T) {
	for _, a := range []string{"127.0.0.1:0", "127.0.0.1", ""} {
		if _, err := New(a); err == nil {
			t.Errorf("New(%q): no error", a)
		}
	}
}
