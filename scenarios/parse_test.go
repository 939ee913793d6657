package scenarios_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/scenarios"
)

const goodScenario = `name: ok
phones:
  - {name: alice, model: vvx601}
  - {name: bob, model: t48g, firmware: 35.8.1.52}
vars:
  target: bob
steps:
  - {phone: alice, dial: "${target}"}
  - {phone: bob, wait: {call: ringing}, timeout: 5s}
  - answer: bob
  - {phone: alice, expect: {screen: "Connected", led: {line: "on"}, status: {remote: bob}}}
  - advance: 15m
  - repeat:
      - {phone: alice, press: volup voldown}
    times: 3
  - backend: {rotate: lab-2022}
`

func TestParseGood(t *testing.T) {
	sc, err := scenarios.Parse("ok.yaml", []byte(goodScenario), builtin(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Steps) != 7 {
		t.Fatalf("%d steps", len(sc.Steps))
	}
	if st := sc.Steps[0]; st.Arg != "bob" || st.Phone != "alice" {
		t.Fatalf("variable not substituted: %+v", st)
	}
	if st := sc.Steps[2]; st.Action != "answer" || st.Phone != "bob" {
		t.Fatalf("answer: bob: %+v", st)
	}
	if st := sc.Steps[1]; st.Timeout.String() != "5s" || st.Cond.Call != "ringing" {
		t.Fatalf("wait: %+v", st)
	}
	if st := sc.Steps[5]; st.Times != 3 || len(st.Steps) != 1 {
		t.Fatalf("repeat: %+v", st)
	}
	// Beside phone:, a value that names no phone is the call's id.
	byID, err := scenarios.Parse("id.yaml", []byte(strings.Replace(goodScenario, "answer: bob", "{phone: bob, answer: c2}", 1)), builtin(t))
	if err != nil {
		t.Fatal(err)
	}
	if st := byID.Steps[2]; st.Action != "answer" || st.Phone != "bob" || st.Arg != "c2" {
		t.Fatalf("{phone: bob, answer: c2}: %+v", st)
	}
	if sc.Phones[0].User != "alice" || sc.Phones[0].Password != "secret" {
		t.Fatalf("account defaults: %+v", sc.Phones[0])
	}
	loaded, err := scenarios.Parse("load.yaml", []byte(strings.Replace(goodScenario, "vars:", "backend: {load_users: \"bulk{n:03d}:pw:3:5001\"}\nvars:", 1)), builtin(t))
	if err != nil {
		t.Fatal(err)
	}
	if u := loaded.Backend.Users; len(u) != 3 || u[2] != (scenarios.User{User: "bulk003", Password: "pw", Extension: "5003"}) {
		t.Fatalf("load_users: %+v", u)
	}
	if !sc.Start.IsZero() {
		t.Fatalf("start without start: %v", sc.Start)
	}
	dated, err := scenarios.Parse("dated.yaml", []byte(strings.Replace(goodScenario, "vars:", "start: 2023-07-31T09:00:00+02:00\nvars:", 1)), builtin(t))
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2023, 7, 31, 7, 0, 0, 0, time.UTC); !dated.Start.Equal(want) || dated.Start.Location() != time.UTC {
		t.Fatalf("start: %v, want %v", dated.Start, want)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, old, new string
		want           []string
	}{
		{"misspelt step", "dial: \"${target}\"", "dail: bob", []string{`ok.yaml:8:20: unknown key "dail" (did you mean "dial"?)`}},
		{"misspelt top key", "vars:", "varz:", []string{`ok.yaml:5:1: unknown key "varz" (did you mean "vars"?)`}},
		{"misspelt model key", "{name: bob, model: t48g,", "{name: bob, modle: t48g,", []string{`ok.yaml:4:17: unknown key "modle" (did you mean "model"?)`}},
		{"misspelt name key", "{name: bob, model: t48g,", "{nme: bob, model: t48g,", []string{`ok.yaml:4:6: unknown key "nme" (did you mean "name"?)`}},
		{"misspelt steps key", "steps:", "stepz:", []string{`ok.yaml:7:1: unknown key "stepz" (did you mean "steps"?)`}},
		{"misspelt backend action", "{rotate: lab-2022}", "{rotat: lab-2022}", []string{`ok.yaml:16:15: unknown key "rotat" (did you mean "rotate"?)`}},
		{"misspelt phone key", "{phone: alice, dial:", "{phon: alice, dial:", []string{`ok.yaml:8:6: unknown key "phon" (did you mean "phone"?)`}},
		{"misspelt condition key", "{call: ringing}", "{cal: ringing}", []string{`ok.yaml:9:25: unknown key "cal" (did you mean "call"?)`}},
		{"misspelt status key", "status: {remote: bob}", "status: {registerd: yes}", []string{`ok.yaml:11:78: unknown status key "registerd" (did you mean "registered"?)`}},
		{"unknown root", "rotate: lab-2022", "rotate: lab-2023", []string{`ok.yaml:16:23: unknown root "lab-2023": the lab roots are lab-2019, lab-2022 (did you mean "lab-2022"?)`}},
		{"answer names no phone", "answer: bob", "answer: carol", []string{`ok.yaml:10:13: no phone named "carol"`}},
		{"action without its colon", "  - answer: bob\n", "  - answer\n", []string{`ok.yaml:10:5: "answer": write answer: with a colon`}},
		{"unknown model", "model: t48g", "model: t84g", []string{`ok.yaml:4:24: unknown model "t84g" (did you mean "t48g"?)`}},
		{"unknown firmware", "firmware: 35.8.1.52", "firmware: 35.9.9.9", []string{`ok.yaml:4:40: model t48g has no firmware "35.9.9.9"`}},
		{"unknown phone", "{phone: bob, wait", "{phone: bobby, wait", []string{`ok.yaml:9:13: no phone named "bobby" (did you mean "bob"?)`}},
		{"bad call state", "call: ringing", "call: ring", []string{`unknown call state "ring" (did you mean "ringing"?)`}},
		{"bad duration", "advance: 15m", "advance: soon", []string{`ok.yaml:12:14: advance "soon" is not a duration`}},
		{"bad key", "press: volup voldown", "press: volup louder", []string{`unknown key "louder"`}},
		{"two actions", "answer: bob", "{answer: bob, hangup: bob}", []string{"ok.yaml:10:5: a step has one action, this one has answer and hangup"}},
		{"phone needed", "{phone: alice, dial:", "{dial:", []string{"ok.yaml:8:5: dial needs phone: (the scenario has 2 phones)"}},
		{"bad regexp", `screen: "Connected"`, `screen: "Conn(ected"`, []string{"bad regular expression"}},
		{"flow colon", "answer: bob", "{answer:}", []string{`"answer:": inside {braces} write answer: with a space`}},
		{"repeat without times", "    times: 3\n", "", []string{"repeat needs times:"}},
		{"bad yaml", "phones:", "phones: [", []string{"ok.yaml:2:1: not valid YAML"}},
		{"answer names another phone", "answer: bob", "{phone: bob, answer: alice}", []string{"ok.yaml:10:26: answer: alice, but phone: bob"}},
		{"bad start", "vars:", "start: 31 July 2023\nvars:", []string{`ok.yaml:5:8: start: want a time like 2023-07-31T09:00:00Z (RFC 3339)`}},
		{"bad load_users", "vars:", "backend: {load_users: \"bulk{n}:secret\"}\nvars:", []string{`ok.yaml:5:23: load_users: invalid user: load users "bulk{n}:secret": want PATTERN:PASSWORD:COUNT`}},
		{"hangup takes no id", "answer: bob", "{phone: bob, hangup: c1}", []string{"hangup: c1, but phone: bob"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(goodScenario, tt.old) {
				t.Fatalf("case edits %q, not in the scenario", tt.old)
			}
			bad := strings.Replace(goodScenario, tt.old, tt.new, 1)
			_, err := scenarios.Parse("ok.yaml", []byte(bad), builtin(t))
			if err == nil {
				t.Fatalf("no error; want %q", tt.want)
			}
			var es scenarios.Errors
			if !errors.As(err, &es) {
				t.Fatalf("error %T is not scenarios.Errors", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("errors:\n%s\nwant one containing %q", err, w)
				}
			}
			// One mistake, one error: what follows from it is not said again.
			if len(es) != len(tt.want) {
				t.Errorf("%d errors, want %d:\n%s", len(es), len(tt.want), err)
			}
		})
	}
}

