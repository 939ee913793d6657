package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/deskphone/deskphone/backend/idp"
)

// The sign-in admin commands against a standalone backend, and approve /
// deny answering web sign-in codes on its verification page.
func TestBackendAdminSignIn(t *testing.T) {
	b := startProc(t, "backend", "--listen", "tls:127.0.0.1:0", "--state", t.TempDir(), "--admin", "127.0.0.1:0")
	admin := strings.TrimSuffix(strings.TrimPrefix(b.line("admin http://"), "admin http://"), "/admin/")
	if l := b.line("sign-in "); l != "sign-in http://"+admin+"/devicelogin" {
		t.Errorf("sign-in line %q", l)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"idp"}, 0, `"token_endpoint": "http://` + admin + `/deskphone.test/oauth2/v2.0/token"`},
		{[]string{"block-legacy-auth", "on"}, 0, `"block_legacy_auth": true`},
		{[]string{"block-legacy-auth", "off"}, 0, `"block_legacy_auth": false`},
		{[]string{"block-legacy-auth", "maybe"}, 1, ""},
		{[]string{"vendor-cutoff", "2019-07-01"}, 0, `"vendor_client_cutoff": "2019-07-01T00:00:00Z"`},
		{[]string{"consent", idp.PolyClientID}, 0, `"` + idp.PolyClientID + `"`},
		{[]string{"revoke-consent", idp.PolyClientID}, 0, `"consented": []`},
		{[]string{"vendor-cutoff", "none"}, 0, `"block_legacy_auth"`},
		{[]string{"disable-user", "carol"}, 0, `"carol"`},
		{[]string{"enable-user", "carol"}, 0, `"disabled_users": []`},
		{[]string{"revoke-tokens", "carol"}, 0, `"refresh_tokens_revoked": 0`},
		{[]string{"revoke-tokens", "mallory"}, 1, "unknown user"},
	} {
		out, stderr, code := deskphone(t, "", append([]string{"backend", "admin", "--admin", admin}, c.args...)...)
		if code != c.code || !strings.Contains(out, c.want) {
			t.Errorf("admin %v: exit %d, %q lacks %q (%s)", c.args, code, out, c.want, stderr)
		}
	}

	newCode := func() string {
		t.Helper()
		res, err := http.PostForm("http://"+admin+"/deskphone.test/oauth2/v2.0/devicecode", url.Values{"client_id": {idp.PolyClientID}})
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var da struct {
			UserCode string `json:"user_code"`
		}
		if err := json.NewDecoder(res.Body).Decode(&da); err != nil || da.UserCode == "" {
			t.Fatalf("device code: %v", err)
		}
		return da.UserCode
	}
	code := newCode()
	if out, stderr, rc := deskphone(t, "", "backend", "admin", "--admin", admin, "approve", code, "alice", "secret"); rc != 0 || out != "approved "+code+" for alice\n" {
		t.Errorf("approve: exit %d %q %s", rc, out, stderr)
	}
	if _, stderr, rc := deskphone(t, "", "backend", "admin", "--admin", admin, "approve", code, "alice", "secret"); rc != 1 || !strings.Contains(stderr, "already been used") {
		t.Errorf("approve a used code: exit %d %s", rc, stderr)
	}
	code = newCode()
	if out, stderr, rc := deskphone(t, "", "backend", "admin", "--admin", admin, "deny", code); rc != 0 || out != "denied "+code+"\n" {
		t.Errorf("deny: exit %d %q %s", rc, out, stderr)
	}
}
