package phone_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/statedir"
)

// lockWording is the vendor's lock wording of model.
func lockWording(t *testing.T, model string) catalog.Lock {
	t.Helper()
	cat, err := catalog.Builtin()
	must(t, err)
	m, err := cat.Model(model)
	must(t, err)
	return m.Vendor.Lock
}

// A locked phone stays locked across any firmware change, whatever lock
// the new firmware has, until its user gives the PIN it had: an admin's
// firmware restore (5.5.1 back to 5.4.0A) or an upgrade never opens it.
// (Issue 19, item 4.)
func TestLockedPhoneStaysLockedAcrossFirmwareChange(t *testing.T) {
	const pin = "24681357"
	cases := []struct {
		name, from, to string
		rebootLocked   bool // a Device-Lock locked by a reboot, not by the user
	}{
		{"restore phone-lock to device-lock", "5.5.1.11526", "5.4.0A", false},
		{"upgrade device-lock locked by the user", "5.4.0A", "5.5.1.11526", false},
		{"upgrade device-lock locked at boot", "5.4.0A", "5.5.1.11526", true},
		{"upgrade within phone-lock", "5.5.1.11526", "5.9.0.9373", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := newPhone(t, "vvx501", tc.from)
			must(t, p.SetPIN(pin))
			if tc.rebootLocked {
				p = reopen(t, p, "")
			} else {
				must(t, p.Lock())
			}
			if got := status(t, p, "lock"); got != "locked" {
				t.Fatalf("lock=%s before the change", got)
			}
			must(t, p.ChangeFirmware(tc.to))
			if got := status(t, p, "firmware") + " " + status(t, p, "lock"); got != tc.to+" locked" {
				t.Fatalf("after the firmware change: firmware lock = %s, want %s locked", got, tc.to)
			}
			// A reboot on the new firmware keeps it locked too.
			p = reopen(t, p, "")
			if got := status(t, p, "lock"); got != "locked" {
				t.Fatalf("lock=%s after a reboot on %s", got, tc.to)
			}
			if err := p.PC().Unlock(); err == nil && status(t, p, "lock") != "locked" {
				t.Fatal("an unpaired PC unlocked the phone")
			}
			if err := p.Unlock("11112222"); !errors.Is(err, phone.ErrWrongPIN) {
				t.Fatalf("a wrong PIN: %v", err)
			}
			if got := status(t, p, "lock"); got != "locked" {
				t.Fatalf("lock=%s after a wrong PIN", got)
			}
			must(t, p.Unlock(pin))
			if got := status(t, p, "lock"); got == "locked" {
				t.Fatal("the PIN the phone had does not unlock it")
			}
		})
	}
}