func TestInclude(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("common.yaml", "- {phone: alice, wait: {registered: yes}}\n- {phone: alice, press: hock}\n")
	main := write("main.yaml", "name: inc\nphones: [{name: alice, model: c450hd}]\nsteps:\n  - include: common.yaml\n  - dial: echo\n")
	_, err := scenarios.Load(main, builtin(t))
	if err == nil || !strings.Contains(err.Error(), "common.yaml:2:") || !strings.Contains(err.Error(), `(did you mean "hook"?)`) {
		t.Fatalf("error in an include names the include's line: %v", err)
	}
	write("common.yaml", "- {phone: alice, wait: {registered: yes}}\n")
	sc, err := scenarios.Load(main, builtin(t))
	if err != nil || len(sc.Steps) != 2 || sc.Steps[0].Action != "wait" {
		t.Fatalf("include: %v %+v", err, sc)
	}
	write("loop.yaml", "- include: loop.yaml\n")
	loop := write("loop-main.yaml", "name: loop\nphones: [{name: a, model: c450hd}]\nsteps:\n  - include: loop.yaml\n")
	if _, err := scenarios.Load(loop, builtin(t)); err == nil || !strings.Contains(err.Error(), "deeper than 8") {
		t.Fatalf("include cycle: %v", err)
	}
}

