package backend

import (
	"encoding/json"
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
