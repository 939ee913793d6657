package scenarios

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/deskphone/deskphone/driver"
)

// The steps of the format are the driver's verbs with a step form, then
// the runner's own: a verb added to the driver's table is a step without a
// word here, and a runner step never hides a verb that is one.
func TestStepsAreDriverVerbs(t *testing.T) {
	for _, v := range driver.Verbs {
		switch {
		case v.Step == driver.StepNone:
		case contains(runnerSteps, v.Name):
			t.Errorf("runner step %q hides the driver verb with a step form", v.Name)
		case !contains(actions, v.Name):
			t.Errorf("driver verb %q has a step form but is no step", v.Name)
		case v.Step == driver.StepFields && len(v.Fields) == 0:
			t.Errorf("driver verb %q is a step of fields without fields", v.Name)
		}
	}
	for _, k := range actions {
		if stepVerb(k) == nil && !contains(runnerSteps, k) {
			t.Errorf("step %q is neither a driver verb nor the runner's", k)
		}
	}
}

// mute is a verb of the driver's table only, and a scenario step by it:
// it sets the call's mute whatever it was, and refuses without a call.
func TestMuteStep(t *testing.T) {
	src := `name: mute
phones:
  - {name: alice, model: vvx501}
steps:
  - wait: {registered: yes}
  - {mute: "on", expect_error: "no call to mute"}
  - call: echo
  - wait: {call: connected}
  - mute: "on"
  - expect: {status: {mute: "on"}}
  - mute: "on"
  - expect: {status: {mute: "on"}}
  - mute: "off"
  - expect: {status: {mute: "off"}}
`
	c := cat(t)
	sc, err := Parse("mute.yaml", []byte(src), c)
	if err != nil {
		t.Fatal(err)
	}
	if res := Run(context.Background(), sc, Options{Catalog: c}); !res.Passed {
		t.Fatalf("failed: %s", res.Failure)
	}
}

// A backend: step is an action of the cloud's table, run as its admin API
// runs it: its refusals are the API's.
func TestBackendStepIsCloudAction(t *testing.T) {
	src := `name: cloud
phones:
  - {name: alice, model: vvx501}
steps:
  - backend: {add_user: {user: erin, extension: "1005"}}
  - {backend: {add_user: {user: erin}}, expect_error: "user exists"}
  - backend: {voicemail: erin}
  - {backend: {voicemail: nobody}, expect_error: "unknown user"}
  - backend: {block_legacy_auth: "yes"}
`
	c := cat(t)
	sc, err := Parse("cloud.yaml", []byte(src), c)
	if err != nil {
		t.Fatal(err)
	}
	res := Run(context.Background(), sc, Options{Catalog: c})
	if !res.Passed {
		t.Fatalf("failed: %s", res.Failure)
	}
	if d := res.Steps[4].Desc; d != "backend: block legacy auth yes" {
		t.Errorf("description %q", d)
	}
}

// A step's {{...}} is filled in as the scenario runs: a phone's MAC, the
// last backend step's answer, a group's bulk sign-in CSV; a reference to
// nothing fails the step and names it.
func TestStepReferences(t *testing.T) {
	src := `name: refs
phones:
  - {name: alice, model: vvx501}
  - {name: desk, count: 2, model: t46g, user: "desk{n}"}
steps:
  - wait: {registered: yes}
    phone: alice
  - backend: {add_user: {user: erin, extension: "1005"}}
  - {phone: alice, forward: "always {{answer.extension}}"}
  - {phone: alice, expect: {status: {forward: "always:1005"}}}
  - {backend: {voicemail: "{{answer.nothing}}"}, expect_error: "answered no"}
  - {backend: {voicemail: "{{csv desk}}"}, expect_error: "desk2,"}
  - {backend: {voicemail: "{{desk[2].hwid}}"}, expect_error: "-"}
  - {backend: {voicemail: "{{bob.mac}}"}, expect_error: "no phone named"}
  - {backend: {voicemail: "{{csv desk 2-2}}"}, expect_error: "desk2,"}
  - {backend: {voicemail: "{{csv desk 2-3}}"}, expect_error: "within 1-2"}
  - backend: {add_user: {user: frank, extension: "1006"}}
  - expect_answer: '"extension":"1006"'
`
	c := cat(t)
	sc, err := Parse("refs.yaml", []byte(src), c)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{sc: sc}
	if _, err := e.expand("{{csv desk}}"); err == nil || !strings.Contains(err.Error(), `no group "desk"`) {
		t.Errorf("csv before the phones exist: %v", err)
	}
	res := Run(context.Background(), sc, Options{Catalog: c})
	if !res.Passed {
		t.Fatalf("failed: %s", res.Failure)
	}
	csv, hwid, one := res.Steps[len(res.Steps)-7].Note, res.Steps[len(res.Steps)-6].Note, res.Steps[len(res.Steps)-4].Note
	if !regexp.MustCompile(`"Username,HardwareId\\ndesk1,([0-9a-f]{2}-){5}[0-9a-f]{2}\\ndesk2,(([0-9a-f]{2}-){5}[0-9a-f]{2})"$`).MatchString(csv) ||
		!strings.HasSuffix(csv, ","+strings.Trim(strings.TrimPrefix(hwid, "refused: unknown user: "), `"`)+`"`) ||
		!strings.HasSuffix(one, `"Username,HardwareId\ndesk2,`+strings.Trim(strings.TrimPrefix(hwid, "refused: unknown user: "), `"`)+`"`) {
		t.Errorf("csv %s; hwid %s; one %s", csv, hwid, one)
	}
	e.remember(map[string]string{"extension": "1006"})
	if err := e.expectAnswer(`"extension":"1007"`); err == nil || !strings.Contains(err.Error(), `lacks "\"extension\":\"1007\""`) {
		t.Errorf("expect_answer of what is not there: %v", err)
	}
	if got := hardwareID("00:90:8F:0A:0B:0C"); got != "00-90-8f-0a-0b-0c" {
		t.Errorf("hardware ID %q", got)
	}
}

// power off closes a phone and keeps its state; power on boots it again
// from that state, so what it saved (here, forwarding) survives and what
// it did not (the call) is gone.
func TestPowerStep(t *testing.T) {
	src := `name: power
phones:
  - {name: alice, model: vvx501, audio: "tone:1000"}
  - {name: bob, model: t46g, user: bob}
steps:
  - {phone: alice, wait: {registered: yes}}
  - {phone: alice, forward: "busy 1003"}
  - {phone: alice, call: echo}
  - {phone: alice, wait: {call: connected, tone: 1000}}
  - {power: "off", phone: alice}
  - {power: "off", phone: alice, expect_error: "already off"}
  - {phone: alice, expect_error: "closed", hangup: }
  - advance: 2h
  - {phone: bob, expect: {registered: yes}}
  - {power: "on", phone: alice}
  - {phone: alice, wait: {registered: yes, call: idle, status: {forward: "busy:1003"}}}
`
	c := cat(t)
	sc, err := Parse("power.yaml", []byte(src), c)
	if err != nil {
		t.Fatal(err)
	}
	res := Run(context.Background(), sc, Options{Catalog: c})
	if !res.Passed {
		t.Fatalf("failed: %s", res.Failure)
	}
	if d := res.Steps[4].Desc; d != "alice: power off" {
		t.Errorf("description %q", d)
	}
	_, err = Parse("bad.yaml", []byte(strings.Replace(src, `{power: "off", phone: alice}`, `{power: "of", phone: alice}`, 1)), c)
	if err == nil || !strings.Contains(err.Error(), `power is off or on, not "of"`) {
		t.Errorf("bad power value: %v", err)
	}
}
