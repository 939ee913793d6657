package phone_test

import (
	"strings"
	"testing"

	"github.com/deskphone/deskphone/phone/sipua"
)

// A request that had to open a new connection to the server (the one the
// phone registered on is gone) makes a registered phone register again
// at once, so the registrar's binding names the flow calls can reach.
func TestFlowChangedRegistersAgain(t *testing.T) {
	p, line, _ := onFakeLine(t, "t46g")
	registers := func() int {
		n := 0
		for _, op := range line.Ops() {
			if strings.HasPrefix(op, "REGISTER ") {
				n++
			}
		}
		return n
	}
	before := registers()
	line.Send(sipua.FlowChanged{})
	if got := registers(); got != before+1 {
		t.Fatalf("%d REGISTERs after FlowChanged, want %d: %v", got, before+1, line.Ops())
	}
	if !strings.Contains(strings.Join(logLines(t, p), "\n"), "connection to the server was replaced") {
		t.Errorf("the syslog says nothing of it")
	}
}
