package backend

import (
	"errors"
	"strings"
	"testing"
)

func TestPolicyLevels(t *testing.T) {
	b := startBackend(t, nil)
	if _, err := b.SetPolicy("", map[string]string{"UserDialTimeoutMS": "3000", "PhoneLockTimeout": "00:05:00"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.SetPolicy("bob", map[string]string{"UserDialTimeoutMS": "2000"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ user, field, want string }{
		{"alice", "UserDialTimeoutMS", "3000"},    // the tenant's
		{"bob", "UserDialTimeoutMS", "2000"},      // his own
		{"bob", "PhoneLockTimeout", "00:05:00"},   // the tenant's under his
		{"alice", "KeyboardLockMaxPinRetry", "5"}, // the default
		{"alice", "EnforcePhoneLock", "true"},     // the default
		{"", "MinPhonePinLength", "6"},            // the tenant's view
	} {
		info, err := b.Policy(tc.user)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Effective[tc.field]; got != tc.want {
			t.Errorf("%q: %s = %q, want %q", tc.user, tc.field, got, tc.want)
		}
	}
	// An empty value removes the user's own setting.
	if _, err := b.SetPolicy("bob", map[string]string{"UserDialTimeoutMS": ""}); err != nil {
		t.Fatal(err)
	}
	if info, _ := b.Policy("bob"); info.Effective["UserDialTimeoutMS"] != "3000" {
		t.Errorf("bob after removing his setting: %q", info.Effective["UserDialTimeoutMS"])
	}
	if _, err := b.SetPolicy("", map[string]string{"EnableTeleport": "true"}); !errors.Is(err, ErrUnknownPolicyField) {
		t.Errorf("unknown field: %v", err)
	}
	if _, err := b.SetPolicy("nobody", map[string]string{"UserDialTimeoutMS": "1"}); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("unknown user: %v", err)
	}
	// The cloud does not judge values: the phone does, field by field.
	if _, err := b.SetPolicy("", map[string]string{"MinPhonePinLength": "3"}); err != nil {
		t.Errorf("out-of-range value refused by the cloud: %v", err)
	}
}

func TestAdminPolicy(t *testing.T) {
	b := startBackend(t, nil)
	for _, tc := range []struct {
		name, method, path, body string
		code                     int
		contains                 string
	}{
		{"tenant", "GET", "/admin/policy", "", 200, `"PhoneLockTimeout": "00:10:00"`},
		{"set", "POST", "/admin/policy", `{"tenant":"deskphone.test","set":{"UserDialTimeoutMS":2500,"EnforcePhoneLock":false}}`, 200, `"UserDialTimeoutMS": "2500"`},
		{"bool as text", "GET", "/admin/policy", "", 200, `"EnforcePhoneLock": "false"`},
		{"user", "POST", "/admin/policy", `{"user":"carol","set":{"MinPhonePinLength":"8"}}`, 200, `"user": "carol"`},
		{"user view", "GET", "/admin/policy?user=carol", "", 200, `"MinPhonePinLength": "8"`},
		{"unknown field", "POST", "/admin/policy", `{"set":{"Nope":"1"}}`, 400, `unknown policy field`},
		{"unknown user", "POST", "/admin/policy", `{"user":"nobody","set":{"UserDialTimeoutMS":"1"}}`, 404, `unknown user`},
		{"not JSON", "POST", "/admin/policy", `set: x`, 400, `bad policy JSON`},
		{"wrong method", "DELETE", "/admin/policy", "", 405, `use GET, POST`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, data, _ := adminCall(t, b, tc.method, tc.path, tc.body)
			if code != tc.code || !strings.Contains(data, tc.contains) {
				t.Errorf("%s %s = %d %s, want %d containing %q", tc.method, tc.path, code, data, tc.code, tc.contains)
			}
		})
	}
}
