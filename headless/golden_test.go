package headless_test

import (
	"context"
	"flag"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/deskphone/deskphone/backend/updatesvc"
	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/driver"
	"github.com/deskphone/deskphone/driver/drivertest"
	"github.com/deskphone/deskphone/headless"
	"github.com/deskphone/deskphone/internal/golden"
	"github.com/deskphone/deskphone/phone"
)

var update = flag.Bool("update", false, "rewrite the golden sessions in testdata/")

// volatile are the parts of a reply that differ from run to run: ports
// of loopback listeners, the MAC and serial drawn at first boot, and the
// media counters and estimates of a call, which run in wall time.
var volatile = []golden.Rule{
	{Pattern: regexp.MustCompile(`(?m)^((?:rtp_rx|rtp_tx|rtp_lost|jitter_ms|mos|tone_hz|srtp_auth_fail|srtp_replayed|dtmf_heard)=).*$`), With: "${1}*"},
	{Pattern: regexp.MustCompile(`(serial(?:=| ))[A-Za-z0-9-]{6,}`), With: "${1}SERIAL"},
	{Pattern: regexp.MustCompile(`(?m)^(signin_code=).+$`), With: "${1}CODE"},
	// A call's id is its SIP dialog's, drawn at random.
	{Pattern: regexp.MustCompile(`(?m)^id=\S*`), With: "id=ID"},
	golden.MAC,
	golden.Port,
	golden.CallStats,
}

// step is one command line of a golden session. who is the phone it runs
// on: "" the phone under test, "peer" the other one, whose replies are not
// recorded (they race the one under test's). racy marks a command of the
// phone under test whose reply depends on when the network answers (a
// call's 180 Ringing): it runs, and the transcript says so instead of
// recording the screen.
type step struct {
	line  string
	who   string
	racy  bool
	quiet bool // run, not recorded: waits that only line the phones up
	// logged waits, in Go, until the phone's syslog has a line matching
	// line's text after "log " (the protocol waits on status keys only).
	logged bool
}

// exchange runs one line through the protocol, as a script sees it on the
// wire: the reply block and its terminator.
func exchange(t *testing.T, s *headless.Session, line string) string {
	t.Helper()
	var out strings.Builder
	if err := s.Run(context.Background(), strings.NewReader(line+"\n"), &out); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return out.String()
}

// play runs the steps and returns the transcript of the phone under test.
func play(t *testing.T, under, peer *headless.Session, steps []step) string {
	t.Helper()
	var b strings.Builder
	for _, st := range steps {
		s := under
		if st.who == "peer" {
			s = peer
		}
		if st.logged {
			drivertest.Wait(t, s.Phone, driver.Cond{Log: regexp.MustCompile(regexp.QuoteMeta(strings.TrimPrefix(st.line, "log ")))})
			continue
		}
		out := exchange(t, s, st.line)
		switch {
		case st.who == "peer" || st.quiet:
			if strings.HasPrefix(out, "error:") && !strings.HasPrefix(st.line, "hangup") {
				t.Fatalf("%s %s: %s", st.who, st.line, out)
			}
		case st.racy:
			fmt.Fprintf(&b, "> %s\n(reply races the network: not recorded)\n", st.line)
		default:
			fmt.Fprintf(&b, "> %s\n%s", st.line, out)
		}
	}
	return golden.Normalise(b.String(), volatile...)
}

// family is one vendor family's phone under test.
type family struct{ name, model string }

var families = []family{
	{"audiocodes", "c450hd"},
	{"poly", "vvx501"},
	{"yealink", "t46g"},
	{"lpe", "cx600"},
}

