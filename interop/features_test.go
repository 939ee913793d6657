//go:build interop

package interop

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/certs"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/statedir"
)

// The call features of issue 21 against peers we did not write: deskphones
// registered to Kamailio over TLS, with baresip and SIPp as the far
// parties. Each test starts its own Kamailio, so that no registration of
// one test's phones is left for another's calls.

// featureLab is a Kamailio with the lab PKI, and the accounts of its
// subscribers for deskphones.
type featureLab struct {
	k       *kamailio
	newRoot string // the PEM root Kamailio's chain leads to
}

func startFeatureLab(t *testing.T) *featureLab {
	t.Helper()
	kamBin := need(t, toolKamailio)
	lab := newLab(t)
	return &featureLab{k: startKamailio(t, kamBin, lab), newRoot: lab.Path(certs.LabNewRootCert)}
}

// registrar is the host:port of Kamailio's TLS listener.
func (l *featureLab) registrar() string {
	return "127.0.0.1:" + strconv.Itoa(l.k.tlsPort)
}

func (l *featureLab) account(user string) statedir.Account {
	return statedir.Account{Server: "sips:" + l.registrar(), User: user, Password: kamailioPassword(user), Domain: kamailioDomain}
}

// phone boots a deskphone without audio registered as user, and waits
// until it is.
func (l *featureLab) phone(t *testing.T, model, user string) *phone.Phone {
	t.Helper()
	p := bootPhone(t, model, "", l.account(user), l.newRoot)
	waitStatus(t, p, "registered", "yes")
	return p
}

// mediaPhone boots a deskphone with a media engine (SRTP, PCMU) sending
// source, registered as user, and waits until it is.
func (l *featureLab) mediaPhone(t *testing.T, model, user, source string) *phone.Phone {
	t.Helper()
	p := mediaPhone(t, model, l.account(user), "PCMU", source, l.newRoot)
	waitStatus(t, p, "registered", "yes")
	return p
}

// needBaresip is the baresip program, or skips the test (before any
// daemon starts) when it or one of its modules is missing.
func needBaresip(t *testing.T) string {
	t.Helper()
	bin := need(t, toolBaresip)
	baresipModulePath(t)
	return bin
}

// baresip starts baresip (bin) registered as bob: auto-answering, SRTP
// only, PCMU, playing its 440 Hz WAV.
func (l *featureLab) baresip(t *testing.T, bin string) *baresipUA {
	t.Helper()
	return startBaresip(t, bin, baresipAccount{
		user: "bob", password: kamailioPassword("bob"), domain: kamailioDomain,
		registrar: l.registrar(), caFile: l.newRoot, codec: "PCMU/8000/1", rate: 8000,
	})
}

// sippCaller is a SIPp run as bob over UDP through Kamailio.
func (l *featureLab) sippCaller(name, scenario string, keys map[string]string) sipp {
	keys["dp_user"], keys["dp_domain"] = "bob", kamailioDomain
	return sipp{
		name: name, scenario: scenario, remote: l.k.sipAddr(), udp: true,
		keys: keys, auth: sippAuth("bob", kamailioPassword("bob")),
	}
}

// hearsTone says whether a tone_hz value ("440", or "440+1000" for a pair)
// has hz within 10 Hz.
func hearsTone(v string, hz int) bool {
	for _, f := range strings.Split(v, "+") {
		if n, err := strconv.Atoi(f); err == nil && math.Abs(float64(n-hz)) <= 10 {
			return true
		}
	}
	return false
}

// waitTone waits until the phone hears a steady tone of about hz.
func waitTone(t *testing.T, p *phone.Phone, hz int) map[string]string {
	t.Helper()
	return waitStatusFunc(t, p, "tone_hz", fmt.Sprintf("a tone of about %d Hz", hz), func(v string) bool { return hearsTone(v, hz) })
}

