package scenarios_test

import (
	"context"
	"strings"
	"testing"

	"github.com/deskphone/deskphone/scenarios"
)

// Tone and DTMF conditions count what was heard after the last action:
// digits sent by the step before a wait count, digits and a tone heard
// before a hold do not pass a wait after it (the phone that holds hears
// nothing from the other until it resumes).
func TestHeardSinceLastAction(t *testing.T) {
	const head = `name: heard
phones:
  - {name: alice, model: t46g, audio: "tone:1000"}
  - {name: bob, model: vvx501}
steps:
  - parallel:
      - {phone: alice, wait: {registered: yes}}
      - {phone: bob, wait: {registered: yes}}
  - {phone: alice, dial: bob}
  - {phone: bob, wait: {call: ringing}}
  - answer: bob
  - {phone: bob, wait: {tone: 1000}}
  - {phone: alice, dtmf: "12"}
  - {phone: bob, wait: {dtmf: "12"}}
  - {phone: alice, dtmf: "3"}
  - {phone: bob, wait: {dtmf: "3"}}
  - hold: bob
  - {phone: bob, wait: {call: held}}
`
	tests := []struct {
		name, tail, fail string
	}{
		{"resumed", "  - resume: bob\n  - {phone: bob, wait: {tone: 1000}}\n", ""},
		{"stale tone while held", "  - {phone: bob, wait: {tone: 1000}, timeout: 2s}\n", "heard before the step began"},
		{"stale digits", "  - {phone: bob, expect: {dtmf: \"3\"}}\n", "dtmf heard since the step began="},
	}
	cat := builtin(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := scenarios.Parse("heard.yaml", []byte(head+tt.tail), cat)
			if err != nil {
				t.Fatal(err)
			}
			res := scenarios.Run(context.Background(), sc, scenarios.Options{Catalog: cat})
			switch {
			case tt.fail == "" && !res.Passed:
				t.Fatalf("%s\n%s", res.Failure, res.Details())
			case tt.fail != "" && (res.Passed || !strings.Contains(res.Failure, tt.fail)):
				t.Fatalf("passed=%v %q; want a failure with %q", res.Passed, res.Failure, tt.fail)
			}
		})
	}
}