// TestGoldenSessions records, per vendor family, a headless session that
// covers each verb's reply and its errors, and the full status in the
// representative states (idle, dialing, ringing, connected, held, locked,
// signed out): the contract of QA scripts, recorded before issue 20's
// restructuring. The phones run on one fake clock with a cloud; the peer
// (a Yealink) calls and is called.
func TestGoldenSessions(t *testing.T) {
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			clk := clock.NewFake(drivertest.Start)
			cloud := drivertest.Cloud(t, clk)
			under := &headless.Session{Target: driver.Target{Clock: clk, Phone: drivertest.Phone(t,
				driver.Spec{Model: f.model, Clock: clk, Account: drivertest.Account(cloud, "alice"), Audio: "tone:700"})}}
			peer := &headless.Session{Target: driver.Target{Clock: clk, Phone: drivertest.Phone(t,
				driver.Spec{Model: "t46g", Clock: clk, Account: drivertest.Account(cloud, "bob"), Audio: "tone:900"})}}
			steps := []step{{line: "wait registered=yes 20s", who: "peer"}}
			if f.model == "cx600" {
				// TLS 1.0 only: the cloud refuses it (seed 002), so the
				// family's session is the one of a phone that cannot
				// register.
				drivertest.Status(t, under.Phone, "registration_error", "TLS: TLS version not supported")
				steps = append(steps, offline...)
			} else {
				// Registered, and the policy's NOTIFY taken (it sets the
				// clock format of some vendors).
				steps = append(steps, step{line: "wait registered=yes 20s", quiet: true}, step{line: "wait policy_version=1 20s", quiet: true})
				steps = append(steps, online...)
			}
			golden.Check(t, *update, "session-"+f.name, play(t, under, peer, steps))
		})
	}
}

// offline covers the verbs of a phone without a registration.
var offline = []step{
	{line: "status"}, {line: "screen"}, {line: "help"},
	{line: "press menu"}, {line: "press down"}, {line: "press back"}, {line: "press bogus"}, {line: "press"},
	{line: "softkey 1"}, {line: "softkey 9"}, {line: "softkey NoSuchLabel"},
	{line: "press 1 2"}, {line: "status"}, {line: "hangup"},
	{line: "call bob"}, {line: "answer"}, {line: "hold"}, {line: "resume"}, {line: "transfer 1002"},
	{line: "dtmf 12"}, {line: "play tone 440"}, {line: "play bogus"}, {line: "record"},
	{line: "type abc"}, {line: "log 3"}, {line: "log x"},
	{line: "expect registered=no"}, {line: "expect registered=yes"}, {line: "expect nosuch=1"},
	{line: "wait call=connected 1ms"}, {line: "advance 90s"}, {line: "advance soon"},
	{line: "policy"}, {line: "lock"}, {line: "pin set 1234"}, {line: "pin set 123456"}, {line: "lock"},
	{line: "status"}, {line: "unlock 000000"}, {line: "unlock 123456"},
	{line: "pc pair"}, {line: "pc lock"}, {line: "pc unlock"},
	{line: "signin bogus"}, {line: "signout"}, {line: "browser_signin bob secret"},
	{line: "update bogus"}, {line: "import_ca lab-2022"}, {line: "import_ca nosuchroot"},
	{line: "firmware 0.0.0"}, {line: "bogus"},
}

