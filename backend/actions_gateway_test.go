package backend

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deskphone/deskphone/backend/gateway"
	"github.com/deskphone/deskphone/backend/idp"
)

const gwTenant = "/emea/tenantid/0b5c1e9a-2f3d-4c5e-8a9b-0123456789ab"

// gwPost sends a phone's request to the gateway.
func gwPost(t *testing.T, b *Backend, path string, body map[string]string) (int, map[string]any) {
	t.Helper()
	raw, _ := json.Marshal(body)
	res, err := http.Post(b.GatewayURL()+path, "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

func TestGatewayAdminActions(t *testing.T) {
	b := startBackend(t, func(c *Config) { c.Gateway = "127.0.0.1:0" })
	if !strings.HasPrefix(b.GatewayURL(), "http://127.0.0.1:") {
		t.Fatalf("GatewayURL %q", b.GatewayURL())
	}
	code, dev := gwPost(t, b, gwTenant+"/device", map[string]string{"mac": "00:90:8f:12:34:56", "vendor": "AudioCodes", "model": "430HD", "firmware": "430HD_3.4.6.537", "mode": "sip"})
	if code != 200 || dev["registrar"].(map[string]any)["server"] != "sips:"+b.Addr("tls") {
		t.Fatalf("onboard: %d %v", code, dev)
	}
	// A form post from a page is refused by the guard.
	res, err := http.Post(b.GatewayURL()+"/emea/device", "application/x-www-form-urlencoded", strings.NewReader("mac=x"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("form post: %d", res.StatusCode)
	}

	dir := t.TempDir()
	csvFile := filepath.Join(dir, "phones.csv")
	os.WriteFile(csvFile, []byte("Username,HardwareId\nalice,00-90-8f-12-34-56\nbob,00-90-8f-12-34-99\n"), 0o644)
	bulk, err := BulkSignInInput("emea", "Username,HardwareId\nalice,00-90-8f-00-00-01\n"), error(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, method, path, body string
		code                     int
		contains                 string
	}{
		{"devices", "GET", "/admin/gateway/devices", "", 200, `"state": "signed-out"`},
		{"provision", "POST", "/admin/gateway/provision?mac=00-90-8f-12-34-56&location=Reception+desk", "", 200, `"location": "Reception desk"`},
		{"provision bad mac", "POST", "/admin/gateway/provision?mac=nope&location=x", "", 400, `MAC address`},
		{"code", "POST", "/admin/gateway/code?mac=00:90:8f:12:34:56", "", 200, `"code": "`},
		{"code unprovisioned", "POST", "/admin/gateway/code?mac=00:90:8f:00:00:01", "", 404, `not provisioned`},
		{"signout not signed in", "POST", "/admin/gateway/signout?mac=00:90:8f:12:34:56", "", 409, `not signed in`},
		{"signout unknown", "POST", "/admin/gateway/signout?mac=00:90:8f:00:00:01", "", 404, `no such device`},
		{"bulk", "POST", "/admin/gateway/bulk-signin", string(bulk.Body), 201, `"error": "Device not found in records."`},
		{"bulk bad region", "POST", "/admin/gateway/bulk-signin", `{"region":"mars","csv":"Username,HardwareId\na,00-00-00-00-00-01"}`, 400, `region`},
		{"bulk bad JSON", "POST", "/admin/gateway/bulk-signin", `{"regio":"emea"}`, 400, `unknown field`},
		{"batch", "GET", "/admin/gateway/batch?id=b1", "", 200, `"state": "completed"`},
		{"batches", "GET", "/admin/gateway/batch", "", 200, `"batch": "b1"`},
		{"no batch", "GET", "/admin/gateway/batch?id=b7", "", 404, `no such batch`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body, _ := adminCall(t, b, tc.method, tc.path, tc.body)
			if code != tc.code || !strings.Contains(body, tc.contains) {
				t.Errorf("%s %s = %d %s, want %d containing %q", tc.method, tc.path, code, body, tc.code, tc.contains)
			}
		})
	}

	// The CLI's arguments: the file is read and sent as JSON.
	a, args, _ := LookupAction([]string{"gateway", "bulk-signin", csvFile, "emea"})
	in, err := a.Input(args)
	if err != nil || !strings.Contains(string(in.Body), `"region":"emea"`) || !strings.Contains(string(in.Body), "bob,00-90-8f-12-34-99") {
		t.Fatalf("bulk-signin input %s %v", in.Body, err)
	}
	a, args, _ = LookupAction([]string{"gateway", "provision", "00-90-8f-12-34-56", "Front", "desk"})
	if in, _ := a.Input(args); in.Query.Get("location") != "Front desk" {
		t.Errorf("provision input %v", in.Query)
	}

	// Scenario steps: in process, the file relative to the scenario.
	step, _ := StepAction("gateway_bulk_signin")
	if _, err := step.Run(b, step.StepInputIn(dir, "phones.csv emea")); err != nil {
		t.Errorf("step from a file: %v", err)
	}
	if _, err := step.Run(b, step.StepInput("missing.csv emea")); err == nil {
		t.Error("a missing file ran")
	}
	if err := step.Check("emea\nUsername,HardwareId\nalice,00-90-8f-12-34-56"); err != nil {
		t.Errorf("inline CSV: %v", err)
	}
	if err := step.Check("phones.csv mars"); err == nil {
		t.Error("region mars checked")
	}
	prov, _ := StepAction("gateway_provision")
	if _, err := prov.Run(b, prov.StepInput("00-90-8f-00-00-02 Lobby east")); err != nil {
		t.Errorf("provision step: %v", err)
	}
	if info, _ := b.gw.Device("00:90:8f:00:00:02"); info.Location != "Lobby east" || info.State != gateway.StateProvisioned {
		t.Errorf("provisioned %+v", info)
	}
	devices, _ := StepAction("gateway_devices")
	if ans, err := devices.Run(b, devices.StepInput("")); err != nil || len(ans.Value.([]gateway.DeviceInfo)) != 2 {
		t.Errorf("devices step: %v %v", ans, err)
	}

	// Enrolled with *55*: the account is a directory user with a 7xxx
	// number; the admin signs it out remotely.
	c, err := b.gw.Code("00:90:8f:12:34:56")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.gw.Enroll("dev-00908f123456", c.Code); err != nil {
		t.Fatal(err)
	}
	u, ok := b.lookupUser("cap-00908f123456")
	if !ok || u.Extension != "7000" || u.DisplayName != "Reception desk" {
		t.Fatalf("common-area user %+v %v", u, ok)
	}
	if code, body, _ := adminCall(t, b, "POST", "/admin/gateway/signout?mac=00-90-8f-12-34-56", ""); code != 200 || !strings.Contains(body, `"state": "signed-out"`) {
		t.Errorf("remote sign-out: %d %s", code, body)
	}
}

func TestGatewayOff(t *testing.T) {
	b := startBackend(t, nil)
	if b.GatewayURL() != "" {
		t.Errorf("GatewayURL %q", b.GatewayURL())
	}
	if code, body, _ := adminCall(t, b, "GET", "/admin/gateway/devices", ""); code != 503 || !strings.Contains(body, "--gateway") {
		t.Errorf("devices without a gateway: %d %s", code, body)
	}
	if _, err := New(Config{StateDir: t.TempDir(), Gateway: "nope"}); err == nil {
		t.Error("Gateway nope accepted")
	}
}

// Pairing through the cloud's identity provider: the code approved on
// the verification page signs the device in as the user.
func TestGatewayPairingWithIdP(t *testing.T) {
	b := startBackend(t, func(c *Config) { c.Gateway = "127.0.0.1:0" })
	dev := map[string]string{"mac": "00:04:f2:00:00:01", "vendor": "Poly", "model": "VVX 501", "firmware": "6.4.3.5814", "mode": "sip"}
	_, r := gwPost(t, b, "/noam/device", dev)
	key := r["device_key"].(string)
	req := map[string]string{"mac": dev["mac"], "device_key": key}
	code, p := gwPost(t, b, "/noam/pair", req)
	if code != 200 || p["pairing_url"] != b.IdP().VerificationURI() {
		t.Fatalf("pair: %d %v", code, p)
	}
	if _, poll := gwPost(t, b, "/noam/pair/poll", req); poll["status"] != "pending" {
		t.Fatalf("poll %v", poll)
	}
	if err := idp.Approve(ctxT(t), b.SignInURL(), p["pairing_code"].(string), "bob", "secret", true); err != nil {
		t.Fatal(err)
	}
	if _, poll := gwPost(t, b, "/noam/pair/poll", req); poll["status"] != "signed-in" {
		t.Fatalf("poll %v", poll)
	}
	dev["device_key"] = key
	_, r = gwPost(t, b, "/noam/device", dev)
	acct := r["account"].(map[string]any)
	if r["state"] != "signed-in" || acct["user"] != "bob" || acct["number"] != "1002" || acct["display_name"] != "Bob Jones" {
		t.Fatalf("device %v", r)
	}
	if creds := b.gw.Credentials("bob"); len(creds) != 1 || creds[0] != acct["password"] {
		t.Errorf("credentials %v", creds)
	}
}

// A busy gateway address falls back to a free port when asked to.
func TestGatewayFallback(t *testing.T) {
	first := startBackend(t, func(c *Config) { c.Gateway = "127.0.0.1:0" })
	busy := strings.TrimPrefix(first.GatewayURL(), "http://")
	b := startBackend(t, func(c *Config) { c.Gateway, c.GatewayFallback = busy, true })
	if u := b.GatewayURL(); u == "" || u == first.GatewayURL() {
		t.Errorf("fallback %q", u)
	}
	c, err := New(Config{StateDir: t.TempDir(), Listen: []string{"tls:127.0.0.1:0"}, Gateway: busy})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Start(ctxT(t)); err == nil || !strings.Contains(err.Error(), "gateway listen") {
		t.Errorf("busy without fallback: %v", err)
	}
}
