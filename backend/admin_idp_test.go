package backend

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/backend/idp"
	"github.com/deskphone/deskphone/clock"
)

// TestAdminIdP drives the policies through the admin API, in order, and
// checks each on the token endpoint.
func TestAdminIdP(t *testing.T) {
	clk := clock.NewFake(time.Date(2019, 6, 30, 12, 0, 0, 0, time.UTC))
	b := startBackend(t, func(c *Config) { c.Clock = clk })
	base := "http://" + b.AdminAddr()
	admin := func(method, path string) (int, string) {
		t.Helper()
		code, data, _ := adminCall(t, b, method, path, "")
		return code, data
	}
	password := func(client, user string) (int, string) {
		t.Helper()
		res, err := http.PostForm(b.IdP().TokenURL(), url.Values{"grant_type": {"password"}, "client_id": {client}, "username": {user}, "password": {"secret"}})
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body struct {
			Error string `json:"error"`
		}
		_ = json.NewDecoder(res.Body).Decode(&body)
		return res.StatusCode, body.Error
	}
	steps := []struct {
		name, method, path string
		code               int
		contains           string
		client, user       string // then a password grant
		grantCode          int
		grantErr           string
	}{
		{"show", "GET", "/admin/idp", 200, `"verification_uri": "` + base + `/devicelogin"`, idp.SharedClientID, "alice", 200, ""},
		{"block legacy auth", "POST", "/admin/idp/legacy-auth?block=true", 200, `"block_legacy_auth": true`, idp.PolyClientID, "alice", 400, "invalid_grant"},
		{"allow legacy auth", "POST", "/admin/idp/legacy-auth?block=false", 200, `"block_legacy_auth": false`, idp.PolyClientID, "alice", 200, ""},
		{"bad block", "POST", "/admin/idp/legacy-auth?block=maybe", 400, "true or false", "", "", 0, ""},
		{"cutoff", "POST", "/admin/idp/vendor-cutoff?date=2019-06-30", 200, `"vendor_client_cutoff": "2019-06-30T00:00:00Z"`, idp.SharedClientID, "alice", 401, "invalid_client"},
		{"vendor app needs consent", "GET", "/admin/idp", 200, `"consented": []`, idp.PolyClientID, "alice", 400, "unauthorized_client"},
		{"consent", "POST", "/admin/idp/consent?client=" + idp.PolyClientID, 200, idp.PolyClientID, idp.PolyClientID, "alice", 200, ""},
		{"consent to nobody", "POST", "/admin/idp/consent?client=nobody", 404, "unknown client", "", "", 0, ""},
		{"disable", "POST", "/admin/idp/disable?user=alice", 200, `"disabled_users": [`, idp.PolyClientID, "alice", 400, "invalid_grant"},
		{"others still sign in", "GET", "/admin/idp", 200, `"alice"`, idp.PolyClientID, "bob", 200, ""},
		{"enable", "POST", "/admin/idp/disable?user=alice&enable=true", 200, `"disabled_users": []`, idp.PolyClientID, "alice", 200, ""},
		{"disable nobody", "POST", "/admin/idp/disable?user=mallory", 404, "unknown user", "", "", 0, ""},
		{"revoke", "POST", "/admin/idp/revoke?user=alice", 200, `"refresh_tokens_revoked": 4`, "", "", 0, ""},
		{"no cutoff", "POST", "/admin/idp/vendor-cutoff?date=none", 200, `"block_legacy_auth"`, idp.SharedClientID, "alice", 200, ""},
		{"bad date", "POST", "/admin/idp/vendor-cutoff?date=July", 400, "YYYY-MM-DD", "", "", 0, ""},
		{"wrong method", "GET", "/admin/idp/revoke", 405, "use POST", "", "", 0, ""},
	}
	for _, s := range steps {
		code, body := admin(s.method, s.path)
		if code != s.code || !strings.Contains(body, s.contains) {
			t.Fatalf("%s: %s %s: %d %s, want %d containing %q", s.name, s.method, s.path, code, body, s.code, s.contains)
		}
		if s.client == "" {
			continue
		}
		if code, e := password(s.client, s.user); code != s.grantCode || e != s.grantErr {
			t.Fatalf("%s: password grant for %s with %s: %d %q, want %d %q", s.name, s.user, s.client, code, e, s.grantCode, s.grantErr)
		}
	}
}