// online covers the verbs of a registered phone, in and out of calls.
var online = []step{
	{line: "status"}, {line: "screen"}, {line: "calls"},
	{line: "press menu"}, {line: "press down"}, {line: "press back"}, {line: "press bogus"}, {line: "press"},
	{line: "softkey 9"}, {line: "softkey NoSuchLabel"}, {line: "softkey"},
	// Dialing: digits on the keypad, then cancelled.
	{line: "press 1 0"}, {line: "status"}, {line: "hangup"},
	// No call yet.
	{line: "answer"}, {line: "hold"}, {line: "resume"}, {line: "transfer 1002"}, {line: "dtmf 12"}, {line: "record"},
	{line: "type abc"}, {line: "play bogus"}, {line: "dial"}, {line: "call"},
	{line: "transfer consult 1002"}, {line: "transfer complete"}, {line: "transfer consult"}, {line: "transfer complete now"},
	// Ringing: the peer calls.
	{line: "call alice", who: "peer"},
	{line: "wait call=ringing 20s", quiet: true},
	{line: "status"}, {line: "screen"}, {line: "calls"},
	{line: "answer"},
	{line: "wait call=connected 20s", who: "peer"},
	{line: "status"}, {line: "calls"},
	{line: "dtmf 12#"}, {line: "dtmf"}, {line: "play tone 800"}, {line: "play silence"},
	{line: "hold"},
	{line: "wait call=held 20s", quiet: true},
	{line: "status"}, {line: "screen"}, {line: "calls"},
	{line: "resume"},
	{line: "wait call=connected 20s", quiet: true},
	{line: "screen"},
	{line: "hangup"},
	{line: "wait call=idle 20s", who: "peer"},
	// Calling out: to the peer, who declines; to the echo service.
	{line: "call bob", racy: true},
	{line: "wait call=ringing 20s", who: "peer"},
	{line: "hangup", who: "peer"},
	{line: "wait call=idle 20s", quiet: true},
	{line: "screen"},
	{line: "call echo", racy: true},
	{line: "wait call=connected 20s"},
	{line: "hangup"},
	// A blind transfer of the peer's call to the echo service.
	{line: "call alice", who: "peer"},
	{line: "wait call=ringing 20s", quiet: true},
	{line: "answer"},
	{line: "wait call=connected 20s", who: "peer"},
	{line: "transfer echo", racy: true},
	{line: "wait call=idle 20s", quiet: true},
	{line: "screen"},
	{line: "log connected to echo", who: "peer", logged: true},
	{line: "hangup", who: "peer"},
	{line: "wait call=idle 20s", who: "peer"},
	{line: "dial 1234", racy: true},
	{line: "hangup"},
	{line: "wait call=idle 20s", quiet: true},
	// The rest of the table.
	{line: "log 2"}, {line: "log x"},
	{line: "expect call=idle"}, {line: "expect call=connected"}, {line: "expect nosuch=1"},
	{line: "wait call=connected 1ms"}, {line: "wait"}, {line: "advance soon"},
	{line: "policy"},
	// Locked.
	{line: "lock"}, {line: "pin set 12"}, {line: "pin set 123456"}, {line: "lock"},
	{line: "status"}, {line: "call bob"}, {line: "unlock 000000"}, {line: "unlock 123456"},
	{line: "pin change 000000 111111"}, {line: "pin change 123456 111111"},
	{line: "pc lock"}, {line: "pc pair"}, {line: "pc lock"}, {line: "pc unlock"}, {line: "pc frob"},
	{line: "pc call echo", racy: true},
	{line: "wait call=connected 20s", quiet: true},
	{line: "hangup"},
	{line: "wait call=idle 20s", quiet: true},
	// Signed out, and the sign-in verbs' errors.
	{line: "signin bogus"}, {line: "browser_signin bob secret"},
	{line: "signout"},
	{line: "wait session=signed-out 20s", quiet: true},
	{line: "status"},
	{line: "update bogus"}, {line: "update postpone"},
	{line: "import_ca lab-2022"}, {line: "import_ca nosuchroot"},
	{line: "firmware 0.0.0"}, {line: "bogus"}, {line: "help"},
	{line: "advance 90s"}, {line: "update check"},
	{line: "reboot", racy: true},
	{line: "wait registered=yes 20s", quiet: true},
	{line: "status"},
}

// TestGoldenUpdatePending records the status and the update verbs of a
// phone offered a firmware update (Poly: asks with softkeys, postpones).
func TestGoldenUpdatePending(t *testing.T) {
	clk := clock.NewFake(drivertest.Start)
	cloud := drivertest.Cloud(t, clk)
	svc, svcURL := drivertest.UpdateService(t, updatesvc.Config{Clock: clk})
	if err := svc.Approve("vvx501", "5.5.1.11526"); err != nil {
		t.Fatal(err)
	}
	under := &headless.Session{Target: driver.Target{Clock: clk, Phone: drivertest.Phone(t, driver.Spec{Model: "vvx501", Firmware: "5.4.0A",
		Clock: clk, Account: drivertest.Account(cloud, "alice"), Options: []phone.Option{phone.WithUpdateService(svcURL)}})}}
	got := play(t, under, nil, []step{
		{line: "wait registered=yes 20s", quiet: true},
		{line: "wait policy_version=1 20s", quiet: true},
		{line: "wait update=available 20s", quiet: true},
		{line: "status"}, {line: "screen"},
		{line: "update postpone"},
		{line: "status"},
		{line: "update check"},
		{line: "advance 1h", quiet: true},
		{line: "wait update=available 20s", quiet: true},
		{line: "update now", racy: true},
		{line: "wait firmware=5.5.1.11526 20s", quiet: true},
		{line: "wait registered=yes 20s", quiet: true},
		{line: "wait update=none 20s", quiet: true},
		{line: "status"},
	})
	golden.Check(t, *update, "session-update", got)
}
