package scenarios_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/deskphone/deskphone/scenarios"
)

// What scenario check says about the mistakes of negative tests, policy
// steps and PINs: each mistake once, at its line and column, with the
// word meant.
func TestParseCheckErrors(t *testing.T) {
	head := "name: c\nphones:\n  - {name: alice, model: vvx501}\n  - {name: lobby, count: 2, model: t46g}\nsteps:\n"
	tests := []struct{ name, steps, want string }{
		{"misspelt policy field", `  - policy: {tenant: deskphone.test, set: {PhoneLockTimout: "00:01:00"}}` + "\n",
			`c.yaml:6:44: unknown key "PhoneLockTimout" (did you mean "PhoneLockTimeout"?)`},
		{"policy field by its meaning", `  - policy: {set: {LockTimeout: "00:01:00"}}` + "\n",
			`c.yaml:6:20: unknown key "LockTimeout" (did you mean "PhoneLockTimeout"?)`},
		{"unknown tenant", `  - policy: {tenant: contoso.com, set: {PhoneLockTimeout: "00:01:00"}}` + "\n",
			`c.yaml:6:22: unknown tenant "contoso.com": the embedded cloud's tenant is deskphone.test`},
		{"misspelt set", `  - policy: {tenant: deskphone.test, sett: {PhoneLockTimeout: "00:01:00"}}` + "\n",
			`c.yaml:6:38: unknown key "sett" (did you mean "set"?)`},
		{"non-digit PIN", "  - {phone: alice, pin: set 12ab56}\n",
			`c.yaml:6:25: PIN "12ab56" is not digits`},
		{"non-digit new PIN", "  - {phone: alice, pin: change 123456 12ab56}\n",
			`c.yaml:6:25: PIN "12ab56" is not digits`},
		{"pin form", "  - {phone: alice, pin: sett 123456}\n",
			`c.yaml:6:25: pin needs: set PIN, or change OLD NEW`},
		{"status key by its meaning", "  - {phone: alice, wait: {status: {signin_state: signed-in}}}\n",
			`c.yaml:6:36: unknown status key "signin_state" (did you mean "session"?)`},
		{"status key as a condition key", "  - {phone: alice, wait: {signin_state: signed-in}}\n",
			`c.yaml:6:27: unknown key "signin_state": status keys go in status: {...} (did you mean "status: {session: ...}"?)`},
		{"expect_error on a wait", "  - {phone: alice, wait: {registered: yes}, expect_error: x}\n",
			`c.yaml:6:59: expect_error goes with an action step, not wait`},
		{"empty expect_error", `  - {phone: alice, dial: bob, expect_error: ""}` + "\n",
			`c.yaml:6:45: expect_error needs the text the refusal contains`},
		{"misspelt expect_error", "  - {phone: alice, dial: bob, expect_eror: busy}\n",
			`c.yaml:6:31: unknown key "expect_eror" (did you mean "expect_error"?)`},
		{"tone negated", "  - {phone: alice, wait: {not: {tone: 1000}}}\n",
			`c.yaml:6:33: not: cannot hold tone`},
		{"misspelt key in not", "  - {phone: alice, wait: {not: {scren: Locked}}}\n",
			`c.yaml:6:33: unknown key "scren" (did you mean "screen"?)`},
		{"misspelt not", "  - {phone: alice, wait: {nto: {screen: Locked}}}\n",
			`c.yaml:6:27: unknown key "nto" (did you mean "not"?)`},
		{"misspelt group", "  - expect_count: {grup: lobby, registered: yes, at_least: 1}\n",
			`c.yaml:6:20: unknown key "grup" (did you mean "group"?)`},
		{"misspelt at_least", "  - expect_count: {group: lobby, registered: yes, at_lest: 1}\n",
			`c.yaml:6:51: unknown key "at_lest" (did you mean "at_least"?)`},
		{"misspelt times", "  - repeat:\n      - advance: 1s\n    time: 3\n",
			`c.yaml:8:5: unknown key "time" (did you mean "times"?)`},
		{"update word", "  - {phone: alice, update: chek}\n",
			`c.yaml:6:28: update needs check, now or postpone, not "chek" (did you mean "check"?)`},
		{"browser decision", "  - browser_signin: {phone: alice, user: alice, password: secret, decision: alow}\n",
			`c.yaml:6:77: browser_signin needs USER PASSWORD [allow|deny] (did you mean "allow"?)`},
		{"browser without password", "  - browser_signin: {phone: alice, user: alice}\n",
			`c.yaml:6:21: browser_signin needs USER PASSWORD [allow|deny]`},
		{"mute word", "  - {phone: alice, mute: of}\n",
			`c.yaml:6:26: mute needs on or off, not "of" (did you mean "off"?)`},
		{"bad tone", "  - {phone: alice, play: \"tone:9000\"}\n",
			`c.yaml:6:26: audio "tone:9000": tone needs a frequency below 4000 Hz`},
		{"text verb given a mapping", "  - {phone: alice, dial: {to: bob}}\n",
			`c.yaml:6:26: dial takes a single value, e.g. dial: TARGET`},
		{"backend word", "  - backend: {block_legacy_auth: of}\n",
			`c.yaml:6:34: block_legacy_auth is on or off, not "of" (did you mean "off"?)`},
		{"backend date", "  - backend: {vendor_cutoff: soon}\n",
			`c.yaml:6:30: vendor_cutoff "soon" is a date (2026-07-01), an RFC 3339 time or none`},
		{"firmware words", "  - backend: {firmware: aprove vvx501 1}\n",
			`c.yaml:6:25: firmware "aprove vvx501 1": want approve MODEL VERSION, restore MODEL VERSION`},
		{"misspelt user of browser_signin", "  - browser_signin: {phone: alice, usr: alice, password: secret}\n",
			`c.yaml:6:36: unknown key "usr" (did you mean "user"?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := scenarios.Parse("c.yaml", []byte(head+tt.steps), builtin(t))
			var es scenarios.Errors
			if !errors.As(err, &es) {
				t.Fatalf("error %v; want %q", err, tt.want)
			}
			if len(es) != 1 || !strings.HasPrefix(es[0].Error(), tt.want) {
				t.Fatalf("errors:\n%v\nwant one: %q", err, tt.want)
			}
		})
	}
}

// A step that expects a refusal may give what check refuses otherwise: a
// PIN that is not digits is what it tests.
func TestParseNegativeSteps(t *testing.T) {
	src := `name: n
phones:
  - {name: alice, model: vvx501}
steps:
  - {pin: set 12ab56, expect_error: "digits only"}
  - {wait: {call: idle, not: {screen: "Locked", led: {line: blink, message: on}, status: {lock: locked}}}}
`
	sc, err := scenarios.Parse("n.yaml", []byte(src), builtin(t))
	if err != nil {
		t.Fatal(err)
	}
	if st := sc.Steps[0]; st.ExpectError != "digits only" || st.Describe() != `alice: pin set 12ab56 (expect error "digits only")` {
		t.Errorf("expect_error step %+v: %s", st, st.Describe())
	}
	const want = `alice: wait call=idle, not screen ~ "Locked", not led line=blink, not led message=on, not lock=locked`
	if st := sc.Steps[1]; len(st.Cond.Not) != 4 || st.Describe() != want {
		t.Errorf("negated condition: %s\nwant %s", st.Describe(), want)
	}
}

// runSteps runs a scenario of the phones and steps given.
func runSteps(t *testing.T, phones, steps string) scenarios.Result {
	t.Helper()
	src := "name: r\nphones:\n" + phones + "steps:\n" + steps
	sc, err := scenarios.Parse("r.yaml", []byte(src), builtin(t))
	if err != nil {
		t.Fatal(err)
	}
	return scenarios.Run(context.Background(), sc, scenarios.Options{Catalog: builtin(t)})
}

// expect_error passes on the refusal named, and fails with a clear
// message when the action succeeds or is refused otherwise.
func TestExpectError(t *testing.T) {
	phones := "  - {name: alice, model: vvx501}\n"
	ready := "  - wait: {registered: yes}\n"
	tests := []struct{ name, steps, failure string }{
		{"refused as expected", `  - {pin: set 12345, expect_error: "PIN too short"}` + "\n", ""},
		{"succeeds", `  - {pin: set 123456, expect_error: "PIN too short"}` + "\n",
			`r.yaml:6:5: alice: pin set 123456 (expect error "PIN too short"): the action succeeded, but expect_error wants it refused with "PIN too short"`},
		{"refused otherwise", `  - {pin: set 1234567890123456, expect_error: "PIN too short"}` + "\n",
			`r.yaml:6:5: alice: pin set 1234567890123456 (expect error "PIN too short"): refused with "PIN too long: 16 digits, at most 15", but expect_error wants an error containing "PIN too short"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runSteps(t, phones, ready+tt.steps)
			if tt.failure == "" {
				if !res.Passed {
					t.Fatalf("failed: %s", res.Failure)
				}
				last := res.Steps[len(res.Steps)-1]
				if last.Note != "refused: PIN too short: 5 digits, at least 6" || !strings.Contains(scenarios.ProgressLine(last), last.Note) {
					t.Errorf("note %q; line %q", last.Note, scenarios.ProgressLine(last))
				}
				return
			}
			if res.Passed || res.Failure != tt.failure {
				t.Fatalf("failure %q\nwant     %q", res.Failure, tt.failure)
			}
		})
	}
}