// TestReferFromSIPp: SIPp, the transferor, calls a deskphone and REFERs it
// to another deskphone (blind transfer, RFC 3515). The phone accepts, calls
// the target through Kamailio, reports the outcome to SIPp in NOTIFYs
// (message/sipfrag, which the scenario checks), and stays with the target
// when SIPp hangs up.
func TestReferFromSIPp(t *testing.T) {
	sippBin := need(t, toolSIPp)
	l := startFeatureLab(t)
	alice := l.phone(t, "vvx601", "alice")
	carol := l.phone(t, "t46g", "carol")
	dir := t.TempDir()

	ref, _ := startSIPp(t, sippBin, dir, l.sippCaller("refer", "refer.xml",
		map[string]string{"dp_callee": "alice", "dp_target": "carol"}))
	st := waitStatus(t, alice, "call", "ringing")
	if st["remote"] != "bob" {
		t.Errorf("alice: remote=%q, want bob", st["remote"])
	}
	if err := alice.Answer(); err != nil {
		t.Fatal(err)
	}
	// SIPp REFERs once it has the answer: alice calls carol.
	st = waitStatus(t, carol, "call", "ringing")
	if st["remote"] != "alice" {
		t.Errorf("carol: remote=%q, want alice", st["remote"])
	}
	waitLog(t, alice, "transferred by bob to carol")
	if err := carol.Answer(); err != nil {
		t.Fatal(err)
	}
	// The final NOTIFY (200) tells SIPp the transfer is done; it hangs
	// up (the scenario checks the 200 to its BYE), and alice is left with
	// carol: the new call took the old one's place.
	expectSIPpSuccess(t, ref, 30*time.Second)
	st = waitStatusFunc(t, alice, "calls", "1 call", func(v string) bool { return v == "1" })
	if st["call"] != "connected" || st["remote"] != "carol" {
		t.Errorf("alice: call=%s remote=%s, want connected to carol", st["call"], st["remote"])
	}
	st = waitStatus(t, carol, "call", "connected")
	if st["remote"] != "alice" {
		t.Errorf("carol: remote=%q, want alice", st["remote"])
	}
	if err := carol.Hangup(); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, alice, "call", "idle")
	waitStatus(t, carol, "call", "idle")
}

// TestConsultTransferSIPpTransferee: a deskphone completes an attended
// transfer whose transferee is SIPp. SIPp (bob) calls alice; alice
// consults carol and completes; SIPp gets the REFER with Replaces and
// Referred-By (the scenario extracts them), calls carol with Replaces
// through Kamailio and reports the answer in a NOTIFY. carol's
// consultation call is taken over by bob's, and alice leaves both calls.
func TestConsultTransferSIPpTransferee(t *testing.T) {
	sippBin := need(t, toolSIPp)
	l := startFeatureLab(t)
	alice := l.phone(t, "vvx601", "alice")
	carol := l.phone(t, "c450hd", "carol")
	dir := t.TempDir()

	tee, _ := startSIPp(t, sippBin, dir, l.sippCaller("transferee", "transferee.xml",
		map[string]string{"dp_callee": "alice", "dp_proxy": l.k.sipAddr()}))
	waitStatus(t, alice, "call", "ringing")
	if err := alice.Answer(); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, alice, "call", "connected")

	if err := alice.Line().Consult("carol"); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, carol, "call", "ringing")
	if err := carol.Answer(); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, alice, "call", "connected")
	if st["remote"] != "carol" || st["held_calls"] != "1" || st["calls"] != "2" {
		t.Errorf("alice consulting: remote=%s held_calls=%s calls=%s, want carol, 1, 2", st["remote"], st["held_calls"], st["calls"])
	}
	if err := alice.Line().CompleteTransfer(); err != nil {
		t.Fatal(err)
	}
	// carol ends the consultation call that bob's replaced, and the
	// NOTIFY with 200 tells alice that bob reached carol: she leaves.
	waitLog(t, alice, "transferred bob")
	waitStatusFunc(t, alice, "calls", "no call", func(v string) bool { return v == "0" })
	// carol's call is bob's now, connected, the only one.
	waitLog(t, carol, "replaced by bob")
	st = waitStatus(t, carol, "remote", "bob")
	if st["call"] != "connected" || st["calls"] != "1" {
		t.Errorf("carol: call=%s calls=%s, want connected, 1", st["call"], st["calls"])
	}
	if err := carol.Hangup(); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, carol, "call", "idle")
	expectSIPpSuccess(t, tee, 30*time.Second)
}

