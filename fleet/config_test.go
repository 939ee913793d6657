package fleet

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	src := `server: sips:127.0.0.1:5061
rate: 100
connecting: 32
groups:
  - name: lobby
    count: 3
    model: vvx501
    user: load{n:05d}
    password: secret
  - name: desks
    count: 2
    model: t46g
    user: load{n:05d}
    password: secret
    srtp: optional
`
	c, err := Parse("f.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := c.Members()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.Group+":"+m.ID)
	}
	want := "lobby:load00001 lobby:load00002 lobby:load00003 desks:load00004 desks:load00005"
	if got := strings.Join(ids, " "); got != want {
		t.Errorf("members %s, want %s", got, want)
	}
	if c.Connecting != 32 {
		t.Errorf("connecting %d, want 32", c.Connecting)
	}
	if ms[4].SRTP != "optional" || ms[0].Server != "sips:127.0.0.1:5061" {
		t.Errorf("member settings: %+v", ms[4])
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"typo in key", "server: sips:h\ngroups:\n  - modle: vvx501\n    user: u{n}\n", `f.yaml:3:5: unknown key "modle" (did you mean "model"?)`},
		{"typo in model", "server: sips:h\ngroups:\n  - model: vvx50\n    user: u{n}\n", `f.yaml:3:12: unknown model "vvx50" (did you mean "vvx501"?)`},
		{"top key", "sever: sips:h\ngroups: []\n", `f.yaml:1:1: unknown key "sever" (did you mean "server"?)`},
		{"bad count", "server: sips:h\ngroups:\n  - model: vvx501\n    user: u{n}\n    count: many\n", `f.yaml:5:12: count: "many" is not a whole number`},
		{"count too large", "server: sips:h\ngroups:\n  - model: vvx501\n    user: u{n}\n    count: 2000000\n", `f.yaml:5:12: count: 2000000 is more than 1000000`},
		{"bad pattern", "server: sips:h\ngroups:\n  - model: vvx501\n    user: u{n:5d}\n", `f.yaml:4:11: bad name pattern`},
		{"fixed name, many", "server: sips:h\ngroups:\n  - model: vvx501\n    user: alice\n    count: 2\n", `need {n} in the user pattern`},
		{"no server", "groups:\n  - model: vvx501\n    user: u{n}\n", `no server`},
		{"twice", "server: sips:h\ngroups:\n  - {model: vvx501, user: 'u{n}', count: 2}\n  - {model: vvx501, user: 'u{n}', first: 2}\n", `phone u2 is in group group1 and in group group2`},
		{"connecting", "server: sips:h\nconnecting: 0\ngroups:\n  - {model: vvx501, user: 'u{n}'}\n", `f.yaml:2:13: connecting: 0 is less than 1`},
		{"srtp", "server: sips:h\ngroups:\n  - {model: vvx501, user: 'u{n}', srtp: mandatroy}\n", `(did you mean "mandatory"?)`},
		{"load key", "server: sips:h\ngroups:\n  - {model: vvx501, user: 'u{n}'}\nload:\n  rate: 1\n  too: echo\n", `f.yaml:6:3: unknown key "too" (did you mean "to"?)`},
		{"load without to", "server: sips:h\ngroups:\n  - {model: vvx501, user: 'u{n}'}\nload:\n  rate: 1\n", `load has no to`},
		{"load duration", "server: sips:h\ngroups:\n  - {model: vvx501, user: 'u{n}'}\nload: {rate: 1, to: echo, duration: long}\n", `duration: "long" is not a duration`},
		{"load rate", "server: sips:h\ngroups:\n  - {model: vvx501, user: 'u{n}'}\nload: {rate: -2, to: echo}\n", `rate: -2 is less than 0`},
		// A YAML mistake is placed as a scenario's is: where it is.
		{"indentation", "server: sips:h\ngroups:\n  - model: vvx501\n     user: u{n}\n", `f.yaml:4:6: not valid YAML`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tt.src), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParseLoad(t *testing.T) {
	src := `server: sips:127.0.0.1:5061
groups:
  - {model: vvx501, user: 'load{n:05d}', count: 4}
load:
  rate: 2.5
  duration: 10s
  max_calls: 100
  calls: 1000
  for: 5m
  to: fleet
`
	c, err := Parse("f.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := LoadConfig{Rate: 2.5, Duration: 10 * time.Second, MaxCalls: 100, Calls: 1000, For: 5 * time.Minute, Timeout: DefaultCallTimeout, To: ToFleet}
	if c.Load == nil || *c.Load != want {
		t.Errorf("load %+v, want %+v", c.Load, want)
	}
}

func TestShards(t *testing.T) {
	members := make([]Member, 10)
	for i := range members {
		members[i].Index = i
	}
	for n := 1; n <= 12; n++ {
		seen := map[int]int{}
		for i := range n {
			part, err := Shard(members, i, n)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range part {
				seen[m.Index]++
			}
		}
		for i := range members {
			if seen[i] != 1 {
				t.Errorf("%d shards: phone %d in %d shards", n, i, seen[i])
			}
		}
	}
	for _, bad := range []string{"3/3", "-1/2", "1/0", "x", "1/2/3"} {
		if _, _, err := ParseShard(bad); !errors.Is(err, ErrShard) {
			t.Errorf("ParseShard(%q) = %v, want ErrShard", bad, err)
		}
	}
	if _, err := Shard(members, 4, 4); !errors.Is(err, ErrShard) {
		t.Errorf("Shard 4/4 = %v, want ErrShard", err)
	}
}