// The lock screen of a phone kept locked across a firmware change says why,
// in the vendor's wording; once its user unlocks it, a code of another lock
// type is not carried over (as in the seed 001 upgrade): the phone says it
// is unsecured and asks for a new PIN.
func TestKeptLockSaysWhy(t *testing.T) {
	p, _ := newPhone(t, "vvx501", "5.5.1.11526")
	w := lockWording(t, "vvx501")
	must(t, p.SetPIN("24681357"))
	must(t, p.Lock())
	must(t, p.ChangeFirmware("5.4.0A"))
	if !p.Screen().Contains(w.KeptLocked) {
		t.Fatalf("the lock screen does not say why (%q):\n%s", w.KeptLocked, p.Screen().Text())
	}
	if !strings.Contains(strings.Join(logTexts(p), "\n"), "locked before the firmware change") {
		t.Fatalf("no syslog line: %q", logTexts(p))
	}
	must(t, p.Unlock("24681357"))
	if got := status(t, p, "lock") + " " + status(t, p, "pin_set"); got != "none no" {
		t.Fatalf("after unlocking on another lock type: lock pin_set = %s", got)
	}
	if !p.Screen().Contains(w.CreatePIN) {
		t.Fatalf("no new PIN asked:\n%s", p.Screen().Text())
	}
	if _, err := os.Stat(filepath.Join(p.StateDir(), phone.LockFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the old lock record is still there: %v", err)
	}
}

// bootWithin builds and starts a phone on dir, failing the test if the
// boot does not end within a bound (a FIFO in a state file's place would
// hang it).
func bootWithin(t *testing.T, model, dir string) *phone.Phone {
	t.Helper()
	cat, err := catalog.Builtin()
	must(t, err)
	m, err := cat.Model(model)
	must(t, err)
	type result struct {
		p   *phone.Phone
		err error
	}
	done := make(chan result, 1)
	go func() {
		p, err := phone.New(m, "", phone.WithClock(clock.NewFake(start)), phone.WithStateDir(dir))
		if err == nil {
			err = p.Start(context.Background())
		}
		done <- result{p, err}
	}()
	select {
	case r := <-done:
		must(t, r.err)
		t.Cleanup(func() { r.p.Close() })
		return r.p
	case <-time.After(10 * time.Second):
		t.Fatal("the boot hangs")
	}
	return nil
}

// damageLock puts shape in place of the lock record of the phone whose
// state is dir.
func damageLock(t *testing.T, dir, shape string) {
	t.Helper()
	path := filepath.Join(dir, phone.LockFile)
	must(t, os.Remove(path))
	switch shape {
	case "symlink":
		other := filepath.Join(t.TempDir(), "other.json")
		must(t, os.WriteFile(other, []byte(`{"kind":"phone-lock","locked":false}`), 0o600))
		must(t, os.Symlink(other, path))
	case "fifo":
		must(t, syscall.Mkfifo(path, 0o600))
	default:
		must(t, os.WriteFile(path, []byte(shape), 0o600))
	}
}

// A damaged lock record fails closed: the phone boots locked, says the
// record is damaged on its screen, names the file in the syslog and in
// status, and no PIN opens it. (Issue 19, item 9.)
func TestDamagedLockRecordBootsLocked(t *testing.T) {
	shapes := map[string]string{
		"null":         "null",
		"empty object": "{}",
		"torn":         `{"kind":"phone-lock","algo":"argon2id","time":2,"memo`,
		"empty file":   "",
		"array":        "[]",
		"no hash":      `{"kind":"phone-lock","algo":"argon2id","time":2,"memory":19456,"threads":1,"salt":"","hash":"","locked":false,"failures":0}`,
		"wrong type":   `{"kind":"phone-lock","algo":"argon2id","time":2,"memory":19456,"threads":1,"salt":"AA==","hash":"AA==","locked":"no","failures":0}`,
		"symlink":      "symlink",
		"fifo":         "fifo",
	}
	for name, shape := range shapes {
		t.Run(name, func(t *testing.T) {
			p, _ := newPhone(t, "t48g", "")
			w := lockWording(t, "t48g")
			must(t, p.SetPIN("24681357"))
			dir := p.StateDir()
			must(t, p.Close())
			damageLock(t, dir, shape)
			q := bootWithin(t, "t48g", dir)
			if got := status(t, q, "lock"); got != "locked" {
				t.Fatalf("lock=%s with a damaged lock record", got)
			}
			if got := status(t, q, "state_damaged"); got != phone.LockFile {
				t.Fatalf("state_damaged=%q", got)
			}
			if !q.Screen().Contains(w.Damaged) {
				t.Fatalf("the screen does not say the lock record is damaged (%q):\n%s", w.Damaged, q.Screen().Text())
			}
			path := filepath.Join(dir, phone.LockFile)
			if log := strings.Join(logTexts(q), "\n"); !strings.Contains(log, path) || !strings.Contains(log, "state repair") {
				t.Fatalf("the syslog does not name %s and the way out:\n%s", path, log)
			}
			for _, pin := range []string{"24681357", "000000"} {
				if err := q.Unlock(pin); !errors.Is(err, phone.ErrWrongPIN) {
					t.Fatalf("Unlock(%s) = %v", pin, err)
				}
			}
			if got := status(t, q, "lock"); got != "locked" {
				t.Fatalf("lock=%s after PINs on a damaged record", got)
			}
			if err := q.ChangePIN("24681357", "13572468"); err == nil {
				t.Fatal("the PIN changed on a damaged record")
			}
		})
	}
}

// The ways out of a damaged lock record: the AudioCodes administrator's
// code, the vendor's retry action (sign-out) on the others, and state
// repair with the phone stopped. Each keeps the damaged file aside.
func TestDamagedLockRecordWaysOut(t *testing.T) {
	t.Run("admin code", func(t *testing.T) {
		p, _ := newPhone(t, "c450hd", "")
		w := lockWording(t, "c450hd")
		must(t, p.SetPIN("24681357"))
		dir := p.StateDir()
		must(t, p.Close())
		damageLock(t, dir, "null")
		q := bootWithin(t, "c450hd", dir)
		if !q.Screen().Contains(w.AdminCode) {
			t.Fatalf("no administrator code asked:\n%s", q.Screen().Text())
		}
		must(t, q.Unlock(w.AdminCodeValue))
		if got := status(t, q, "lock") + " " + status(t, q, "state_damaged"); got != "none " {
			t.Fatalf("after the admin code: lock state_damaged = %q", got)
		}
		kept, _ := filepath.Glob(filepath.Join(dir, phone.LockFile+".damaged-*"))
		if len(kept) != 1 {
			t.Fatalf("the damaged record was not kept aside: %v", kept)
		}
	})
	t.Run("sign out", func(t *testing.T) {
		p, _ := newPhone(t, "t48g", "")
		must(t, p.SetPIN("24681357"))
		dir := p.StateDir()
		must(t, p.Close())
		damageLock(t, dir, "{}")
		q := bootWithin(t, "t48g", dir)
		for range 5 {
			_ = q.Unlock("000000")
		}
		if got := status(t, q, "lock") + " " + status(t, q, "session"); got != "none signed-out" {
			t.Fatalf("after the tries: lock session = %s", got)
		}
	})
	t.Run("state repair", func(t *testing.T) {
		p, _ := newPhone(t, "t48g", "")
		must(t, p.SetPIN("24681357"))
		dir := p.StateDir()
		must(t, p.Close())
		damageLock(t, dir, "null")
		bad, err := statedir.Check(dir, phone.StateFiles()...)
		must(t, err)
		if len(bad) != 1 || bad[0].Path != filepath.Join(dir, phone.LockFile) {
			t.Fatalf("check: %v", bad)
		}
		moved, err := statedir.Repair(dir, start, phone.StateFiles()...)
		must(t, err)
		if len(moved) != 1 {
			t.Fatalf("repair moved %v", moved)
		}
		q := bootWithin(t, "t48g", dir)
		if got := status(t, q, "lock") + " " + status(t, q, "state_damaged"); got != "none " {
			t.Fatalf("after repair: lock state_damaged = %q", got)
		}
	})
}

// The administrator's code takes wrong tries as the PIN does: counted in
// the lock record (so a kill does not reset them) and, past the limit,
// each further try waits longer on the phone's clock. A flood of 30 wrong
// codes then the right one does not open the phone. (Issue 19, item 11.)
func TestAdminCodeTriesAreLimited(t *testing.T) {
	p, _ := newPhone(t, "c450hd", "")
	w := lockWording(t, "c450hd")
	must(t, p.SetPIN("123456"))
	must(t, p.Lock())
	for range 5 {
		_ = p.Unlock("000000")
	}
	// A reboot keeps the phone asking for the administrator's code: the
	// user's PIN gets no more tries.
	p = reopen(t, p, "")
	if !p.Screen().Contains(w.AdminCode) {
		t.Fatalf("after a reboot the admin code is no longer asked:\n%s", p.Screen().Text())
	}
	if err := p.Unlock("123456"); err == nil {
		t.Fatal("the user's PIN unlocked after a reboot past its limit")
	}
	wrong := 0
	for range 30 {
		err := p.Unlock("9999")
		switch {
		case errors.Is(err, phone.ErrTryLater):
		case errors.Is(err, phone.ErrWrongPIN):
			wrong++
		default:
			t.Fatalf("wrong admin code: %v", err)
		}
	}
	// The user's PIN above was the first wrong administrator code.
	if wrong != 4 {
		t.Fatalf("%d wrong admin codes were checked before the wait, want 4", wrong)
	}
	if err := p.Unlock(w.AdminCodeValue); !errors.Is(err, phone.ErrTryLater) {
		t.Fatalf("the right code during the wait: %v", err)
	}
	// A new boot keeps the count and the wait, on a clock that starts at
	// the same instant.
	dir := p.StateDir()
	must(t, p.Close())
	clk := clock.NewFake(start)
	cat, err := catalog.Builtin()
	must(t, err)
	m, err := cat.Model("c450hd")
	must(t, err)
	p, err = phone.New(m, "", phone.WithClock(clk), phone.WithStateDir(dir))
	must(t, err)
	must(t, p.Start(context.Background()))
	t.Cleanup(func() { p.Close() })
	if err := p.Unlock(w.AdminCodeValue); !errors.Is(err, phone.ErrTryLater) {
		t.Fatalf("the right code after a reboot during the wait: %v", err)
	}
	clk.Advance(time.Minute + time.Second)
	must(t, p.Unlock(w.AdminCodeValue))
	if got := status(t, p, "pin_set"); got != "no" {
		t.Fatalf("pin_set=%s after the admin code", got)
	}
}

// policy.json and update.json follow the rules of every state file: a
// damaged one (null, torn, {}, a FIFO, a symbolic link) stops the power-on
// with the file's name and the way out, at once, instead of booting on
// defaults in silence or hanging on a FIFO. (Issue 19, low.)
func TestDamagedPolicyAndUpdateFilesAreNamed(t *testing.T) {
	cat, err := catalog.Builtin()
	must(t, err)
	m, err := cat.Model("t48g")
	must(t, err)
	for _, file := range []string{phone.PolicyFile, "update.json"} {
		for name, shape := range map[string]string{
			"null": "null", "torn": `{"version": 3, "pol`, "empty object": "{}",
			"fifo": "fifo", "symlink": "symlink",
		} {
			t.Run(file+" "+name, func(t *testing.T) {
				dir := t.TempDir()
				path := filepath.Join(dir, file)
				switch shape {
				case "fifo":
					must(t, syscall.Mkfifo(path, 0o600))
				case "symlink":
					other := filepath.Join(t.TempDir(), "other.json")
					must(t, os.WriteFile(other, []byte(`{"version": 9, "policy": {}, "slot": "b"}`), 0o600))
					must(t, os.Symlink(other, path))
				default:
					must(t, os.WriteFile(path, []byte(shape), 0o600))
				}
				done := make(chan error, 1)
				go func() {
					p, err := phone.New(m, "", phone.WithClock(clock.NewFake(start)), phone.WithStateDir(dir))
					if err == nil {
						p.Close()
					}
					done <- err
				}()
				select {
				case err := <-done:
					if !errors.Is(err, statedir.ErrDamaged) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "state repair") {
						t.Fatalf("New with a damaged %s: %v", file, err)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("the power-on hangs")
				}
				moved, err := statedir.Repair(dir, start, phone.StateFiles()...)
				if err != nil || len(moved) != 1 {
					t.Fatalf("repair: %v %v", moved, err)
				}
				p, err := phone.New(m, "", phone.WithClock(clock.NewFake(start)), phone.WithStateDir(dir))
				must(t, err)
				p.Close()
			})
		}
	}
}
