package fleet_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/fleet"
	"github.com/deskphone/deskphone/internal/testwait"
	"github.com/deskphone/deskphone/phone"
)

// A fleet provisioned by a gateway needs no server; once built it prints
// its phones as a bulk sign-in CSV.
func TestFleetGatewayBulkCSV(t *testing.T) {
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]string
		_ = json.NewDecoder(r.Body).Decode(&body)
		fmt.Fprintf(w, `{"device_key": "K", "state": "signed-out", "registrar": {"server": "sips:127.0.0.1:1"}, "account": {"user": "dev-%s", "password": "p"}}`, strings.ReplaceAll(body["mac"], ":", ""))
	}))
	defer gw.Close()
	src := fmt.Sprintf("provisioning: %s/emea\ngroups:\n  - {model: t46g, user: 'desk{n:02d}', count: 3}\n  - {model: vvx501, user: 'lobby{n}', provisioning: '%s/noam/tenantid/0b5c1e9a-2f3d-4c5e-8a9b-0123456789ab'}\n", gw.URL, gw.URL)
	cfg, err := fleet.Parse("f.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	members, err := cfg.Members()
	if err != nil {
		t.Fatal(err)
	}
	if members[0].Provisioning != gw.URL+"/emea" || members[3].Provisioning != gw.URL+"/noam/tenantid/0b5c1e9a-2f3d-4c5e-8a9b-0123456789ab" || members[0].Server != "" {
		t.Fatalf("members %+v", members)
	}
	f := fleet.New(members, fleet.Options{Connecting: 2})
	ctx := context.Background()
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = f.Stop(sctx)
	}()
	for _, p := range f.Phones() {
		testwait.For(t, 10*time.Second, p.ID+" signed out at the gateway", func() bool { return p.Phone.Published().Gateway == phone.GatewaySignedOut })
	}
	var b bytes.Buffer
	if err := f.WriteBulkCSV(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 5 || lines[0] != "Username,HardwareId" {
		t.Fatalf("CSV:\n%s", b.String())
	}
	for i, p := range f.Phones() {
		want := p.ID + "," + strings.ReplaceAll(p.Phone.Identity().MAC, ":", "-")
		if lines[i+1] != want || strings.Count(lines[i+1], "-") != 5 {
			t.Errorf("row %d %q, want %q", i+1, lines[i+1], want)
		}
	}
}

func TestParseProvisioningErrors(t *testing.T) {
	for src, want := range map[string]string{
		"provisioning: ftp://h/emea\ngroups:\n  - {model: vvx501, user: 'u{n}'}\n":        `f.yaml:1:15: provisioning "ftp://h/emea": want a URL`,
		"provisioning: http://h:1/firmware\ngroups:\n  - {model: vvx501, user: 'u{n}'}\n": `no server (give server: sips:HOST:PORT, or provisioning: a Teams SIP Gateway URL)`,
	} {
		if _, err := fleet.Parse("f.yaml", []byte(src), nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", src, err, want)
		}
	}
}
