package main

import (
	"strings"
	"testing"
)

func TestPolicyRequest(t *testing.T) {
	for _, tc := range []struct {
		args         string
		method, path string
		body         string // a part of it
		bad          bool
	}{
		{"", "GET", "policy", "", false},
		{"user bob", "GET", "policy?user=bob", "", false},
		{"set PhoneLockTimeout=00:01:00", "POST", "policy", `"PhoneLockTimeout":"00:01:00"`, false},
		{"set user bob UserDialTimeoutMS=2000", "POST", "policy", `"user":"bob"`, false},
		{"set", "", "", "", true},
		{"set nofield", "", "", "", true},
		{"frob", "", "", "", true},
	} {
		method, path, body, err := policyRequest(strings.Fields(tc.args))
		if (err != nil) != tc.bad || method != tc.method || path != tc.path || !strings.Contains(string(body), tc.body) {
			t.Errorf("policy %s = %s %s %s, %v", tc.args, method, path, body, err)
		}
	}
}
