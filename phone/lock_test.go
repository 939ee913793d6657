package phone_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
)

// reopen closes p and boots a phone of the same model on its state
// directory with firmware ("" keeps the installed one).
func reopen(t *testing.T, p *phone.Phone, firmware string) *phone.Phone {
	t.Helper()
	dir := p.StateDir()
	model := p.Model()
	must(t, p.Close())
	q, err := phone.New(model, firmware, phone.WithClock(clock.NewFake(start)), phone.WithStateDir(dir))
	must(t, err)
	must(t, q.Start(context.Background()))
	t.Cleanup(func() { q.Close() })
	return q
}

func TestPINIsRefusedWithAReason(t *testing.T) {
	p, _ := newPhone(t, "t48g", "")
	for _, tc := range []struct{ pin, why string }{
		{"12345", "too short"},
		{"1234567890123456", "too long"},
		{"12ab56", "digits only"},
		{"", "empty"},
	} {
		err := p.SetPIN(tc.pin)
		if !errors.Is(err, phone.ErrBadPIN) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("SetPIN(%q) = %v, want ErrBadPIN saying %q", tc.pin, err, tc.why)
		}
		if got := status(t, p, "pin_set"); got != "no" {
			t.Fatalf("pin_set=%s after a refused PIN", got)
		}
	}
	if !p.Screen().Contains("New PIN:") {
		t.Fatalf("a refused PIN does not leave the create entry open:\n%s", p.Screen().Text())
	}
}

func TestPINIsHashedAndKeptAcrossReboot(t *testing.T) {
	p, _ := newPhone(t, "c450hd", "")
	if err := p.Lock(); !errors.Is(err, phone.ErrNoPIN) {
		t.Fatalf("Lock without a PIN = %v", err)
	}
	must(t, p.SetPIN("24681357"))
	path := filepath.Join(p.StateDir(), phone.LockFile)
	fi, err := os.Stat(path)
	must(t, err)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s mode %v, want 0600", phone.LockFile, fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	must(t, err)
	if strings.Contains(string(data), "24681357") || !strings.Contains(string(data), "argon2id") {
		t.Fatalf("%s holds the PIN in clear or no argon2id hash: %s", phone.LockFile, data)
	}
	for _, l := range p.Logs(0) {
		if strings.Contains(l.Text, "24681357") {
			t.Fatalf("the PIN is in the log: %s", l.Text)
		}
	}
	must(t, p.Lock())
	q := reopen(t, p, "")
	if got := status(t, q, "lock"); got != "locked" {
		t.Fatalf("a locked phone booted %s", got)
	}
	if err := q.Unlock("11111111"); !errors.Is(err, phone.ErrWrongPIN) {
		t.Fatalf("wrong PIN: %v", err)
	}
	must(t, q.Unlock("24681357"))
	if got := status(t, q, "pin_tries_left"); got != "5" {
		t.Fatalf("pin_tries_left=%s after unlocking", got)
	}
	must(t, q.ChangePIN("24681357", "97531864"))
	if err := q.ChangePIN("24681357", "12121212"); !errors.Is(err, phone.ErrWrongPIN) {
		t.Fatalf("change with the old PIN: %v", err)
	}
}

// A kill while the PIN is saved leaves the old file or the new one: the
// new one is written beside and renamed, so a torn temporary is ignored.
func TestPINSaveIsAtomic(t *testing.T) {
	p, _ := newPhone(t, "t46g", "")
	must(t, p.SetPIN("123456"))
	before, err := os.ReadFile(filepath.Join(p.StateDir(), phone.LockFile))
	must(t, err)
	// What a kill in the middle of the next save leaves: a partial temporary.
	must(t, os.WriteFile(filepath.Join(p.StateDir(), "."+phone.LockFile+".tmp-1"), before[:10], 0o600))
	q := reopen(t, p, "")
	if got := status(t, q, "pin_set"); got != "yes" {
		t.Fatalf("pin_set=%s after a torn save", got)
	}
	must(t, q.Lock())
	must(t, q.Unlock("123456"))
}

