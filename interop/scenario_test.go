//go:build interop

package interop

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/deskphone/deskphone/certs"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/scenarios"
)

// TestScenarioAgainstKamailio runs a scenario with an external backend:
// the same file format as the library, with server, CA and per-phone
// credentials, against a real Kamailio over TLS.
func TestScenarioAgainstKamailio(t *testing.T) {
	kamBin := need(t, toolKamailio)
	lab := newLab(t)
	k := startKamailio(t, kamBin, lab)
	dir := t.TempDir()
	file := filepath.Join(dir, "kamailio.yaml")
	body := fmt.Sprintf(`name: Two vendors call each other through Kamailio
backend:
  server: sips:127.0.0.1:%d
  ca: %s
  domain: 127.0.0.1
phones:
  - {name: alice, model: vvx601, user: alice, password: %s, srtp: mandatory}
  - {name: bob, model: t48g, user: bob, password: %s, srtp: mandatory, audio: "tone:1200"}
steps:
  - {phone: alice, wait: {registered: yes, status: {tls: "1.2"}}, timeout: 10s}
  - {phone: bob, wait: {registered: yes}, timeout: 10s}
  - {phone: alice, dial: bob}
  - {phone: bob, wait: {call: ringing}, timeout: 10s}
  - answer: bob
  - {phone: alice, wait: {call: connected}, timeout: 10s}
  - {phone: alice, wait: {tone: 1200}, timeout: 10s}
  - hangup: alice
  - {phone: bob, wait: {call: idle}, timeout: 10s}
`, k.tlsPort, lab.Path(certs.LabCABundle), kamailioPassword("alice"), kamailioPassword("bob"))
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scenarios.Load(file, cat)
	if err != nil {
		t.Fatal(err)
	}
	res := scenarios.Run(context.Background(), sc, scenarios.Options{Catalog: cat})
	if !res.Passed {
		t.Fatalf("%s", res.Details())
	}
	t.Logf("%d steps in %v", len(res.Steps), res.Wall)
}
