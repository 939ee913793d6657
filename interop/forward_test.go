//go:build interop

package interop

import (
	"strings"
	"testing"
	"time"
)

// TestForwardFollowedByKamailio: a deskphone that forwards every call
// answers SIPp's call with 302 (the target in Contact, and Diversion);
// Kamailio follows it, as a PBX does, to the target's registered contact,
// and the target deskphone answers SIPp. The forwarding phone never rings.
func TestForwardFollowedByKamailio(t *testing.T) {
	sippBin := need(t, toolSIPp)
	l := startFeatureLab(t)
	alice := l.phone(t, "vvx601", "alice")
	carol := l.phone(t, "t46g", "carol")
	dir := t.TempDir()

	if err := alice.Line().Forward("always", "carol", 0); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, alice, "forward", "always:carol")

	uac, _ := startSIPp(t, sippBin, dir, l.sippCaller("uac-forwarded", "uac.xml",
		map[string]string{"dp_callee": "alice"}))
	st := waitStatus(t, carol, "call", "ringing")
	if st["remote"] != "bob" {
		t.Errorf("carol: remote=%q, want bob (the caller, forwarded by alice)", st["remote"])
	}
	waitLog(t, alice, "call from bob forwarded (always) to carol")
	if st := status(t, alice); st["call"] != "idle" || st["calls"] != "0" {
		t.Errorf("alice: call=%s calls=%s, want idle: a forwarded call does not ring", st["call"], st["calls"])
	}
	// alice's 302 named her in a Diversion (RFC 5806), which Kamailio's
	// new branch carries on to carol.
	inv := l.k.waitDump(t, "INVITE to carol with a Diversion", "tag: snd", "INVITE sip", "carol", "Diversion:")
	for _, line := range strings.Split(inv, "\n") {
		if d, ok := strings.CutPrefix(strings.TrimSpace(line), "Diversion:"); ok {
			if !strings.Contains(d, "alice@") || !strings.Contains(d, "reason=unconditional") {
				t.Errorf("Diversion:%s, want alice's, reason=unconditional", d)
			}
			t.Logf("carol's INVITE: Diversion:%s", d)
		}
	}
	if err := carol.Answer(); err != nil {
		t.Fatal(err)
	}
	waitLog(t, carol, "connected to bob")
	// SIPp talks for 2 s, then hangs up on carol.
	waitLog(t, carol, "call with bob ended by the far end")
	waitStatus(t, carol, "call", "idle")
	expectSIPpSuccess(t, uac, 30*time.Second)
}