func TestIdleLockOnThePhoneClock(t *testing.T) {
	p, clk := newPhone(t, "vvx601", "")
	must(t, p.SetPIN("5555666"))
	clk.Advance(9 * time.Minute)
	must(t, p.Press(phone.Key1)) // a key restarts the timeout
	must(t, p.Press(phone.KeyBack))
	clk.Advance(9 * time.Minute)
	if got := status(t, p, "lock"); got != "unlocked" {
		t.Fatalf("locked %v after the last key, want after 10 min", 9*time.Minute)
	}
	clk.Advance(time.Minute + time.Second)
	if got := status(t, p, "lock"); got != "locked" {
		t.Fatalf("lock=%s after the idle timeout", got)
	}
	if p.Screen().Title != "Phone Locked" {
		t.Fatalf("lock screen:\n%s", p.Screen().Text())
	}
	// An emergency number typed on the lock screen is called (this phone
	// has no account, so the call itself fails).
	must(t, p.Dial("112#"))
	if !strings.Contains(strings.Join(logTexts(p), "\n"), "emergency call to 112 while locked") {
		t.Fatalf("112 on the lock screen was not called: %q", lastLog(p))
	}
	// Typed on the lock screen, the PIN unlocks; the keys it took are not
	// in the log.
	must(t, p.Dial("5555666#"))
	if got := status(t, p, "lock"); got != "unlocked" {
		t.Fatalf("lock=%s after the PIN on the keypad", got)
	}
	for _, l := range logTexts(p) {
		if strings.Contains(l, "key 5") || strings.Contains(l, "key 6") {
			t.Fatalf("a PIN digit is in the log: %s", l)
		}
	}
}

func TestAdminCodeAfterTooManyWrongPINs(t *testing.T) {
	p, _ := newPhone(t, "c450hd", "") // AudioCodes asks for the admin code
	must(t, p.SetPIN("123456"))
	must(t, p.Lock())
	for i := 0; i < 5; i++ {
		_ = p.Unlock("000000")
	}
	if !p.Screen().Contains("Enter administrator code:") {
		t.Fatalf("no admin code entry after 5 wrong PINs:\n%s", p.Screen().Text())
	}
	if err := p.Unlock("123456"); !errors.Is(err, phone.ErrWrongPIN) {
		t.Fatalf("the user's PIN after the limit: %v", err)
	}
	cat, _ := catalog.Builtin()
	m, _ := cat.Model("c450hd")
	must(t, p.Unlock(m.Vendor.Lock.AdminCodeValue))
	if got := status(t, p, "pin_set"); got != "no" {
		t.Fatalf("pin_set=%s after the admin code", got)
	}
}

func TestDeviceLockComesBackAndIsNotCarriedOver(t *testing.T) {
	p, _ := newPhone(t, "vvx501", "5.4.0A")
	if got := status(t, p, "lock_type"); got != "device-lock" {
		t.Fatalf("lock_type=%s on 5.4.0A", got)
	}
	must(t, p.SetPIN("4321"))
	q := reopen(t, p, "")
	if got := status(t, q, "lock"); got != "locked" {
		t.Fatalf("Device-Lock did not come back after a reboot: lock=%s", got)
	}
	// Unlocked before the upgrade, as in seed 001 (a locked phone stays
	// locked: TestLockedPhoneStaysLockedAcrossFirmwareChange).
	must(t, q.Unlock("4321"))
	must(t, q.ChangeFirmware("5.5.1.11526"))
	if got := status(t, q, "lock") + " " + status(t, q, "pin_set"); got != "none no" {
		t.Fatalf("after the upgrade: lock pin_set = %s", got)
	}
	if !q.Screen().Contains("Unsecured") {
		t.Fatalf("the phone does not show it is unsecured:\n%s", q.Screen().Text())
	}
}

func TestBetterTogetherLockFollowsThePC(t *testing.T) {
	p, _ := newPhone(t, "t48g", "")
	if err := p.PC().Lock(); !errors.Is(err, phone.ErrNotPaired) {
		t.Fatalf("PC lock unpaired: %v", err)
	}
	must(t, p.PC().Pair(""))
	must(t, p.SetPIN("8080808"))
	must(t, p.PC().Lock())
	if got := status(t, p, "lock") + " " + status(t, p, "paired"); got != "locked yes" {
		t.Fatalf("after PC lock: %s", got)
	}
	must(t, p.PC().Unlock())
	if got := status(t, p, "lock"); got != "unlocked" {
		t.Fatalf("after PC unlock: %s", got)
	}
}

func TestPowerSaveDimsAndAKeyWakes(t *testing.T) {
	p, clk := newPhone(t, "t46g", "")
	clk.Advance(14 * time.Minute)
	if got := status(t, p, "display"); got != "on" {
		t.Fatalf("display=%s before the office-hours timeout", got)
	}
	clk.Advance(time.Minute + time.Second)
	if got := status(t, p, "display"); got != "dim" || !p.Screen().Dimmed {
		t.Fatalf("display=%s after 15 min in office hours", got)
	}
	must(t, p.Press(phone.KeyVolUp))
	if got := status(t, p, "display"); got != "on" {
		t.Fatalf("display=%s after a key", got)
	}
}
