package scenarios

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/deskphone/deskphone/internal/gwtest"
)

// Scenario phones take provisioning: and mac:; a group's members count
// their MACs up from the first.
func TestParseProvisioningAndMAC(t *testing.T) {
	src := `name: gw
phones:
  - {name: desk, model: 430hd, provisioning: "http://127.0.0.1:8064/emea", mac: "00:90:8F:00:00:FE"}
  - {name: lobby, model: t46g, count: 3, provisioning: /noam/tenantid/0b5c1e9a-2f3d-4c5e-8a9b-0123456789ab, mac: "00:15:65:00:00:ff"}
steps:
  - advance: 1s
`
	sc, err := Parse("gw.yaml", []byte(src), cat(t))
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, ps := range sc.Phones {
		got = append(got, ps.Name+" "+ps.MAC+" "+ps.Provisioning)
	}
	want := []string{
		"desk 00:90:8f:00:00:fe http://127.0.0.1:8064/emea",
		"lobby[1] 00:15:65:00:00:ff /noam/tenantid/0b5c1e9a-2f3d-4c5e-8a9b-0123456789ab",
		"lobby[2] 00:15:65:00:01:00 /noam/tenantid/0b5c1e9a-2f3d-4c5e-8a9b-0123456789ab",
		"lobby[3] 00:15:65:00:01:01 /noam/tenantid/0b5c1e9a-2f3d-4c5e-8a9b-0123456789ab",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("phones:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for bad, msg := range map[string]string{
		`provisioning: /mars`:          `gw.yaml:3:46: provisioning "/mars": a gateway region path is /REGION`,
		`provisioning: "ftp://x/emea"`: `provisioning "ftp://x/emea": want a URL`,
		`mac: "00:90:8f"`:              `mac "00:90:8f": want six octets`,
		`mac: "ff:ff:ff:ff:ff:fe"`:     `ff:ff:ff:ff:ff:fe + 2 is past ff:ff:ff:ff:ff:ff`,
	} {
		edited := strings.Replace(src, `provisioning: "http://127.0.0.1:8064/emea"`, bad, 1)
		if strings.HasPrefix(bad, "mac") {
			edited = strings.Replace(src, `mac: "00:15:65:00:00:ff"`, bad, 1)
		}
		if _, err := Parse("gw.yaml", []byte(edited), cat(t)); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: %v, want %q", bad, err, msg)
		}
	}
}

// A scenario phone provisioned by a gateway onboards with its MAC on
// virtual time, and signin pairs it.
func TestScenarioGatewayPhone(t *testing.T) {
	gw := gwtest.New(t)
	src := fmt.Sprintf(`name: gateway phone
phones:
  - {name: desk, model: 430hd, provisioning: "%s/emea", mac: "00:90:8f:aa:bb:cc"}
steps:
  - wait: {status: {gateway: signed-out}}
  - expect: {screen: "Sign In", status: {mac: "00:90:8f:aa:bb:cc", user: dev-1}}
  - signin: ""
  - wait: {status: {pairing_code: ABCD-EFGH}}
  - advance: 14m
  - expect: {status: {gateway: signing-in, pairing_expires_in: "60"}}
  - advance: 2m
  - expect: {status: {pairing_code: "", screen: gateway_expired}}
`, gw.URL)
	c := cat(t)
	sc, err := Parse("gw.yaml", []byte(src), c)
	if err != nil {
		t.Fatal(err)
	}
	if res := Run(context.Background(), sc, Options{Catalog: c}); !res.Passed {
		t.Fatalf("failed: %s", res.Failure)
	}
	if macs := gw.Sent("mac"); len(macs) == 0 || macs[0] != "00:90:8f:aa:bb:cc" {
		t.Errorf("the gateway heard %v", macs)
	}
}