// TestCallWaitingBaresip: a deskphone in a call with baresip gets a second
// call from another deskphone. It rings as a waiting call; answering it
// holds baresip's call (re-INVITE a=sendonly, which baresip accepts); when
// the second call ends, baresip's call is still there, held, and resuming
// it brings baresip's tone back.
func TestCallWaitingBaresip(t *testing.T) {
	baresipBin := needBaresip(t)
	l := startFeatureLab(t)
	b := l.baresip(t, baresipBin)
	alice := l.mediaPhone(t, "vvx601", "alice", fmt.Sprintf("tone:%d", phoneToneHz))
	carol := l.mediaPhone(t, "t46g", "carol", "silence")

	dialBaresip(t, alice, b, "bob")
	waitTone(t, alice, baresipToneHz)

	if err := carol.Call("alice"); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, alice, "call_waiting", "carol")
	if st["call"] != "connected" || st["remote"] != "bob" || st["calls"] != "2" {
		t.Errorf("alice with a waiting call: call=%s remote=%s calls=%s, want connected to bob, 2 calls", st["call"], st["remote"], st["calls"])
	}
	waitStatus(t, carol, "call", "calling")
	if err := alice.Line().Answer(""); err != nil {
		t.Fatal(err)
	}
	// The answered call has the focus at once; it connects, and bob's
	// call is held, each when its exchange is through.
	st = waitStatus(t, alice, "call", "connected")
	if st["remote"] != "carol" {
		t.Errorf("alice after answering: remote=%s, want carol", st["remote"])
	}
	waitStatus(t, alice, "held_calls", "1")
	waitStatus(t, carol, "call", "connected")
	// baresip took the hold: its answer to alice's re-INVITE.
	l.k.waitDump(t, "answer from baresip to the hold", "tag: rcv", "SIP/2.0 200", "a=tool:baresip", "a=recvonly")

	// carol hangs up: bob's call is left, held.
	if err := carol.Hangup(); err != nil {
		t.Fatal(err)
	}
	st = waitStatusFunc(t, alice, "calls", "1 call", func(v string) bool { return v == "1" })
	if st["call"] != "held" || st["remote"] != "bob" {
		t.Errorf("alice after carol left: call=%s remote=%s, want held with bob", st["call"], st["remote"])
	}
	if err := alice.Line().Resume(""); err != nil {
		t.Fatal(err)
	}
	st = waitStatus(t, alice, "call", "connected")
	if st["remote"] != "bob" {
		t.Errorf("alice resumed: remote=%q, want bob", st["remote"])
	}
	// baresip sends again: a second of its audio arrives.
	rx, _ := strconv.Atoi(st["rtp_rx"])
	waitStatusFunc(t, alice, "rtp_rx", fmt.Sprintf("> %d packets", rx+50), func(v string) bool {
		n, err := strconv.Atoi(v)
		return err == nil && n > rx+50
	})
	waitTone(t, alice, baresipToneHz)
	if err := alice.Hangup(); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, alice, "call", "idle")
	b.waitEvent(t, 10*time.Second, "CALL_CLOSED")
}

// TestConferenceBaresip: a deskphone joins a call with baresip and a call
// with another deskphone into a three-way conference it mixes. baresip
// plays its 440 Hz WAV (aufile, 8 kHz for PCMU); the other deskphone hears
// it through the conference (its tone_hz), beside the host's own 1000 Hz.
// Hanging up on the host ends both legs.
func TestConferenceBaresip(t *testing.T) {
	baresipBin := needBaresip(t)
	l := startFeatureLab(t)
	b := l.baresip(t, baresipBin)
	alice := l.mediaPhone(t, "c450hd", "alice", fmt.Sprintf("tone:%d", phoneToneHz))
	carol := l.mediaPhone(t, "vvx601", "carol", "silence")

	dialBaresip(t, alice, b, "bob")
	if err := alice.Hold(); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, alice, "call", "held")
	if err := alice.Line().NewCall(); err != nil {
		t.Fatal(err)
	}
	if err := alice.Call("carol"); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, carol, "call", "ringing")
	if err := carol.Answer(); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, alice, "remote", "carol")
	st := waitStatus(t, alice, "call", "connected")
	if st["held_calls"] != "1" {
		t.Errorf("alice: held_calls=%s, want 1 (bob)", st["held_calls"])
	}

	if err := alice.Line().Conference(); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, alice, "conference", "yes")
	// bob's call is resumed into the conference once baresip has
	// answered the re-INVITE.
	st = waitStatus(t, alice, "held_calls", "0")
	if st["calls"] != "2" || st["conference"] != "yes" {
		t.Errorf("alice in conference: calls=%s conference=%s, want 2, yes", st["calls"], st["conference"])
	}
	// carol hears baresip's tone, mixed on alice with alice's own.
	st = waitTone(t, carol, baresipToneHz)
	t.Logf("carol hears %s Hz in the conference: codec=%s srtp=%s rtp_rx=%s rtp_lost=%s", st["tone_hz"], st["codec"], st["srtp"], st["rtp_rx"], st["rtp_lost"])
	// and alice hears baresip.
	waitTone(t, alice, baresipToneHz)

	if err := alice.Hangup(); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, carol, "call", "idle")
	b.waitEvent(t, 10*time.Second, "CALL_CLOSED")
	st = waitStatus(t, alice, "call", "idle")
	if st["calls"] != "0" || st["conference"] != "no" {
		t.Errorf("alice after hanging up: calls=%s conference=%s, want 0, no", st["calls"], st["conference"])
	}
}
