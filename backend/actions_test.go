package backend

import (
	"strings"
	"testing"
)

// Every command is complete: a browser action, an endpoint's action, or
// an alias of one with its own fixed parameters; a step has its words.
func TestActionTable(t *testing.T) {
	seen := map[string]bool{}
	for _, a := range Actions {
		if a.Name == "" || a.Help == "" || seen[a.Name] {
			t.Errorf("action %q incomplete or twice", a.Name)
		}
		seen[a.Name] = true
		switch {
		case a.Browser:
		case a.Path == "" || a.Method == "":
			t.Errorf("%s has no endpoint", a.Name)
		case a.Do == nil && a.Fixed == "":
			t.Errorf("%s serves nothing of its own", a.Name)
		}
		// A step takes its value in Params[0], reads it (StepValue), or
		// takes none (a Describe of %.0s).
		if a.Step != "" && (a.Describe == "" || a.Do == nil ||
			len(a.Params) == 0 && a.StepValue == nil && !strings.Contains(a.Describe, "%.0s") && a.Step != "add_user") {
			t.Errorf("step %s incomplete", a.Step)
		}
		if got, rest, ok := LookupAction(strings.Fields(a.Name)); !ok || got != a || len(rest) != 0 {
			t.Errorf("LookupAction(%s) = %v", a.Name, got)
		}
	}
}

// The arguments of a command make its request.
func TestActionInput(t *testing.T) {
	for _, tc := range []struct {
		args         string
		method, path string
		query, body  string // the query; a part of the body
		bad          bool
	}{
		{"policy", "GET", "/admin/policy", "", "", false},
		{"policy user bob", "GET", "/admin/policy", "user=bob", "", false},
		{"policy set PhoneLockTimeout=00:01:00", "POST", "/admin/policy", "", `"PhoneLockTimeout":"00:01:00"`, false},
		{"policy set user bob UserDialTimeoutMS=2000", "POST", "/admin/policy", "", `"user":"bob"`, false},
		{"policy set", "", "", "", "", true},
		{"policy set nofield", "", "", "", "", true},
		{"policy frob", "", "", "", "", true},
		{"add-user bob secret 1002", "POST", "/admin/users", "", `"extension":"1002"`, false},
		{"add-user bob", "", "", "", "", true},
		{"rotate lab-2022", "POST", "/admin/rotate", "root=lab-2022", "", false},
		{"block-legacy-auth on", "POST", "/admin/idp/legacy-auth", "block=true", "", false},
		{"block-legacy-auth maybe", "", "", "", "", true},
		{"revoke-consent app", "POST", "/admin/idp/consent", "client=app&revoke=true", "", false},
		{"enable-user bob", "POST", "/admin/idp/disable", "enable=true&user=bob", "", false},
		{"users extra", "", "", "", "", true},
	} {
		a, args, ok := LookupAction(strings.Fields(tc.args))
		if !ok {
			t.Errorf("%s: no action", tc.args)
			continue
		}
		in, err := a.Input(args)
		if (err != nil) != tc.bad {
			t.Errorf("%s: error %v", tc.args, err)
			continue
		}
		if tc.bad {
			continue
		}
		if a.Method != tc.method || a.Path != tc.path || in.Query.Encode() != tc.query || !strings.Contains(string(in.Body), tc.body) {
			t.Errorf("%s = %s %s ?%s %s", tc.args, a.Method, a.Path, in.Query.Encode(), in.Body)
		}
	}
	if _, _, ok := LookupAction([]string{"frob"}); ok {
		t.Error("frob is an action")
	}
}
