package phone

import (
	"testing"
	"time"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/statedir"
)

// The lock part runs on its own, without a phone: a fake clock, a
// temporary state directory and a fake host. Its idle timer leaves a call
// alone, the lock screen calls an emergency number and counts wrong PINs,
// and the PIN unlocks it.
func TestLockPartAlone(t *testing.T) {
	cat, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	m, _ := cat.Model("t46g")
	clk := clock.NewFake(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	var alerts []string
	env := partEnv{
		clock: clk,
		// The test is the loop: a timer's task runs as it falls due.
		tm: &timers{clock: clk, enqueue: func(tk task) error {
			tk.f()
			close(tk.done)
			return nil
		}, done: make(chan struct{})},
		state:    &statedir.Dir{Path: t.TempDir()},
		log:      newSyslog(m.Vendor.Syslog, m.Hostname),
		alert:    func(msg string) { alerts = append(alerts, msg) },
		damaged:  func(string) {},
		repaired: func(string) {},
	}
	host := &fakeLockHost{method: "web", call: CallConnected}
	rules := lockRules{enforce: true, timeout: time.Minute, minPIN: 6, maxRetry: 3, emergency: []string{"911"}}
	lk := newLock(&env, host, &catalog.Firmware{Lock: lockPhone}, m.Vendor, rules)
	lk.booted()
	lk.signedIn()
	if lk.state != LockNone || len(host.asked) != 1 || host.asked[0] != m.Vendor.Lock.CreatePIN {
		t.Fatalf("signed in without a PIN: lock %v, asked %q", lk.state, host.asked)
	}
	if err := lk.setPIN("123456", false); err != nil {
		t.Fatal(err)
	}

	clk.Advance(time.Minute)
	if lk.state != Unlocked {
		t.Fatalf("the idle lock took a phone in a call: %v", lk.state)
	}
	host.call = CallIdle
	clk.Advance(time.Minute)
	if lk.state != Locked {
		t.Fatalf("idle for a minute and %v", lk.state)
	}

	press := func(keys ...Key) {
		for _, k := range keys {
			if !lk.key(k) {
				t.Fatalf("the lock screen did not take %v", k)
			}
		}
	}
	press(Key9, Key1, Key1, KeyOK)
	if len(host.placed) != 1 || host.placed[0] != "911" || lk.state != Locked {
		t.Fatalf("emergency: placed %v, lock %v", host.placed, lk.state)
	}
	press(Key0, Key0, Key0, Key0, Key0, Key0, KeyOK)
	if lk.triesLeft() != 2 || alerts[len(alerts)-1] != "Wrong PIN: 2 attempts left" {
		t.Fatalf("a wrong PIN: %d tries left, alert %q", lk.triesLeft(), alerts[len(alerts)-1])
	}
	press(Key1, Key2, Key3, Key4, Key5, Key6, KeyPound)
	if lk.state != Unlocked || lk.triesLeft() != 3 {
		t.Fatalf("the PIN: lock %v, %d tries left", lk.state, lk.triesLeft())
	}
	rec, err := loadLockRecord(env.state)
	if err != nil || rec == nil || rec.Locked || rec.Failures != 0 {
		t.Fatalf("kept record %+v, %v", rec, err)
	}
}
