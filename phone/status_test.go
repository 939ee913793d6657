package phone_test

import (
	"strings"
	"testing"

	"github.com/deskphone/deskphone/phone"
)

// statusText is the headless form of the status pairs, with what differs
// from run to run (the mock cloud's port, a fresh identity) left out.
func statusText(t *testing.T, p *phone.Phone, server string) string {
	t.Helper()
	st, err := p.Status()
	must(t, err)
	var b strings.Builder
	for _, kv := range st {
		v := kv[1]
		if server != "" {
			v = strings.ReplaceAll(v, server, "SERVER")
			v = strings.NewReplacer(p.Identity().MAC, "MAC", p.Identity().Serial, "SERIAL").Replace(v)
		}
		b.WriteString(kv[0] + "=" + v + "\n")
	}
	return b.String()
}

// The status pairs are a contract with users' scripts: their keys, order
// and wording are kept in golden files and must not change.
func TestStatusPairsUnchanged(t *testing.T) {
	tests := []struct {
		name  string
		model string
		drive func(t *testing.T, p *phone.Phone)
	}{
		{"idle", "c450hd", func(t *testing.T, p *phone.Phone) {}},
		{"dialing", "t46g", func(t *testing.T, p *phone.Phone) {
			must(t, p.Press(phone.KeyHeadset))
			must(t, p.Dial("12*"))
		}},
		{"menu-dnd", "vvx601", func(t *testing.T, p *phone.Phone) {
			must(t, p.SoftkeyLabel("DND"))
			navigate(t, p, []string{"Settings", "Status", "Platform"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := newPhone(t, tt.model, "")
			tt.drive(t, p)
			golden(t, "status-"+tt.name, statusText(t, p, ""))
		})
	}
}

// A registered phone in a call on hold, with a call waiting.
func TestStatusPairsUnchangedInCall(t *testing.T) {
	b := cloud(t)
	alice := signedIn(t, b, "vvx601", "", "alice", "secret")
	bob := signedIn(t, b, "t48g", "", "bob", "secret")
	carol := signedIn(t, b, "c450hd", "", "carol", "secret")
	for _, p := range []*phone.Phone{alice, bob, carol} {
		waitStatus(t, p, "registered", "yes")
	}
	must(t, alice.Call("bob"))
	waitStatus(t, bob, "call", "ringing")
	must(t, bob.Answer())
	waitStatus(t, alice, "call", "connected")
	must(t, alice.Hold())
	waitStatus(t, alice, "call", "held")
	must(t, carol.Call("alice"))
	waitStatus(t, alice, "call_waiting", "carol")
	golden(t, "status-held-waiting", statusText(t, alice, b.Addr("tls")))
}