// The parser must never panic, whatever the file holds.
func FuzzParse(f *testing.F) {
	f.Add([]byte(goodScenario))
	f.Add([]byte("name: x\nphones: [{name: a, model: c450hd}]\nsteps: [{wait: {led: {message: on}}}]\n"))
	f.Add([]byte("steps: [[[]]]\nphones: {}\n"))
	f.Add([]byte("- a\n- b\n"))
	f.Add([]byte("name: x\nphones: [{name: a, model: c450hd}]\nsteps: [{pin: set 12ab, expect_error: digits}, {wait: {not: {screen: x, status: {lock: locked}}}}]\n"))
	cat := builtin(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		scenarios.Parse("fuzz.yaml", data, cat)
	})
}

// A YAML mistake is reported where it is, not where the block around it
// began, with a hint about indentation.
func TestParseYAMLIndentation(t *testing.T) {
	head := "name: x\nphones:\n  - {name: a, model: c450hd}\nsteps:\n  - dial: echo\n"
	tests := []struct {
		name, body, want string
	}{
		{"key between two levels", "  - wait:\n      call: connected\n     timeout: 5s\n", "x.yaml:8:6: not valid YAML"},
		{"item deeper than its sibling", "  - wait: {call: connected}\n   - hangup:\n", "x.yaml:7:4: not valid YAML"},
		{"key among list items", "  - phone: a\n    wait: {call: connected}\n  timeout: 5s\n  - hangup:\n", "x.yaml:8:3: not valid YAML"},
		{"tab", "  - wait:\n\tcall: connected\n", "x.yaml:7:1: not valid YAML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := scenarios.Parse("x.yaml", []byte(head+tt.body), builtin(t))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || !strings.Contains(err.Error(), "indent") {
				t.Fatalf("error %v; want it at %q with an indentation hint", err, tt.want)
			}
		})
	}
}

// Block scalars and flow collections over several lines have free
// indentation: the mistake is found after them.
func TestParseYAMLIndentationSkipsFreeText(t *testing.T) {
	data := "name: x\ndescription: |\n  one\n    two\n   three\nphones: [\n    {name: a, model: c450hd}\n  ]\nsteps:\n  - wait:\n      call: connected\n     timeout: 5s\n"
	_, err := scenarios.Parse("x.yaml", []byte(data), builtin(t))
	if err == nil || !strings.HasPrefix(err.Error(), "x.yaml:12:6: not valid YAML") {
		t.Fatalf("error %v; want it at x.yaml:12:6", err)
	}
}
