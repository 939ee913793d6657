package driver_test

import (
	"context"
	"strings"
	"testing"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/driver"
	"github.com/deskphone/deskphone/driver/drivertest"
)

func TestLockVerbs(t *testing.T) {
	clk := clock.NewFake(drivertest.Start)
	p := drivertest.Phone(t, driver.Spec{Model: "t46g", Clock: clk})
	tgt := &driver.Target{Phone: p, Clock: clk}
	ctx := context.Background()
	for _, tc := range []struct {
		line    string
		wantErr string // "" for success
		status  string // key=value after it
	}{
		{"lock", "no PIN set", "lock=none"},
		{"pin", "pin needs", ""},
		{"pin set 12345", "too short", "pin_set=no"},
		{"pin set abcdef", "digits only", "pin_set=no"},
		{"pin set 1234567890123456", "too long", "pin_set=no"},
		{"pin set 123456", "", "pin_set=yes"},
		{"pin set 654321", "a PIN is set", ""},
		{"lock", "", "lock=locked"},
		{"call bob", "the phone is locked", "call=idle"},
		{"unlock 999999", "4 tries left", "pin_tries_left=4"},
		{"unlock 999999", "3 tries left", ""},
		{"unlock 999999", "2 tries left", ""},
		{"unlock 999999", "wrong PIN: 1 try left", "pin_tries_left=1"},
		{"unlock 123456", "", "lock=unlocked"},
		{"pin change 000000 111111", "wrong PIN", ""},
		{"pin change 123456 111111", "", "pin_set=yes"},
		{"pc lock", "no PC paired", "paired=no"},
		{"pc pair", "", "paired=yes"},
		{"pc lock", "", "lock=locked"},
		{"pc unlock", "", "lock=unlocked"},
		{"pc frob", "pc needs", ""},
		{"firmware 28.8.0.30", "", "firmware=28.8.0.30"},
	} {
		_, err := driver.Exec(ctx, tgt, tc.line)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tc.line, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: error %v, want one saying %q", tc.line, err, tc.wantErr)
		}
		if tc.status != "" {
			if _, err := driver.Exec(ctx, tgt, "expect "+tc.status); err != nil {
				t.Errorf("after %s: %v", tc.line, err)
			}
		}
	}
	res, err := driver.Exec(ctx, tgt, "policy")
	if err != nil || res.Kind != driver.KindStatus || res.Status[0][0] != "policy_version" {
		t.Fatalf("policy: %v %+v", err, res)
	}
}
