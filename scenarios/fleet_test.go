package scenarios

import (
	"fmt"
	"strings"
	"testing"

	"github.com/deskphone/deskphone/phone/catalog"
)

func cat(t *testing.T) *catalog.Catalog {
	t.Helper()
	c, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestParseGroups(t *testing.T) {
	src := `name: groups
phones:
  - {name: lobby, count: 3, model: t46g}
  - {name: bob, model: vvx501}
steps:
  - wait: {registered: yes}
    phone: lobby[*]
  - press: 5
    phone: lobby
  - expect_count: {group: lobby, registered: yes, at_least: 3}
`
	sc, err := Parse("g.yaml", []byte(src), cat(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Phones) != 4 || sc.Phones[2].Name != "lobby[3]" || sc.Phones[2].User != "lobby3" || sc.Phones[2].Group != "lobby" {
		t.Fatalf("phones %+v", sc.Phones)
	}
	for _, st := range sc.Steps[:2] {
		if st.Action != "parallel" || len(st.Steps) != 3 || st.Steps[1].Phone != "lobby[2]" {
			t.Errorf("group step %+v", st)
		}
	}
	if c := sc.Steps[2].Count; c == nil || c.Group != "lobby" || c.AtLeast != 3 || c.AtMost != -1 || sc.Steps[2].Cond.String() != "registered=true" {
		t.Errorf("expect_count %+v %s", c, sc.Steps[2].Cond)
	}
}

func TestParseGroupErrors(t *testing.T) {
	head := "name: g\nphones:\n  - {name: lobby, count: 3, model: t46g}\n  - {name: bob, model: vvx501}\nsteps:\n"
	tests := []struct{ steps, want string }{
		{"  - press: 5\n    phone: lobbby[*]\n", `g.yaml:7:12: no phone named "lobbby[*]"`},
		{"  - expect_count: {group: lobbi, registered: yes, at_least: 1}\n", `no group "lobbi" (a phone entry with count:) (did you mean "lobby"?)`},
		{"  - expect_count: {group: lobby, at_least: 1}\n", "needs a condition"},
		{"  - expect_count: {group: lobby, registered: yes}\n", "needs at_least: or at_most:"},
		{"  - expect_count: {group: lobby, registred: yes, at_least: 1}\n", `unknown key "registred"`},
	}
	for _, tt := range tests {
		_, err := Parse("g.yaml", []byte(head+tt.steps), cat(t))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.steps, err, tt.want)
		}
	}
	// The bound is a fleet group's, and the error names field and value.
	for _, c := range []struct{ count, want string }{
		{"0", "count: 0 is less than 1"},
		{"2000000", fmt.Sprintf("count: 2000000 is more than %d", fleetMax)},
	} {
		_, err := Parse("g.yaml", []byte("name: g\nphones:\n  - {name: lobby, count: "+c.count+", model: t46g}\nsteps:\n  - advance: 1s\n"), cat(t))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("count %s: %v, want %q", c.count, err, c.want)
		}
	}
	if MaxCount != fleetMax {
		t.Errorf("scenario count: up to %d, a fleet group's up to %d", MaxCount, fleetMax)
	}
}

// fleetMax is a fleet group's bound on count:.
const fleetMax = 1_000_000
