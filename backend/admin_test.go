package backend

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/deskphone/deskphone/certs"
)

func TestAdminAPI(t *testing.T) {
	b := startBackend(t, nil)
	call := func(method, path, body string) (int, string) {
		t.Helper()
		code, data, ct := adminCall(t, b, method, path, body)
		if !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s %s: Content-Type %q", method, path, ct)
		}
		return code, data
	}
	tests := []struct {
		name, method, path, body string
		code                     int
		contains                 string
	}{
		{"list users", "GET", "/admin/users", "", 200, `"extension": "1002"`},
		{"services listed", "GET", "/admin/users", "", 200, `"user": "voicemail"`},
		{"no passwords", "GET", "/admin/users", "", 200, `"user": "alice"`},
		{"add user", "POST", "/admin/users", `{"user":"erin","password":"pw","display_name":"Erin Gray","extension":"1005"}`, 201, `"user": "erin"`},
		{"duplicate", "POST", "/admin/users", `{"user":"erin2","password":"pw","extension":"1005"}`, 409, `"error"`},
		{"invalid", "POST", "/admin/users", `{"user":"bad name","password":"pw"}`, 400, `"error"`},
		{"unknown field", "POST", "/admin/users", `{"user":"frank","pasword":"pw"}`, 400, `unknown field`},
		{"not JSON", "POST", "/admin/users", `users: [frank]`, 400, `"error"`},
		{"registrations empty", "GET", "/admin/registrations", "", 200, `[]`},
		{"rotate", "POST", "/admin/rotate?root=lab-2022", "", 200, `"root": "lab-2022"`},
		{"rotate unknown", "POST", "/admin/rotate?root=lab-1999", "", 404, `known roots`},
		{"rotate missing", "POST", "/admin/rotate", "", 400, `missing root`},
		{"voicemail", "POST", "/admin/voicemail?user=alice", "", 200, `"new": 1`},
		{"voicemail by extension", "POST", "/admin/voicemail?user=1001", "", 200, `"new": 2`},
		{"voicemail unknown", "POST", "/admin/voicemail?user=nobody", "", 404, `unknown user`},
		{"wrong method", "DELETE", "/admin/users", "", 405, `use GET, POST`},
		{"no such endpoint", "GET", "/admin/nothing", "", 404, `no such endpoint`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := call(tt.method, tt.path, tt.body)
			if code != tt.code || !strings.Contains(body, tt.contains) {
				t.Errorf("%s %s = %d %s, want %d containing %q", tt.method, tt.path, code, body, tt.code, tt.contains)
			}
			if strings.Contains(body, "secret") {
				t.Errorf("response leaks a password: %s", body)
			}
		})
	}
	if _, ok := b.lookupUser("erin"); !ok {
		t.Error("POST /admin/users did not add erin")
	}
	if b.ServerRoot() != certs.FactoryRoot2022 {
		t.Errorf("ServerRoot = %s after POST /admin/rotate", b.ServerRoot())
	}

	p := newPhoneOn(t, b, "erin", "pw", "TCP")
	p.mustRegister(ctxT(t))
	_, body := call("GET", "/admin/registrations", "")
	var regs []Registration
	if err := json.Unmarshal([]byte(body), &regs); err != nil || len(regs) != 1 || regs[0].AOR != "erin" || regs[0].Transport != "TCP" {
		t.Errorf("registrations %s (%v)", body, err)
	}
}

func TestAdminListenMustBeLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:8080", "192.0.2.1:80", ":8080", "nonsense"} {
		if _, err := New(Config{StateDir: t.TempDir(), AdminListen: addr}); err == nil {
			t.Errorf("AdminListen %q accepted", addr)
		}
	}
}

// A web page's cross-site requests (issue 19, item 5): a text/plain POST
// with a foreign Origin, as a page's fetch sends it, used to get 201 and
// add the user; it gets 403 and changes nothing, and so do a rebound Host
// and a text/plain body without an Origin.
func TestAdminAPIRefusesCrossSiteRequests(t *testing.T) {
	b := startBackend(t, nil)
	send := func(host, origin, ctype, path, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctxT(t), "POST", "http://"+b.AdminAddr()+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if host != "" {
			req.Host = host
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		req.Header.Set("Content-Type", ctype)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(raw)
	}
	_, port, _ := net.SplitHostPort(b.AdminAddr())
	mallory := `{"user":"mallory","password":"pw"}`
	tests := []struct {
		name, host, origin, ctype, path, body string
		code                                  int
		says                                  string
	}{
		{"foreign origin, text/plain", "", "https://evil.example", "text/plain", "/admin/users", mallory, 403, "Origin"},
		{"foreign origin, JSON", "", "https://evil.example", "application/json", "/admin/users", mallory, 403, "Origin"},
		{"foreign origin, no body", "", "https://evil.example", "text/plain", "/admin/idp/disable?user=alice", "", 403, "Origin"},
		{"text/plain without origin", "", "", "text/plain", "/admin/users", mallory, 415, "Content-Type"},
		{"form post", "", "", "application/x-www-form-urlencoded", "/admin/users", mallory, 415, "Content-Type"},
		{"rebound host", "evil.example:" + port, "http://evil.example:" + port, "application/json", "/admin/users", mallory, 421, "Host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := send(tt.host, tt.origin, tt.ctype, tt.path, tt.body)
			if code != tt.code || !strings.Contains(body, `"error"`) || !strings.Contains(body, tt.says) {
				t.Errorf("%d %s, want %d naming %s", code, body, tt.code, tt.says)
			}
		})
	}
	if _, ok := b.lookupUser("mallory"); ok {
		t.Error("a refused request added mallory")
	}
	if p := b.IdP().Policy(); len(p.DisabledUsers) != 0 {
		t.Errorf("a refused request disabled %v", p.DisabledUsers)
	}
	// The listener's own origin, as the admin CLI or curl send it, works.
	if code, body := send("localhost:"+port, "http://localhost:"+port, "application/json", "/admin/users", mallory); code != 201 {
		t.Errorf("own origin: %d %s", code, body)
	}
}

// The admin listener bounds a slow header, a slow body and an idle
// connection (issue 19).
func TestAdminServerBounds(t *testing.T) {
	b := startBackend(t, nil)
	if s := b.admin; s.ReadHeaderTimeout <= 0 || s.ReadTimeout <= 0 || s.IdleTimeout <= 0 || s.MaxHeaderBytes <= 0 {
		t.Fatalf("unbounded: read header %v, read %v, idle %v", s.ReadHeaderTimeout, s.ReadTimeout, s.IdleTimeout)
	}
}