// A negated condition fails while what it negates holds, and says so.
func TestNegatedCondition(t *testing.T) {
	res := runSteps(t, "  - {name: alice, model: vvx501}\n", "  - wait: {registered: yes}\n  - expect: {not: {registered: yes, screen: Locked}}\n")
	const want = `r.yaml:6:5: alice: expect not screen ~ "Locked", not registered=true: expected not screen ~ "Locked", not registered=true; registered=true holds`
	if res.Passed || !strings.HasPrefix(res.Failure, want) {
		t.Fatalf("failure %q\nwant %q", res.Failure, want)
	}
	res = runSteps(t, "  - {name: alice, model: vvx501}\n", "  - wait: {not: {registered: no}}\n  - expect: {registered: yes, not: {screen: Locked, call: connected}}\n")
	if !res.Passed {
		t.Fatalf("%s", res.Failure)
	}
}

// A step over a group reports as one step, one progress line; a failure
// counts the members that failed and names the first.
func TestGroupStepOneLine(t *testing.T) {
	phones := "  - {name: lobby, count: 4, model: t46g}\n"
	res := runSteps(t, phones, "  - wait: {registered: yes}\n    phone: lobby[*]\n  - expect: {call: idle}\n    phone: lobby\n")
	if !res.Passed {
		t.Fatal(res.Failure)
	}
	if len(res.Steps) != 2 || res.Steps[0].Desc != "lobby[*] (4 phones): wait registered=true" {
		t.Fatalf("%d step results, first %q", len(res.Steps), res.Steps[0].Desc)
	}
	res = runSteps(t, phones, "  - wait: {registered: yes}\n    phone: lobby[*]\n  - expect: {call: connected}\n    phone: lobby[*]\n")
	const want = "r.yaml:7:5: lobby[*] (4 phones): expect call=connected: 4 of the 4 phones of lobby failed: lobby[1]: call=idle; lobby[2]: call=idle; lobby[3]: call=idle; and 1 more"
	if res.Passed || res.Failure != want || len(res.Steps) != 2 {
		t.Fatalf("failure %q (%d steps)\nwant    %q", res.Failure, len(res.Steps), want)
	}
}

// A policy step says which fields it set and the version it made.
func TestPolicyStepReport(t *testing.T) {
	res := runSteps(t, "  - {name: alice, model: vvx501}\n", `  - wait: {registered: yes}
  - policy: {tenant: deskphone.test, set: {PhoneLockTimeout: "00:02:00", UserDialTimeoutMS: 2000}}
  - wait: {status: {policy_version: "2"}}
  - policy: {user: alice, set: {UserDialTimeoutMS: ""}}
`)
	if !res.Passed {
		t.Fatal(res.Failure)
	}
	for i, want := range map[int]string{
		1: "policy of tenant deskphone.test: PhoneLockTimeout=00:02:00, UserDialTimeoutMS=2000: policy version 2",
		3: `policy of user alice: UserDialTimeoutMS="" (back to the level above): policy version 3`,
	} {
		if line := scenarios.ProgressLine(res.Steps[i]); !strings.HasSuffix(line, want) {
			t.Errorf("progress line %q\nwant it to end %q", line, want)
		}
	}
}
